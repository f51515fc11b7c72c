package blasters

import (
	"testing"

	"github.com/arena-server/arena/game"
)

// shotAtThePast plays a target running up the screen past a shooter who
// fires, with the given Behind, at where the target stood 3 ticks (150 ms)
// before: what the shooter saw, given a view that far behind. It returns
// the target's health afterwards.
func shotAtThePast(t *testing.T, behind int) int32 {
	t.Helper()
	g, _ := playing(t, 2)
	g.place(t, 1, 100, 300)
	g.place(t, 2, 140, 300)
	up := game.Input{Player: 2, Buttons: game.Up}
	g.Step(nil) // the shooter, 3 ticks behind, sees the target at (140, 300) ...
	steps(g, 2, []game.Input{up})
	aim := int32(0) // ... straight to its right, and fires
	shot := fire(1, aim)
	shot.Behind = behind
	g.Step([]game.Input{shot, up})
	steps(g, 10, []game.Input{up})
	if p := g.player(t, 2); p.y >= 300-3*Speed-HitRadius {
		t.Fatalf("the target ran only to y %d", p.y)
	}
	return entity(t, g, 2).Fields[PlayerHealth]
}

func TestLagCompensation(t *testing.T) {
	if h := shotAtThePast(t, 3); h != MaxHealth-Damage {
		t.Errorf("Behind 3, a shot at where the target stood 3 ticks ago: health %d; want a hit", h)
	}
	if h := shotAtThePast(t, 0); h != MaxHealth {
		t.Errorf("Behind 0, the same shot: health %d; want a miss, the target has moved on", h)
	}
}

// TestLagCompensationIsCapped fires at where a target stood 6 ticks ago,
// 300 ms at 20 Hz: more than game.MaxRewindMillis allows. Any Behind above
// the cap is judged as the cap, and misses.
func TestLagCompensationIsCapped(t *testing.T) {
	capTicks := game.MaxRewindMillis * rate / 1000
	run := func(behind int) ([]game.Entity, int32) {
		g, _ := playing(t, 2)
		g.place(t, 1, 100, 300)
		g.place(t, 2, 140, 300)
		up := game.Input{Player: 2, Buttons: game.Up}
		g.Step(nil)
		steps(g, 5, []game.Input{up})
		shot := fire(1, 0)
		shot.Behind = behind
		g.Step([]game.Input{shot, up})
		ents := g.AppendEntities(nil)
		steps(g, 10, []game.Input{up})
		return ents, entity(t, g, 2).Fields[PlayerHealth]
	}
	capped, _ := run(capTicks)
	for _, behind := range []int{6, capTicks + 1, 1000, 1 << 30} {
		ents, h := run(behind)
		if h != MaxHealth {
			t.Errorf("Behind %d: health %d; want a miss, judged %d ticks back at most", behind, h, capTicks)
		}
		if !equalEntities(ents, capped) {
			t.Errorf("Behind %d: %+v\nBehind %d (the cap): %+v", behind, ents, capTicks, capped)
		}
	}
	if _, h := run(-5); h != MaxHealth {
		t.Errorf("Behind -5: health %d", h)
	}
}

// TestLagCompensatedBulletFliesAhead checks where a compensated bullet is:
// Behind ticks along its path, as a bullet fired that long ago would be.
func TestLagCompensatedBulletFliesAhead(t *testing.T) {
	g, _ := playing(t, 1)
	g.place(t, 1, 100, 300)
	shot := fire(1, 0)
	shot.Behind = 2
	g.Step([]game.Input{shot})
	if b := bullets(g); len(b) != 1 || b[0].X != 100+2*BulletSpeed || b[0].Y != 300 {
		t.Errorf("bullet %+v; want it at x %d", b, 100+2*BulletSpeed)
	}
}

// TestLagCompensationSparesTheNewlyJoined: the history of a player who
// was not there at the rewound tick holds nothing to hit.
func TestLagCompensationSparesTheNewlyJoined(t *testing.T) {
	g, _ := playing(t, 1)
	g.place(t, 1, 100, 300)
	steps(g, 5, nil)
	if err := g.Join(game.Player{ID: 2}); err != nil {
		t.Fatal(err)
	}
	g.place(t, 2, 140, 300)
	shot := fire(1, 0)
	shot.Behind = 4 // at ticks before player 2 was there
	g.Step([]game.Input{shot})
	if h := entity(t, g, 2).Fields[PlayerHealth]; h != MaxHealth {
		t.Errorf("hit where it was not yet: health %d", h)
	}
}

func equalEntities(a, b []game.Entity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRewindScalesWithTickRate: the cap is game.MaxRewindMillis whatever
// the tick rate, and a bullet fired from further behind flies the cap's
// worth of ticks at once, no more.
func TestRewindScalesWithTickRate(t *testing.T) {
	for _, tickRate := range []int{1, 10, 20, 30, 60} {
		capTicks := game.MaxRewindMillis * tickRate / 1000
		g := New(game.Config{Rand: newRand(), TickRate: tickRate})
		if err := g.Join(game.Player{ID: 1}); err != nil {
			t.Fatal(err)
		}
		for g.phase != PhasePlaying {
			g.Step(nil)
		}
		g.place(t, 1, 100, 300)
		steps(g, capTicks+1, nil)
		shot := fire(1, 0)
		shot.Behind = capTicks + 5
		g.Step([]game.Input{shot})
		if b := bullets(g); len(b) != 1 || b[0].X != int32(100+capTicks*BulletSpeed) {
			t.Errorf("%d Hz: bullet %+v; want it %d ticks along", tickRate, b, capTicks)
		}
		if n := len(g.player(t, 1).history); n != capTicks+1 {
			t.Errorf("%d Hz: %d ticks of history; want %d", tickRate, n, capTicks+1)
		}
		state, err := g.Export()
		if err != nil {
			t.Fatal(err)
		}
		err = New(game.Config{Rand: newRand(), TickRate: rate}).Import(state)
		if (err == nil) != (tickRate == rate) {
			t.Errorf("a %d Hz state imported at %d Hz: %v", tickRate, rate, err)
		}
	}
}
