// Package tag is a game of tag on the dots field: one player is "it" and
// passes it on by touching someone; every second a player spends not being
// it scores a point. When it changes hands, everyone gets a "tagged" event
// {"it":ID,"by":ID} (by 0: the last one left) and the new it "you_are_it".
//
// By default a game of tag never ends. A room created with the option
// "goal" ends its game when a player reaches that many points, and after
// RematchSeconds starts a new one with everyone still there, scores at 0
// (game.Mode.Rematch).
package tag

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// The rules beyond movement, which is the dots game's (dots.Move), so that
// clients predict both modes alike.
const (
	// TouchDistance is how close two centres must be for a touch: the dots
	// have a radius of 10.
	TouchDistance = 20
	// CooldownSeconds is how long a new "it" must wait before tagging, so
	// that it cannot tag straight back, unless the room option cooldown
	// says otherwise.
	CooldownSeconds = 2
	// RematchSeconds is the pause between a game that reached its goal
	// and the next, for players to read the result.
	RematchSeconds = 5
)

// Mode registers tag with a server.
var Mode = game.Mode{
	Name:        "tag",
	Description: "One player is it and passes it on by touch. Every second you are not it scores a point.",
	New:         func(cfg game.Config) game.Game { return New(cfg) },
	// One it among fifty on the 500×500 field still has to chase; more,
	// and it tags by standing still.
	MaxPlayers: 50,
	RoomOptions: []game.Option{{
		Name:        "cooldown",
		Description: "Seconds a new it must wait before tagging.",
		Type:        game.OptionInt,
		Min:         0,
		Max:         10,
		Default:     strconv.Itoa(CooldownSeconds),
	}, {
		Name:        "goal",
		Description: "Points that win the game, which then starts again; 0 plays for ever.",
		Type:        game.OptionInt,
		Min:         0,
		Max:         10000,
		Default:     "0",
	}},
	Kinds:   Kinds,
	Rematch: RematchSeconds * time.Second,
	// Games won, by account, for ever: a game that ends (the goal
	// option) is won by the first to the goal, and by anyone tied with it.
	Boards: []game.Board{{ID: "tag_wins", Stat: "win", Operator: "incr"}},
}

// Kinds declares a player of tag: a dot with a score, and whether it is it.
var Kinds = []game.EntityKind{{
	Name: "player",
	Fields: []game.Field{
		{Name: "color", Type: game.Color},
		{Name: "score", Type: game.Int},
		{Name: "it", Type: game.Bool},
	},
	Texts: []game.Text{{Name: "name"}},
}}

// Where a player's fields are in an Entity, as Kinds declares them.
const (
	FieldColor = 0
	FieldScore = 1
	FieldIt    = 2
	TextName   = 0
)

var (
	_ game.Game  = (*Tag)(nil)
	_ game.Ender = (*Tag)(nil)
)

type player struct {
	id    game.PlayerID
	name  string
	x, y  int32
	color uint32
	score int32
	it    bool
}

// Tag is the game state. Use New.
type Tag struct {
	cfg      game.Config
	players  []player // sorted by id
	cooldown int      // ticks until "it" may tag
	wait     int      // the cooldown after a tag, in ticks
	ticks    int      // ticks into the current second
	goal     int32    // the points that win; 0: none
}

// New returns an empty field.
func New(cfg game.Config) *Tag {
	if cfg.TickRate <= 0 {
		cfg.TickRate = 20
	}
	seconds := int64(CooldownSeconds)
	if cfg.Options.Has("cooldown") { // a bare Config holds no options
		seconds = cfg.Options.Int("cooldown")
	}
	var goal int64
	if cfg.Options.Has("goal") {
		goal = cfg.Options.Int("goal")
	}
	return &Tag{cfg: cfg, wait: int(seconds) * cfg.TickRate, goal: int32(goal)}
}

