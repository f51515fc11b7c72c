package blasters

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/gametest"
)

// moveVector is one case of testdata/moves.json: from (x, y) holding
// buttons, one tick later a player is at (wantX, wantY). The browser
// client's prediction is to be checked against the same file, so that the
// two sides cannot drift apart. It has the shape of games/dots' vectors, so
// one harness reads both.
type moveVector struct {
	X       int32        `json:"x"`
	Y       int32        `json:"y"`
	Buttons game.Buttons `json:"buttons"`
	WantX   int32        `json:"want_x"`
	WantY   int32        `json:"want_y"`
}

// rules is testdata/rules.json: the constants and walls a port of Move
// needs, so that it can read them rather than copy them.
type rules struct {
	Size          int32  `json:"size"`
	Radius        int32  `json:"radius"`
	Speed         int32  `json:"speed"`
	DiagonalSpeed int32  `json:"diagonal_speed"`
	Walls         []Rect `json:"walls"`
}

func currentRules() rules {
	return rules{Size, Radius, Speed, DiagonalSpeed, Walls()}
}

// goldenMoves covers every button combination in the open, at the edges
// and corners, flush against each side of each wall and a step away from
// it, and at random valid spots.
func goldenMoves() []moveVector {
	points := [][2]int32{{300, 300}, {Radius, Radius}, {Size - Radius, Size - Radius}, {Radius + 3, Size - Radius - 5}, {Size - Radius - 7, Radius + 2}}
	for _, w := range walls {
		midX, midY := (w.MinX+w.MaxX)/2, (w.MinY+w.MaxY)/2
		const gap = 3 // less than a step: Move stops flush
		points = append(points,
			[2]int32{w.MinX - Radius, midY}, [2]int32{w.MaxX + Radius + gap, midY},
			[2]int32{midX, w.MinY - Radius - gap}, [2]int32{midX, w.MaxY + Radius},
			[2]int32{w.MinX - Radius - gap, w.MinY - Radius - gap}, // the corner, diagonally
			[2]int32{w.MaxX + Radius - 5, w.MaxY + Radius},         // under a corner, sliding
		)
	}
	r := rand.New(rand.NewPCG(11, 12))
	for len(points) < 60 {
		if x, y := Spawn(r); Valid(x, y) {
			points = append(points, [2]int32{x, y})
		}
	}
	var vs []moveVector
	for _, p := range points {
		for b := game.Buttons(0); b <= game.ButtonMask; b++ {
			x, y := Move(p[0], p[1], b)
			vs = append(vs, moveVector{p[0], p[1], b, x, y})
		}
	}
	return vs
}

func TestGoldenMoves(t *testing.T) {
	var vs []moveVector
	if err := json.Unmarshal(gametest.Golden(t, "testdata/moves.json", goldenMoves()), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if !Valid(v.X, v.Y) {
			t.Errorf("vector from (%d, %d), where no player can stand", v.X, v.Y)
		}
		if x, y := Move(v.X, v.Y, v.Buttons); x != v.WantX || y != v.WantY {
			t.Errorf("Move(%d,%d,%v) = %d,%d; testdata says %d,%d", v.X, v.Y, v.Buttons, x, y, v.WantX, v.WantY)
		}
	}
}

func TestGoldenRules(t *testing.T) {
	gametest.Golden(t, "testdata/rules.json", currentRules())
}
