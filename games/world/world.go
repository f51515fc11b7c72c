// Package world is one large field shared by thousands of players, each of
// whom sees only the part of it around them: arena's example of interest
// management through game.Viewer.
//
// # Rules
//
// Players move on a square field, DefaultSize units a side unless the room
// option "size" says otherwise, at Speed units a tick (see Move), and
// appear at a random spot with a random colour (or the join option
// "color"). Landmarks, a few static shapes per cell of the grid, show a
// player that it moves when nobody else is around.
//
// # The interest grid
//
// The field is cut into cells of Cell×Cell units. Each player belongs to
// one cell, and sees the 3×3 cells around it: with 5,000 players on the
// default field, about 50 players and 18 landmarks. Each cell keeps the
// list of its players, updated as they move, so that building a view
// costs what the view holds (nine short lists, merged by ID), not what
// the world holds.
//
// A player's cell changes only once it is more than Margin (10% of a
// cell) past the border of the cell it is in: hysteresis. Without it, a
// player walking along a border would switch views tick after tick, and
// a player standing on a border would blink in and out of its
// neighbours' views; with it, each crossing changes a view once.
//
// # Views and their cost
//
// View(id) is the key of the player's cell; AppendView(key) is everything
// in the 3×3 cells around that cell, by ascending ID, the viewer among
// them. The room builds one snapshot per distinct key and encodes it once
// per delta base, and every player of the cell shares those bytes. A tick
// thus costs one view per occupied cell, however many players there are:
// 5,000 players on the default field cost at most 729 views of about 70
// entities, not 5,000 views, and certainly not 5,000² entities. On the
// edge of the field, the 3×3 cells a player sees are shifted inwards
// (grid.window): an edge player sees as many cells as anyone, and the
// edge cells share the views of the cells beside them. Bytes per player stay
// flat as the world grows at the same density, since a view holds the
// same number of entities.
//
// An entity that comes into a view (it walked in, or the viewer changed
// cells) arrives as an addition in the view's delta stream; one that
// goes out of it, as a removal. The codec diffs against what each client
// last received, whatever view that was, so a change of cell costs one
// delta with the row or column of cells that came and went.
//
// Seed-protocol clients get their own view too: they see their area only,
// in the seed's state_update, since the room gives every client the
// snapshot of its own view whatever its protocol.
//
// # Entities
//
// Kinds[KindPlayer] "player" (ID: its PlayerID): field color; text name.
// Kinds[KindLandmark] "landmark" (ID: game.ItemID(n)): fields color, size
// (a radius, in units) and shape ("circle", "square" or "ring"), the
// fields the built-in page draws items by. Landmarks never move.
package world

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/arena-server/arena/game"
)

// The movement rules, shared with the browser client's prediction
// (web/client/js/world.js) and pinned by the golden vectors in
// testdata/moves.json.
const (
	// DefaultSize is the field's side in world units when the room option
	// "size" is not given.
	DefaultSize = 20000
	// MinSize and MaxSize bound the option "size": at least 3×3 cells, at
	// most what a 5,000-player world needs at a quarter of the default
	// density.
	MinSize = 3 * Cell
	MaxSize = 40000
	// Edge keeps every coordinate within [Edge, size-Edge].
	Edge  = 10
	Speed = 20 // units per tick along one axis
	// DiagonalSpeed is the per-axis step when two perpendicular directions
	// are held: 14√2 ≈ 19.8, about Speed.
	DiagonalSpeed = 14
)

// Kinds of entity, indices of Mode.Kinds.
const (
	KindPlayer             = game.KindPlayer
	KindLandmark game.Kind = 1
)

// Where a player's colour and name are in an Entity, and a landmark's
// fields.
const (
	FieldColor    = 0
	TextName      = 0
	LandmarkColor = 0
	LandmarkSize  = 1
	LandmarkShape = 2
)

// Kinds declares players and landmarks.
var Kinds = []game.EntityKind{
	{
		Name:   "player",
		Fields: []game.Field{{Name: "color", Type: game.Color}},
		Texts:  []game.Text{{Name: "name"}},
	},
	{
		Name: "landmark",
		Fields: []game.Field{
			{Name: "color", Type: game.Color},
			{Name: "size", Type: game.Uint, Bits: 8},
			{Name: "shape", Type: game.Enum, Values: []string{"circle", "square", "ring"}},
		},
	},
}

// Mode registers world with a server.
var Mode = game.Mode{
	Name:        "world",
	Description: "One huge field: you see only who is near you.",
	New:         func(cfg game.Config) game.Game { return New(cfg) },
	RoomOptions: []game.Option{{
		Name:        "size",
		Description: "The field's side in world units. Default: 20000, room for 5,000 players.",
		Type:        game.OptionInt, Min: MinSize, Max: MaxSize,
		Default: fmt.Sprint(DefaultSize),
	}},
	JoinOptions: []game.Option{{
		Name:        "color",
		Description: "Your dot's colour, #rrggbb. Default: a random one.",
		Type:        game.OptionColor,
	}},
	Kinds: Kinds,
}

var (
	_ game.Game   = (*World)(nil)
	_ game.Viewer = (*World)(nil)
)

type player struct {
	id    game.PlayerID
	name  string
	x, y  int32
	color uint32
	cell  int32 // its cell of the grid, with hysteresis
}

// World is the game state. Use New.
type World struct {
	cfg     game.Config
	size    int32
	grid    grid
	players []*player // sorted by id
	area    []*player // AppendView's scratch
}