// Over ends the game once a player has the room's goal in points: the
// standings are by score, best first (ties by ID).
func (t *Tag) Over() (game.Result, bool) {
	if t.goal <= 0 || !slices.ContainsFunc(t.players, func(p player) bool { return p.score >= t.goal }) {
		return game.Result{}, false
	}
	res := game.Result{Standings: make([]game.Standing, len(t.players))}
	for i, p := range t.players {
		res.Standings[i] = game.Standing{Player: p.id, Name: p.name, Score: int64(p.score)}
	}
	slices.SortStableFunc(res.Standings, func(a, b game.Standing) int { return cmp.Compare(b.Score, a.Score) })
	best := res.Standings[0]
	name := best.Name
	if name == "" {
		name = fmt.Sprintf("player %d", best.Player)
	}
	res.Summary = fmt.Sprintf("%s wins with %d points", name, best.Score)
	return res, true
}

// Join places the player at a random spot. The first player is it.
func (t *Tag) Join(p game.Player) error {
	i, found := t.find(p.ID)
	if found {
		return fmt.Errorf("player %d already joined", p.ID)
	}
	x, y, color := dots.Spawn(t.cfg.Rand)
	t.players = slices.Insert(t.players, i, player{id: p.ID, name: p.Name, x: x, y: y, color: color, it: len(t.players) == 0})
	return nil
}

// Leave removes the player. If it was it, a random other player is.
func (t *Tag) Leave(id game.PlayerID) {
	i, found := t.find(id)
	if !found {
		return
	}
	wasIt := t.players[i].it
	t.players = slices.Delete(t.players, i, i+1)
	if wasIt && len(t.players) > 0 {
		next := &t.players[t.cfg.Rand.IntN(len(t.players))]
		next.it = true
		t.cooldown = t.wait
		t.announce(next.id, 0)
	}
}

// Step moves everyone, passes "it" on a touch, and scores a point a second
// to every player who is not it (when there is someone to flee from).
func (t *Tag) Step(inputs []game.Input) {
	for _, in := range inputs {
		if i, found := t.find(in.Player); found {
			p := &t.players[i]
			p.x, p.y = dots.Move(p.x, p.y, in.Buttons)
		}
	}
	if t.cooldown > 0 {
		t.cooldown--
	} else {
		t.tag()
	}
	t.ticks++
	if t.ticks >= t.cfg.TickRate {
		t.ticks = 0
		if len(t.players) > 1 {
			for i := range t.players {
				if !t.players[i].it {
					t.players[i].score++
				}
			}
		}
	}
}

// tag passes "it" to the nearest player it touches.
func (t *Tag) tag() {
	it := slices.IndexFunc(t.players, func(p player) bool { return p.it })
	if it < 0 {
		return
	}
	chaser := t.players[it]
	best, bestDist := -1, int32(TouchDistance*TouchDistance+1)
	for i, p := range t.players {
		if i == it {
			continue
		}
		dx, dy := p.x-chaser.x, p.y-chaser.y
		if d := dx*dx + dy*dy; d < bestDist {
			best, bestDist = i, d
		}
	}
	if best >= 0 {
		t.players[it].it = false
		t.players[best].it = true
		t.cooldown = t.wait
		t.announce(t.players[best].id, chaser.id)
	}
}

// announce tells everyone who is it now and who tagged them (0: the last
// one left), and tells the new it in particular.
func (t *Tag) announce(it, by game.PlayerID) {
	data := fmt.Appendf(nil, `{"it":%d,"by":%d}`, it, by)
	t.cfg.Events.ToAll(game.Event{Type: "tagged", Data: data})
	t.cfg.Events.To(it, game.Event{Type: "you_are_it", Data: fmt.Appendf(nil, `{"by":%d}`, by)})
}

// AppendEntities appends one entity per player, by ascending ID.
func (t *Tag) AppendEntities(dst []game.Entity) []game.Entity {
	for _, p := range t.players {
		e := game.Entity{ID: uint32(p.id), Kind: game.KindPlayer, X: p.x, Y: p.y}
		e.Fields[FieldColor] = int32(p.color)
		e.Fields[FieldScore] = p.score
		e.Fields[FieldIt] = game.Flag(p.it)
		e.Texts[TextName] = p.name
		dst = append(dst, e)
	}
	return dst
}

// World returns the field's size.
func (t *Tag) World() game.World { return game.World{Width: dots.Size, Height: dots.Size} }

func (t *Tag) find(id game.PlayerID) (int, bool) {
	return slices.BinarySearchFunc(t.players, id, func(p player, id game.PlayerID) int {
		return int(int64(p.id) - int64(id))
	})
}
