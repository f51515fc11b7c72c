package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/server"
)

// boostMode moves its players as dots does, but by their speed field (10
// at first) per tick, on a field of 2000 × 500; the message "boost" with
// a number sets the sender's speed.
var boostMode = game.Mode{
	Name: "boost",
	Kinds: []game.EntityKind{{
		Name:   "player",
		Fields: []game.Field{{Name: "speed", Type: game.Uint, Bits: 8}},
	}},
	Messages: []game.MessageType{{Name: "boost", MaxBytes: 8}},
	New:      func(game.Config) game.Game { return &boostGame{} },
}

const boostWidth, boostHeight = 2000, 500

type boostPlayer struct {
	id          game.PlayerID
	x, y, speed int32
}

type boostGame struct{ players []*boostPlayer } // by ascending id

func (g *boostGame) Join(p game.Player) error {
	g.players = append(g.players, &boostPlayer{id: p.ID, x: 100, y: 250, speed: 10})
	slices.SortFunc(g.players, func(a, b *boostPlayer) int { return int(a.id) - int(b.id) })
	return nil
}

func (g *boostGame) Leave(id game.PlayerID) {
	g.players = slices.DeleteFunc(g.players, func(p *boostPlayer) bool { return p.id == id })
}

func (g *boostGame) Step(in []game.Input) {
	for _, i := range in {
		for _, p := range g.players {
			if p.id == i.Player {
				dx, dy := i.Buttons.Step(p.speed, p.speed)
				p.x = min(max(p.x+dx, 10), boostWidth-10)
				p.y = min(max(p.y+dy, 10), boostHeight-10)
			}
		}
	}
}

func (g *boostGame) Message(m game.Message) error {
	var speed int32
	if err := json.Unmarshal(m.Data, &speed); err != nil || speed < 1 || speed > 100 {
		return errors.New("boost takes a speed from 1 to 100")
	}
	for _, p := range g.players {
		if p.id == m.From {
			p.speed = speed
		}
	}
	return nil
}

func (g *boostGame) AppendEntities(dst []game.Entity) []game.Entity {
	for _, p := range g.players {
		e := game.Entity{ID: uint32(p.id), X: p.x, Y: p.y}
		e.Fields[0] = p.speed
		dst = append(dst, e)
	}
	return dst
}

func (g *boostGame) World() game.World { return game.World{Width: boostWidth, Height: boostHeight} }

// TestSDKPredictsWithThePlayersFields: a rule given the own entity as its
// fourth argument predicts a speed boost exactly, where one that cannot
// see the speed field is corrected tick after tick.
func TestSDKPredictsWithThePlayersFields(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Modes = append(c.Modes, boostMode) }})
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	waitFor(tb, "the page", `window.arena && window.arena.connected`, 10*time.Second)
	eval[bool](tb, `import('/sdk/arena.js').then((sdk) => {
		const rule = (fields) => (x, y, b, me) => {
			const s = fields ? me.speed : 10;
			window.__seen[fields ? 'fields' : 'blind'] = me.speed;
			const dx = ((b & sdk.RIGHT) ? s : 0) - ((b & sdk.LEFT) ? s : 0);
			return [Math.max(10, Math.min(1990, x + dx)), y];
		};
		window.__seen = {};
		window.__sdk = sdk;
		window.withFields = sdk.connect({ room: 'e2e-boost-1', mode: 'boost', predict: rule(true), storageKey: 'withFields' });
		window.blind = sdk.connect({ room: 'e2e-boost-2', mode: 'boost', predict: rule(false), storageKey: 'blind' });
		return true;
	})`)
	for _, c := range []string{"withFields", "blind"} {
		waitFor(tb, c+" to play", fmt.Sprintf(`window.%[1]s.connected && window.%[1]s.tick > 0 && window.%[1]s.me() !== null`, c), 10*time.Second)
		eval[bool](tb, fmt.Sprintf(`window.%s.send('boost', 25)`, c))
		waitFor(tb, c+" boosted", fmt.Sprintf(`window.%[1]s.world.get(window.%[1]s.id).speed === 25`, c), 5*time.Second)
	}
	corrections := map[string]int{}
	for _, c := range []string{"withFields", "blind"} {
		before := eval[int](tb, fmt.Sprintf(`window.%s.corrections`, c))
		eval[bool](tb, fmt.Sprintf(`(window.%s.input(window.__sdk.RIGHT), true)`, c))
		// 20 ticks at 25 a tick: a second of running, boosted.
		waitFor(tb, c+" to run 500 units", fmt.Sprintf(`window.%[1]s.world.get(window.%[1]s.id).x >= 600`, c), 5*time.Second)
		eval[bool](tb, fmt.Sprintf(`(window.%s.input(0), true)`, c))
		waitFor(tb, c+" to stop", fmt.Sprintf(`window.%[1]s.sentButtons === 0 && window.%[1]s.world.get(window.%[1]s.id).x === window.%[1]s.me().x`, c), 5*time.Second)
		corrections[c] = eval[int](tb, fmt.Sprintf(`window.%s.corrections`, c)) - before
	}
	if seen := eval[map[string]float64](tb, `window.__seen`); seen["fields"] != 25 || seen["blind"] != 25 {
		t.Errorf("the rules saw speeds %v; want 25 in the entity each was given", seen)
	}
	if corrections["withFields"] > 1 {
		t.Errorf("predicting with the speed field, the server corrected the prediction %d times in a second's run", corrections["withFields"])
	}
	// The test can fail: without the field, the prediction is wrong every tick.
	if corrections["blind"] < 5 {
		t.Errorf("predicting at the unboosted speed, only %d corrections; the test cannot tell", corrections["blind"])
	}
}