// New returns an empty field of the room option "size".
func New(cfg game.Config) *World {
	size := int32(cfg.Options.Int("size"))
	if size < MinSize || size > MaxSize {
		size = DefaultSize // a game built outside a room, with no options
	}
	return &World{cfg: cfg, size: size, grid: newGrid(size)}
}

// Size is the field's side in world units.
func (w *World) Size() int32 { return w.size }

// Join places the player at a random spot with a random colour, or the
// one it chose (join option color).
func (w *World) Join(p game.Player) error {
	if _, found := w.find(p.ID); found {
		return fmt.Errorf("player %d already joined", p.ID)
	}
	// The colour is drawn even when the player chose one, so that a
	// choice never shifts where later players appear.
	x, y, color := w.spawn(w.cfg.Rand)
	if p.Options.Has("color") {
		color = p.Options.Color("color")
	}
	w.insert(&player{id: p.ID, name: p.Name, x: x, y: y, color: color, cell: w.grid.cellAt(x, y)})
	return nil
}

func (w *World) spawn(r *rand.Rand) (x, y int32, color uint32) {
	n := int(w.size - 2*Edge + 1)
	x = int32(Edge + r.IntN(n))
	y = int32(Edge + r.IntN(n))
	return x, y, uint32(r.IntN(0x1000000))
}

// insert adds p to the players and to its cell.
func (w *World) insert(p *player) {
	i, _ := w.find(p.id)
	w.players = slices.Insert(w.players, i, p)
	w.grid.add(p.cell, p)
}

// Leave removes the player.
func (w *World) Leave(id game.PlayerID) {
	if i, found := w.find(id); found {
		w.grid.remove(w.players[i].cell, w.players[i])
		w.players = slices.Delete(w.players, i, i+1)
	}
}

// Step moves every player that holds a direction, and moves those that
// went far enough past their cell's border into the next cell.
func (w *World) Step(inputs []game.Input) {
	for _, in := range inputs {
		i, found := w.find(in.Player)
		if !found {
			continue
		}
		p := w.players[i]
		p.x, p.y = Move(p.x, p.y, in.Buttons, w.size)
		if c := w.grid.follow(p.cell, p.x, p.y); c != p.cell {
			w.grid.remove(p.cell, p)
			w.grid.add(c, p)
			p.cell = c
		}
	}
}

// AppendEntities appends every player and landmark, by ascending ID: the
// whole world, for tests and for a client that is not a viewer of any
// cell. Rooms use AppendView.
func (w *World) AppendEntities(dst []game.Entity) []game.Entity {
	for _, p := range w.players {
		dst = append(dst, p.entity())
	}
	for c := range int32(len(w.grid.cells)) {
		dst = w.appendLandmarks(dst, c)
	}
	return dst
}

// noView is the key of a player the world does not know: a view of
// nothing.
const noView = ^game.ViewKey(0)

// View returns the key of the player's window: the cell in the middle of
// the 3×3 cells it sees, its own cell but on the edge of the field.
func (w *World) View(id game.PlayerID) game.ViewKey {
	i, found := w.find(id)
	if !found {
		return noView
	}
	return game.ViewKey(w.grid.window(w.players[i].cell))
}

// WatcherView shows spectators the 3×3 cells in the middle of the field:
// the world is public, and one window of it keeps their snapshots as small
// as a player's.
func (w *World) WatcherView() game.ViewKey {
	return game.ViewKey(w.grid.window(w.grid.cellAt(w.size/2, w.size/2)))
}

// AppendView appends the players and landmarks of the 3×3 cells around
// the cell key names, by ascending ID: players (below game.ItemID(0))
// first, then landmarks, whose IDs grow with their cell.
func (w *World) AppendView(dst []game.Entity, key game.ViewKey) []game.Entity {
	if key >= game.ViewKey(len(w.grid.cells)) || w.grid.window(int32(key)) != int32(key) {
		return dst
	}
	c := int32(key)
	w.area = w.grid.appendArea(w.area[:0], c)
	for _, p := range w.area {
		dst = append(dst, p.entity())
	}
	clear(w.area) // hold no player past its Leave
	w.grid.area(c, func(cell int32) { dst = w.appendLandmarks(dst, cell) })
	return dst
}

// World returns the field's size.
func (w *World) World() game.World { return game.World{Width: w.size, Height: w.size} }

func (p *player) entity() game.Entity {
	e := game.Entity{ID: uint32(p.id), Kind: KindPlayer, X: p.x, Y: p.y}
	e.Fields[FieldColor] = int32(p.color)
	e.Texts[TextName] = p.name
	return e
}

func (w *World) find(id game.PlayerID) (int, bool) {
	return slices.BinarySearchFunc(w.players, id, func(p *player, id game.PlayerID) int {
		return int(int64(p.id) - int64(id))
	})
}

// Move returns where a player at (x, y) holding buttons b is one tick
// later on a field of side size. Opposite directions cancel; two
// perpendicular ones move diagonally at DiagonalSpeed per axis; the
// result is clamped to [Edge, size-Edge].
func Move(x, y int32, b game.Buttons, size int32) (int32, int32) {
	dx, dy := b.Step(Speed, DiagonalSpeed)
	clamp := func(v int32) int32 { return max(Edge, min(size-Edge, v)) }
	return clamp(x + dx), clamp(y + dy)
}
