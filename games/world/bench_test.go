package world

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
)

// walkers is a world of n players at the density of 5,000 on the default
// field, each walking a square of its own (right, down, left, up, 40 ticks
// each, starting at a different side), so that the density stays even
// and players keep crossing cells as a crowd does.
type walkers struct {
	w      *World
	inputs []game.Input
	tick   int
}

func newWalkers(tb testing.TB, n int) *walkers {
	tb.Helper()
	// The default field for 5,000, and whole cells at the same density
	// for others, so that a narrow last column does not thin them out.
	size := int32(DefaultSize)
	if n != 5000 {
		size = Cell * int32(math.Round(DefaultSize*math.Sqrt(float64(n)/5000)/Cell))
	}
	opts, err := game.ParseOptions(Mode.RoomOptions, map[string]string{"size": fmt.Sprint(size)})
	if err != nil {
		tb.Fatal(err)
	}
	w := New(game.Config{Rand: rand.New(rand.NewPCG(1, 2)), TickRate: 20, Options: opts})
	crowd(tb, w, n)
	ws := &walkers{w: w, inputs: make([]game.Input, n)}
	for i := range ws.inputs {
		ws.inputs[i].Player = game.PlayerID(i + 1)
	}
	return ws
}

var square = [4]game.Buttons{game.Right, game.Down, game.Left, game.Up}

// step sets every player's buttons for this tick and steps the world.
func (ws *walkers) step() {
	for i := range ws.inputs {
		ws.inputs[i].Buttons = square[(ws.tick/40+i)%4]
	}
	ws.w.Step(ws.inputs)
	ws.tick++
}

// TestStepAllocatesNothing pins the steady state of a tick: moving 5,000
// players across cells, and building a view into a slice big enough,
// allocate nothing.
func TestStepAllocatesNothing(t *testing.T) {
	ws := newWalkers(t, 5000)
	for range 400 { // two rounds of the square: every cell list at its working size
		ws.step()
	}
	changes := 0
	cells := make([]int32, len(ws.w.players))
	for i, p := range ws.w.players {
		cells[i] = p.cell
	}
	if allocs := testing.AllocsPerRun(100, ws.step); allocs != 0 {
		t.Errorf("Step with 5000 players walking: %v allocations per tick; want 0", allocs)
	}
	for i, p := range ws.w.players {
		if p.cell != cells[i] {
			changes++
		}
	}
	if changes < 500 {
		t.Errorf("only %d of 5000 players changed cells in the ticks measured: they did too little", changes)
	}
	view := make([]game.Entity, 0, 1000)
	key := ws.w.View(1)
	if allocs := testing.AllocsPerRun(100, func() { view = ws.w.AppendView(view[:0], key) }); allocs != 0 {
		t.Errorf("AppendView into a big enough slice: %v allocations; want 0", allocs)
	}
}

// BenchmarkStep is one tick of 5,000 players all walking.
func BenchmarkStep(b *testing.B) {
	ws := newWalkers(b, 5000)
	for range 400 {
		ws.step()
	}
	b.ReportAllocs()
	for b.Loop() {
		ws.step()
	}
}

// views is one tick's views as a room builds them: View for every player,
// then AppendView once per distinct key. It reuses its slices, to measure
// the game's cost: a room hands its snapshots to the clients, and pays
// for their memory itself.
type views struct {
	keys  map[game.ViewKey]int // index into bufs
	bufs  [][]game.Entity
	built int
	ents  int
}

func (v *views) build(w *World) {
	clear(v.keys)
	v.built, v.ents = 0, 0
	for _, p := range w.players {
		k := w.View(p.id)
		if _, ok := v.keys[k]; ok {
			continue
		}
		if v.built == len(v.bufs) {
			v.bufs = append(v.bufs, nil)
		}
		v.bufs[v.built] = w.AppendView(v.bufs[v.built][:0], k)
		v.keys[k] = v.built
		v.ents += len(v.bufs[v.built])
		v.built++
	}
}

// BenchmarkViews is one tick's views of 5,000 players: View for each,
// AppendView once per distinct key. It reports the views built a tick and
// the entities in each (players and landmarks), and players per view.
func BenchmarkViews(b *testing.B) {
	ws := newWalkers(b, 5000)
	for range 400 {
		ws.step()
	}
	v := &views{keys: make(map[game.ViewKey]int)}
	b.ReportAllocs()
	for b.Loop() {
		v.build(ws.w)
	}
	b.ReportMetric(float64(v.built), "views/tick")
	b.ReportMetric(float64(v.ents)/float64(v.built), "entities/view")
	players, seen := 0, 0
	for _, p := range ws.w.players {
		for _, e := range v.bufs[v.keys[ws.w.View(p.id)]] {
			if e.Kind == KindPlayer {
				seen++
			}
		}
		players++
	}
	b.ReportMetric(float64(seen)/float64(players), "players-seen/player")
}

// BenchmarkViewDeltas is a tick's views and their deltas against the
// tick before, encoded once per view as the room does, at 500 and 5,000
// players at the same density. It reports the bytes a player receives a
// tick (its view's delta), which should not grow with the world.
func BenchmarkViewDeltas(b *testing.B) {
	for _, n := range []int{500, 5000} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			ws := newWalkers(b, n)
			for range 400 {
				ws.step()
			}
			prev := map[game.ViewKey][]game.Entity{}
			var d protocol.Delta
			var buf []byte
			var bytes, ticks int
			b.ReportAllocs()
			for b.Loop() {
				ws.step()
				cur := map[game.ViewKey][]game.Entity{}
				size := map[game.ViewKey]int{}
				for _, p := range ws.w.players {
					k := ws.w.View(p.id)
					if _, ok := size[k]; !ok {
						cur[k] = ws.w.AppendView(nil, k)
						protocol.Diff(&d, prev[k], cur[k])
						buf = protocol.AppendBinaryDelta(buf[:0], &d, Kinds)
						size[k] = len(buf)
					}
					bytes += size[k]
				}
				prev = cur
				ticks++
			}
			b.ReportMetric(float64(bytes)/float64(ticks*n), "bytes/player/tick")
		})
	}
}
