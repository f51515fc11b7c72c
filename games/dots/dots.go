// Package dots is the seed's game: every player is a coloured dot on a
// 500×500 field and moves 10 px per tick in the direction it holds.
package dots

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/arena-server/arena/game"
)

// The rules, shared with the browser client's prediction (web/rules.js) and
// pinned by the golden vectors in testdata/moves.json.
const (
	Size     = 500 // the field is Size×Size pixels, y grows downward
	Min      = 10  // no coordinate goes below Min
	Max      = 490 // nor above Max
	SpawnMin = 50  // new players appear at integer x, y in [SpawnMin, SpawnMax]
	SpawnMax = 450
	Speed    = 10 // pixels per tick along one axis
	// DiagonalSpeed is the per-axis step when two perpendicular directions
	// are held: 7√2 ≈ 9.9, so diagonal movement is no faster than straight.
	DiagonalSpeed = 7
)

// Mode registers dots with a server.
var Mode = game.Mode{
	Name:        "dots",
	Description: "Move your dot around the field. The seed's game.",
	New:         func(cfg game.Config) game.Game { return New(cfg) },
	// No cap of its own (MaxPlayers 0): the seed's field is one shared
	// room that holds everyone, as far as -room-capacity lets it, and the
	// default room overflows into default-2, default-3… past that.
	JoinOptions: []game.Option{{
		Name:        "color",
		Description: "Your dot's colour, #rrggbb. Default: a random one.",
		Type:        game.OptionColor,
	}},
	Kinds: Kinds,
}

// Kinds declares a dot: its colour and its player's name, beside the
// position that every entity has.
var Kinds = []game.EntityKind{{
	Name:   "player",
	Fields: []game.Field{{Name: "color", Type: game.Color}},
	Texts:  []game.Text{{Name: "name"}},
}}

// Where a dot's colour and name are in an Entity, as Kinds declares them.
const (
	FieldColor = 0
	TextName   = 0
)

var _ game.Game = (*Dots)(nil)

type player struct {
	id    game.PlayerID
	name  string
	x, y  int32
	color uint32
}

// Dots is the game state. Use New.
type Dots struct {
	cfg     game.Config
	players []player // sorted by id
}

// New returns an empty field.
func New(cfg game.Config) *Dots {
	return &Dots{cfg: cfg}
}

// Join places the player at a random spot with a random colour, or the
// one it chose (join option color).
func (d *Dots) Join(p game.Player) error {
	i, found := d.find(p.ID)
	if found {
		return fmt.Errorf("player %d already joined", p.ID)
	}
	// Spawn draws a colour even when the player chose one, so that a
	// choice never shifts where later players appear.
	x, y, color := Spawn(d.cfg.Rand)
	if p.Options.Has("color") {
		color = p.Options.Color("color")
	}
	d.players = slices.Insert(d.players, i, player{id: p.ID, name: p.Name, x: x, y: y, color: color})
	return nil
}

// Spawn draws where a new player appears, at integer x, y uniform in
// [SpawnMin, SpawnMax], and its colour, uniform over 0xRRGGBB.
func Spawn(r *rand.Rand) (x, y int32, color uint32) {
	x = int32(SpawnMin + r.IntN(SpawnMax-SpawnMin+1))
	y = int32(SpawnMin + r.IntN(SpawnMax-SpawnMin+1))
	return x, y, uint32(r.IntN(0x1000000))
}

// Leave removes the player.
func (d *Dots) Leave(id game.PlayerID) {
	if i, found := d.find(id); found {
		d.players = slices.Delete(d.players, i, i+1)
	}
}

// Step moves every player that holds a direction.
func (d *Dots) Step(inputs []game.Input) {
	for _, in := range inputs {
		if i, found := d.find(in.Player); found {
			p := &d.players[i]
			p.x, p.y = Move(p.x, p.y, in.Buttons)
		}
	}
}

// AppendEntities appends one entity per player, by ascending ID.
func (d *Dots) AppendEntities(dst []game.Entity) []game.Entity {
	for _, p := range d.players {
		e := game.Entity{ID: uint32(p.id), Kind: game.KindPlayer, X: p.x, Y: p.y}
		e.Fields[FieldColor] = int32(p.color)
		e.Texts[TextName] = p.name
		dst = append(dst, e)
	}
	return dst
}

// World returns the field's size.
func (d *Dots) World() game.World { return game.World{Width: Size, Height: Size} }

func (d *Dots) find(id game.PlayerID) (int, bool) {
	return slices.BinarySearchFunc(d.players, id, func(p player, id game.PlayerID) int {
		return int(int64(p.id) - int64(id))
	})
}

// Move returns where a dot at (x, y) holding buttons b is one tick later.
// Opposite directions cancel; two perpendicular ones move diagonally at
// DiagonalSpeed per axis; the result is clamped to [Min, Max].
func Move(x, y int32, b game.Buttons) (int32, int32) {
	dx, dy := b.Step(Speed, DiagonalSpeed)
	return clamp(x + dx), clamp(y + dy)
}

func clamp(v int32) int32 {
	return max(Min, min(Max, v))
}
