package dots

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/arena-server/arena/game"
)

// benchSizes are the room sizes the micro-benchmarks run at.
var benchSizes = []int{10, 100, 1000, 10000}

// benchWorld returns a game of n players and one input per player, every
// one holding a key as the load generator's "hold" players do.
func benchWorld(tb testing.TB, n int) (*Dots, []game.Input) {
	tb.Helper()
	d := New(game.Config{Rand: rand.New(rand.NewPCG(1, 2)), TickRate: 20})
	inputs := make([]game.Input, n)
	keys := []game.Buttons{game.Up, game.Down, game.Left, game.Right, game.Up | game.Right}
	for i := range n {
		id := game.PlayerID(i + 1)
		if err := d.Join(game.Player{ID: id}); err != nil {
			tb.Fatal(err)
		}
		inputs[i] = game.Input{Player: id, Buttons: keys[i%len(keys)]}
	}
	return d, inputs
}

// TestStepAllocatesNothing pins the steady state of a tick's simulation:
// moving every player, and listing them into a slice that is big enough,
// allocate nothing.
func TestStepAllocatesNothing(t *testing.T) {
	d, inputs := benchWorld(t, 1000)
	if allocs := testing.AllocsPerRun(100, func() { d.Step(inputs) }); allocs != 0 {
		t.Errorf("Step with 1000 players holding keys: %v allocations per call, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { d.Step(nil) }); allocs != 0 {
		t.Errorf("Step with no inputs: %v allocations per call, want 0", allocs)
	}
	ents := make([]game.Entity, 0, 1000)
	if allocs := testing.AllocsPerRun(100, func() { ents = d.AppendEntities(ents[:0]) }); allocs != 0 {
		t.Errorf("AppendEntities into a big enough slice: %v allocations per call, want 0", allocs)
	}
	if len(ents) != 1000 {
		t.Fatalf("AppendEntities listed %d players, want 1000", len(ents))
	}
	// The steps above moved the players: the benchmark measures real work.
	moved := 0
	for _, e := range ents {
		if e.X == Min || e.X == Max || e.Y == Min || e.Y == Max {
			moved++
		}
	}
	if moved != len(ents) {
		t.Errorf("after 100 steps holding a key, %d of %d players reached a wall", moved, len(ents))
	}
}

// BenchmarkStep is one tick's simulation with every player holding a key.
func BenchmarkStep(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			d, inputs := benchWorld(b, n)
			b.ReportAllocs()
			for b.Loop() {
				d.Step(inputs)
			}
		})
	}
}

// BenchmarkAppendEntities is the view a tick publishes, into a reused
// slice.
func BenchmarkAppendEntities(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			d, _ := benchWorld(b, n)
			ents := make([]game.Entity, 0, n)
			b.ReportAllocs()
			for b.Loop() {
				ents = d.AppendEntities(ents[:0])
			}
		})
	}
}
