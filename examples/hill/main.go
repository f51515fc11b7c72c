// Command hill is the example of docs/writing-a-game.md: a game mode written
// against arena's game API, served next to the built-in modes.
//
//	go run ./examples/hill
//
// then open http://127.0.0.1:8765/?mode=hill (or join mode "hill" from the
// lobby). Stand on the hill in the middle: every second there scores. The
// server is arena's own, through arena.Main: it takes every option of
// cmd/arena (go run ./examples/hill -h), PORT among them.
package main

import (
	"slices"

	"github.com/arena-server/arena"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
)

// The hill is a circle in the middle of the field.
const (
	hillX, hillY = 250, 250
	hillRadius   = 60
)

// Mode is how the server knows the game.
var Mode = game.Mode{
	Name:        "hill",
	Description: "King of the hill: every second on the hill in the middle scores.",
	New:         func(cfg game.Config) game.Game { return &Hill{cfg: cfg} },
	Kinds: []game.EntityKind{
		// Players: a coloured dot with a name and a score. The built-in
		// page draws any kind by its fields: color, size, shape, name, and
		// it lists score on its scoreboard.
		{Name: "player", Fields: []game.Field{
			{Name: "color", Type: game.Color},
			{Name: "score", Type: game.Int},
		}, Texts: []game.Text{{Name: "name"}}},
		// The hill: a large, flat disc.
		{Name: "hill", Fields: []game.Field{
			{Name: "color", Type: game.Color},
			{Name: "size", Type: game.Int},
			{Name: "shape", Type: game.Enum, Values: []string{"circle", "square", "ring"}},
		}},
	},
}

// Where the fields are in an Entity, in the order Mode.Kinds declares them.
const (
	fieldColor = 0
	fieldScore = 1 // players
	fieldSize  = 1 // the hill
	fieldShape = 2
	textName   = 0
	shapeRing  = 2
)

type player struct {
	id    game.PlayerID
	name  string
	x, y  int32
	color uint32
	score int32
	ticks int // ticks on the hill towards the next point
}

// Hill is the game state. The room calls it from one goroutine.
type Hill struct {
	cfg     game.Config
	players []player // sorted by id, as AppendEntities must report them
}

var _ game.Game = (*Hill)(nil)

func (h *Hill) Join(p game.Player) error {
	r := h.cfg.Rand // the room's seeded source: replays are exact
	i, _ := slices.BinarySearchFunc(h.players, p.ID, byID)
	h.players = slices.Insert(h.players, i, player{
		id: p.ID, name: p.Name,
		x:     int32(dots.SpawnMin + r.IntN(dots.SpawnMax-dots.SpawnMin+1)),
		y:     int32(dots.SpawnMin + r.IntN(dots.SpawnMax-dots.SpawnMin+1)),
		color: uint32(r.IntN(1 << 24)),
	})
	return nil
}

func (h *Hill) Leave(id game.PlayerID) {
	if i, ok := slices.BinarySearchFunc(h.players, id, byID); ok {
		h.players = slices.Delete(h.players, i, i+1)
	}
}

func (h *Hill) Step(inputs []game.Input) {
	for _, in := range inputs {
		if i, ok := slices.BinarySearchFunc(h.players, in.Player, byID); ok {
			p := &h.players[i]
			p.x, p.y = dots.Move(p.x, p.y, in.Buttons) // the built-in movement, so clients predict it
		}
	}
	for i := range h.players {
		p := &h.players[i]
		dx, dy := p.x-hillX, p.y-hillY
		if dx*dx+dy*dy > hillRadius*hillRadius {
			continue
		}
		if p.ticks++; p.ticks == h.cfg.TickRate {
			p.ticks, p.score = 0, p.score+1
		}
	}
}

func (h *Hill) AppendEntities(dst []game.Entity) []game.Entity {
	for _, p := range h.players {
		e := game.Entity{ID: uint32(p.id), Kind: game.KindPlayer, X: p.x, Y: p.y}
		e.Fields[fieldColor], e.Fields[fieldScore] = int32(p.color), p.score
		e.Texts[textName] = p.name
		dst = append(dst, e)
	}
	// The hill itself, as an item, after the players: item IDs are higher.
	hill := game.Entity{ID: game.ItemID(1), Kind: game.KindItem, X: hillX, Y: hillY}
	hill.Fields[fieldColor], hill.Fields[fieldSize], hill.Fields[fieldShape] = 0xf2c14e, hillRadius, shapeRing
	return append(dst, hill)
}

func (h *Hill) World() game.World { return game.World{Width: dots.Size, Height: dots.Size} }

func byID(p player, id game.PlayerID) int { return int(int64(p.id) - int64(id)) }

// main serves the hill next to the built-in modes, dots (the default) and
// tag, as a complete server: every flag and environment variable of
// cmd/arena (-h lists them), PORT, signals, metrics and the admin page.
func main() { arena.Main(dots.Mode, tag.Mode, Mode) }
