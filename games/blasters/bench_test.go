package blasters

import (
	"testing"

	"github.com/arena-server/arena/game"
)

// benchWorld returns a running round of n players and their inputs: all
// move, aim somewhere and hold fire, with views a few ticks behind.
func benchWorld(tb testing.TB, n int) (*Blasters, []game.Input) {
	tb.Helper()
	g, _ := newGame(tb, map[string]string{"round": "600"}, n)
	g.cfg.Events = nil // the room's queue is the room's cost, not the game's
	steps(g, CountdownSeconds*rate, nil)
	inputs := make([]game.Input, n)
	keys := []game.Buttons{game.Up, game.Down, game.Left, game.Right, game.Up | game.Right, game.Down | game.Left}
	for i := range inputs {
		inputs[i] = game.Input{Player: game.PlayerID(i + 1), Buttons: keys[i%len(keys)] | game.Action, Behind: i % 5}
		inputs[i].Axes[0] = int32(AimMin + (i*997)%(AimMax-AimMin))
	}
	return g, inputs
}

// TestStepAllocatesNothing pins the steady state of a tick: moving,
// shooting, hitting, killing and respawning, and listing the entities into
// a slice that is big enough, allocate nothing.
func TestStepAllocatesNothing(t *testing.T) {
	g, inputs := benchWorld(t, 100)
	steps(g, 200, inputs) // grow the bullet list to its working size
	deaths := func() (n int32) {
		for _, p := range g.players {
			n += p.deaths
		}
		return n
	}
	before := deaths()
	ents := make([]game.Entity, 0, 1000)
	allocs := testing.AllocsPerRun(200, func() {
		g.Step(inputs)
		ents = g.AppendEntities(ents[:0])
	})
	if allocs != 0 {
		t.Errorf("Step and AppendEntities with 100 players shooting: %v allocations per tick; want 0", allocs)
	}
	if deaths() == before || len(g.bullets) == 0 {
		t.Errorf("%d deaths, %d bullets: the ticks measured did too little", deaths()-before, len(g.bullets))
	}
}

// BenchmarkStep is one tick of a room of 100 players who all move and
// hold fire, and the listing of its entities.
func BenchmarkStep(b *testing.B) {
	g, inputs := benchWorld(b, 100)
	steps(g, 200, inputs)
	ents := make([]game.Entity, 0, 1000)
	b.ReportAllocs()
	for b.Loop() {
		g.Step(inputs)
		ents = g.AppendEntities(ents[:0])
	}
}
