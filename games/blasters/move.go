package blasters

import (
	"math/rand/v2"

	"github.com/arena-server/arena/game"
)

// The movement rules, shared with the browser client's prediction and
// pinned by the golden vectors in testdata/moves.json (with the walls and
// these constants in testdata/rules.json), so that a JavaScript port can be
// checked against the same files.
const (
	Size   = 1000 // the field is Size×Size world units, y grows downward
	Radius = 16   // a player's radius; its centre stays in [Radius, Size-Radius]
	Speed  = 8    // units per tick along one axis
	// DiagonalSpeed is the per-axis step when two perpendicular directions
	// are held: 6√2 ≈ 8.5, close to Speed (5 would be 7.1, noticeably
	// slower, and the integer grid allows nothing between).
	DiagonalSpeed = 6
	// SpawnMargin keeps spawn points this far from the field's edge.
	SpawnMargin = 50
)

// Rect is an axis-aligned wall: the points with MinX ≤ x ≤ MaxX and
// MinY ≤ y ≤ MaxY.
type Rect struct {
	MinX int32 `json:"min_x"`
	MinY int32 `json:"min_y"`
	MaxX int32 `json:"max_x"`
	MaxY int32 `json:"max_y"`
}

// walls are the field's obstacles, symmetric so that no spawn is favoured.
// Every wall is thicker than a bullet's step, so that bullets cannot pass
// through, and walls are more than 2*Radius+Speed apart, so that pushing a
// player out of one never pushes it into another.
var walls = [...]Rect{
	{440, 440, 560, 560}, // the centre block
	{200, 200, 260, 260}, // four pillars
	{740, 200, 800, 260},
	{200, 740, 260, 800},
	{740, 740, 800, 800},
	{400, 100, 600, 140}, // bars near the top and bottom edges
	{400, 860, 600, 900},
}

// Walls returns the field's obstacles. The edge of the field is a wall too.
func Walls() []Rect { return append([]Rect(nil), walls[:]...) }

// blocks reports whether a player centred at (x, y), a square of half-side
// Radius for the purpose of walls, overlaps w. Touching is allowed.
func (w *Rect) blocks(x, y int32) bool {
	return x+Radius > w.MinX && x-Radius < w.MaxX && y+Radius > w.MinY && y-Radius < w.MaxY
}

// Move returns where a player at (x, y) holding buttons b is one tick
// later. Opposite directions cancel; two perpendicular ones move
// diagonally at DiagonalSpeed per axis. The centre stays within
// [Radius, Size-Radius]. Against walls a player is a square of half-side
// Radius: it moves along x first, stopping flush against a wall it would
// enter, then along y the same way, so that it slides along walls.
func Move(x, y int32, b game.Buttons) (int32, int32) {
	dx, dy := b.Step(Speed, DiagonalSpeed)
	if dx != 0 {
		x = clamp(x + dx)
		for i := range walls {
			if w := &walls[i]; w.blocks(x, y) {
				x = flush(dx, w.MinX, w.MaxX)
			}
		}
	}
	if dy != 0 {
		y = clamp(y + dy)
		for i := range walls {
			if w := &walls[i]; w.blocks(x, y) {
				y = flush(dy, w.MinY, w.MaxY)
			}
		}
	}
	return x, y
}

// flush is where a player moving by d along an axis stops against a wall
// spanning [lo, hi] on it: touching its near side.
func flush(d, lo, hi int32) int32 {
	if d > 0 {
		return lo - Radius
	}
	return hi + Radius
}

func clamp(v int32) int32 { return max(Radius, min(Size-Radius, v)) }

// Valid reports whether a player may stand at (x, y): on the field and in
// no wall. Move keeps valid positions valid.
func Valid(x, y int32) bool {
	if x != clamp(x) || y != clamp(y) {
		return false
	}
	for i := range walls {
		if walls[i].blocks(x, y) {
			return false
		}
	}
	return true
}

// spawnTries bounds the draws for a spawn point clear of walls; the walls
// cover a tenth of the field, so 16 misses in a row are rare enough that
// the fallback, a corner, hardly matters.
const spawnTries = 16

// Spawn draws where a player appears: integer x, y uniform in
// [SpawnMargin, Size-SpawnMargin], drawn again while the spot is in a
// wall.
func Spawn(r *rand.Rand) (x, y int32) {
	for range spawnTries {
		x = int32(SpawnMargin + r.IntN(Size-2*SpawnMargin+1))
		y = int32(SpawnMargin + r.IntN(Size-2*SpawnMargin+1))
		if Valid(x, y) {
			return x, y
		}
	}
	return SpawnMargin, SpawnMargin
}
