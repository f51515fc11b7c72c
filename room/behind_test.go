package room

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// behindGame is dots that shows, in each player's entity, the Behind of
// the input it holds: Fields[1], which dots does not declare.
type behindGame struct {
	*dots.Dots
	behind map[game.PlayerID]int
}

func (g *behindGame) Step(in []game.Input) {
	clear(g.behind)
	for _, i := range in {
		g.behind[i.Player] = i.Behind
	}
	g.Dots.Step(in)
}

func (g *behindGame) AppendEntities(dst []game.Entity) []game.Entity {
	n := len(dst)
	dst = g.Dots.AppendEntities(dst)
	for i := range dst[n:] {
		dst[n+i].Fields[1] = int32(g.behind[game.PlayerID(dst[n+i].ID)])
	}
	return dst
}

var behindMode = game.Mode{Name: "behind", Kinds: dots.Kinds, New: func(cfg game.Config) game.Game {
	return &behindGame{Dots: dots.New(cfg), behind: map[game.PlayerID]int{}}
}}

// TestInputsSayHowFarBehindThePlayerSaw: Behind is the input's lag plus
// how late the input came, capped at 200 ms of ticks (4 at 20 Hz), and
// it stays with an input as long as the player holds it.
func TestInputsSayHowFarBehindThePlayerSaw(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}, Mode: behindMode})
		c := &fakeClient{}
		j := join(t, r, c, "")
		tickOf := func() uint64 { return c.last().Snap.Tick }
		behindAt := func(tick uint64) int32 {
			t.Helper()
			for c.last().Snap == nil || tickOf() < tick {
				time.Sleep(50 * time.Millisecond)
				synctest.Wait()
			}
			e, _ := entity(c.last(), j.Player)
			return e.Fields[1]
		}
		behindAt(2)
		seq := uint32(0)
		for _, tc := range []struct {
			name       string
			ahead      int64 // the input's tick, from the room's
			lag        uint32
			want, held int32
		}{
			{"on time, lag 3", 2, 3, 3, 3},
			{"on time, no lag said", 2, 0, 0, 0},
			{"a lag beyond the cap", 2, 40, 4, 4},
			{"one tick late, lag 1", -1, 1, 3, 3}, // due at now-1, applied at now+1
			{"no tick, lag 2", 0, 2, 2, 2},
		} {
			now := tickOf()
			var target uint64
			if tc.ahead != 0 {
				target = uint64(int64(now) + tc.ahead)
			}
			seq++
			r.Input(j.Player, c, ClientInput{Seq: seq, Buttons: game.Right, Tick: target, Lag: tc.lag})
			applied := max(target, now+1)
			if got := behindAt(applied); got != tc.want {
				t.Errorf("%s: Behind %d at tick %d; want %d", tc.name, got, applied, tc.want)
			}
			if got := behindAt(applied + 2); got != tc.held {
				t.Errorf("%s, held two ticks more: Behind %d; want %d", tc.name, got, tc.held)
			}
		}
	})
}

func TestMaxRewindTicks(t *testing.T) {
	for rate, want := range map[int]int{20: 4, 60: 12, 30: 6, 1: 0} {
		if got := game.MaxRewindTicks(rate); got != want {
			t.Errorf("MaxRewindTicks(%d) = %d; want %d", rate, got, want)
		}
	}
}

// TestAZeroAimIsAnAim: in a mode with axes, a player who holds no button
// and aims at exactly 0 still has an entry, so the game sees the 0.
func TestAZeroAimIsAnAim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mode := behindMode
		mode.Axes = []game.Axis{{Name: "aim", Min: -10, Max: 10}}
		seen := map[game.PlayerID]int{}
		mode.New = func(cfg game.Config) game.Game {
			return &countGame{Dots: dots.New(cfg), seen: seen}
		}
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}, Mode: mode})
		c := &fakeClient{}
		j := join(t, r, c, "")
		r.Input(j.Player, c, ClientInput{Seq: 1, Axes: [game.MaxAxes]int32{0}})
		for c.last().Snap == nil || c.last().Ack != 1 {
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		e, _ := entity(c.last(), j.Player)
		if e.Fields[1] < 2 {
			t.Errorf("the game saw %d entries of a player aiming at 0 with no button; want one a tick", e.Fields[1])
		}
	})
}

// countGame counts each player's entries in inputs, in Fields[1].
type countGame struct {
	*dots.Dots
	seen map[game.PlayerID]int
}

func (g *countGame) Step(in []game.Input) {
	for _, i := range in {
		g.seen[i.Player]++
	}
	g.Dots.Step(in)
}

func (g *countGame) AppendEntities(dst []game.Entity) []game.Entity {
	n := len(dst)
	dst = g.Dots.AppendEntities(dst)
	for i := range dst[n:] {
		dst[n+i].Fields[1] = int32(g.seen[game.PlayerID(dst[n+i].ID)])
	}
	return dst
}
