// Command hill is the example of docs/writing-a-game.md: a game mode written
// against arena's game API, served next to the built-in modes, with a join
// hook that checks tickets against the developer's own backend and a result
// hook that keeps every finished game in a file.
//
//	go run ./examples/hill
//
// then open http://127.0.0.1:8765/?mode=hill (or join mode "hill" from the
// lobby). Stand on the hill in the middle: every second there scores, and
// the first to the room's goal (the room option goal, 20 points unless the
// room's creator chose) wins; the next game starts 3 seconds later. A room
// seats 8 players.
//
// The server is arena's own, through arena.New(...).Main(): it takes every
// option of cmd/arena (go run ./examples/hill -h), PORT among them, and
// two variables of its own:
//
//	HILL_TICKETS_URL  the backend that knows the tickets (hooks.go); unset,
//	                  everyone plays as a guest
//	HILL_RESULTS      the file results are appended to (results.jsonl)
package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

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

// DefaultGoal is the points that win a game, unless the room option goal
// says otherwise.
const DefaultGoal = 20

// Mode is how the server knows the game.
var Mode = game.Mode{
	Name:        "hill",
	Description: "King of the hill: every second on the hill in the middle scores; first to the goal wins.",
	New:         func(cfg game.Config) game.Game { return New(cfg) },
	// Eight on a hill of radius 60 is a crowd already: a ninth player is
	// refused (room_full), and a quick-join opens another room.
	MaxPlayers: 8,
	// The game ends at the goal (Over); 3 s later the room plays again,
	// with the same players and scores at 0.
	Rematch: 3 * time.Second,
	RoomOptions: []game.Option{{
		Name:        "goal",
		Description: "Points that win the game.",
		Type:        game.OptionInt,
		Min:         1,
		Max:         1000,
		Default:     strconv.Itoa(DefaultGoal),
	}},
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
	goal    int32    // the points that win
	players []player // sorted by id, as AppendEntities must report them
}

var (
	_ game.Game       = (*Hill)(nil)
	_ game.Ender      = (*Hill)(nil)
	_ game.Persistent = (*Hill)(nil)
)

// New returns an empty hill for a room: a fresh one for every game, a
// rematch's included.
func New(cfg game.Config) *Hill {
	if cfg.TickRate <= 0 {
		cfg.TickRate = 20
	}
	goal := int64(DefaultGoal)
	if cfg.Options.Has("goal") { // a bare Config in a test holds no options
		goal = cfg.Options.Int("goal")
	}
	return &Hill{cfg: cfg, goal: int32(goal)}
}

func (h *Hill) Join(p game.Player) error {
	// Config.Rand is the room's seeded source: replays are exact.
	x, y, color := dots.Spawn(h.cfg.Rand)
	i, _ := slices.BinarySearchFunc(h.players, p.ID, byID)
	h.players = slices.Insert(h.players, i, player{id: p.ID, name: p.Name, x: x, y: y, color: color})
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

// Over ends the game once a player has the goal: the room asks after
// every Step. The standings are by score, best first, ties by ID.
func (h *Hill) Over() (game.Result, bool) {
	if !slices.ContainsFunc(h.players, func(p player) bool { return p.score >= h.goal }) {
		return game.Result{}, false
	}
	res := game.Result{Standings: make([]game.Standing, len(h.players))}
	for i, p := range h.players {
		res.Standings[i] = game.Standing{Player: p.id, Name: p.name, Score: int64(p.score)}
	}
	slices.SortStableFunc(res.Standings, func(a, b game.Standing) int { return cmp.Compare(b.Score, a.Score) })
	winner := res.Standings[0]
	res.Summary = fmt.Sprintf("%s is king of the hill with %d points", cmp.Or(winner.Name, "a nameless player"), winner.Score)
	return res, true
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

func byID(p player, id game.PlayerID) int { return cmp.Compare(p.id, id) }

// main serves the hill next to the built-in modes, dots (the default) and
// tag, as a complete server: every flag and environment variable of
// cmd/arena (-h lists them), PORT, signals, metrics and the admin page,
// with the hooks of hooks.go.
func main() {
	arena.New(arena.Config{
		Modes:    []game.Mode{dots.Mode, tag.Mode, Mode},
		OnJoin:   CheckTicket(os.Getenv("HILL_TICKETS_URL"), nil),
		OnResult: AppendResults(cmp.Or(os.Getenv("HILL_RESULTS"), "results.jsonl")),
	}).Main()
}
