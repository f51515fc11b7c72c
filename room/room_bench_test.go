package room

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
)

// benchClient is a connection that only counts the states it is offered
// and keeps the last one, as cheaply as a client can.
type benchClient struct {
	id     game.PlayerID
	states atomic.Uint64
	last   atomic.Pointer[Snapshot]

	armed   atomic.Bool // someone waits in wait
	mu      sync.Mutex
	target  uint64
	reached chan struct{}
}

func (c *benchClient) State(s State) {
	c.last.Store(s.Snap)
	n := c.states.Add(1)
	if c.armed.Load() {
		c.mu.Lock()
		if c.reached != nil && n >= c.target {
			close(c.reached)
			c.reached = nil
			c.armed.Store(false)
		}
		c.mu.Unlock()
	}
}

func (c *benchClient) Event(Event) {}
func (c *benchClient) Close(error) {}

// wait returns once the client has been offered n more states.
func (c *benchClient) wait(n uint64) {
	ch := make(chan struct{})
	c.mu.Lock()
	c.target, c.reached = c.states.Load()+n, ch
	c.armed.Store(true)
	c.mu.Unlock()
	<-ch
}

// flatOut is a tick rate so high that the room ticks back to back: every
// tick is late, so the room runs the next one at once.
const flatOut = 1_000_000_000

// benchRoom runs a dots room of n players, every one holding a key (a held
// input, not a one-step seed move, so it applies on every tick), until the
// test ends. It returns the players' clients.
func benchRoom(tb testing.TB, n, tickRate int) (*Room, []*benchClient, func()) {
	tb.Helper()
	r := New(Config{
		Name:     "bench",
		Mode:     dots.Mode,
		Settings: Settings{TickRate: tickRate},
		Seed:     1,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			tb.Errorf("room did not stop")
		}
	}
	clients := make([]*benchClient, n)
	keys := []game.Buttons{game.Up, game.Down, game.Left, game.Right}
	for i := range clients {
		c := &benchClient{}
		j, err := r.Join(ctx, JoinRequest{Client: c})
		if err != nil {
			stop()
			tb.Fatalf("join %d: %v", i, err)
		}
		c.id = j.Player
		r.Input(c.id, c, ClientInput{Buttons: keys[i%len(keys)]})
		clients[i] = c
	}
	return r, clients, stop
}

// BenchmarkTick is one room tick with every player holding a key: drain
// the inbox, apply one input per player, step the game, build the snapshot
// and offer it to every player. It drives the room only through its
// exported API: the room runs flat out (a tick rate too high to keep, so
// ticks run back to back) and the benchmark times b.N ticks as one player
// sees them, so the figure includes the tick loop's own overhead (a timer
// and a select per tick). Encoding is not part of a tick: connection
// writers encode a snapshot once, on first use (see BenchmarkSeedEncode).
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			r, clients, stop := benchRoom(b, n, flatOut)
			defer stop()
			watch := clients[0]
			watch.wait(10) // the inputs are in and ticks are flowing
			before := r.Stats().Ticks
			b.ReportAllocs()
			b.ResetTimer()
			watch.wait(uint64(b.N))
			b.StopTimer()
			// A client is offered a tick's state before the tick is
			// counted: the count may lag by one.
			if got := r.Stats().Ticks - before; got+1 < uint64(b.N) {
				b.Fatalf("%d ticks for %d states", got, b.N)
			}
		})
	}
}

// TestEveryPlayerGetsTheSameSnapshot: a tick builds one snapshot and offers
// that same value to every player, so that a codec's Memo encodes it once
// per tick however many players receive it.
func TestEveryPlayerGetsTheSameSnapshot(t *testing.T) {
	_, clients, stop := benchRoom(t, 200, 100)
	// Wait for a few ticks with everybody in: the last to join.
	clients[len(clients)-1].wait(3)
	stop() // a tick runs to the end before the room stops
	snap := clients[0].last.Load()
	if snap == nil || len(snap.Entities) != len(clients) {
		t.Fatalf("last snapshot %+v; want one listing %d players", snap, len(clients))
	}
	for i, c := range clients {
		if got := c.last.Load(); got != snap {
			t.Fatalf("player %d's last snapshot is tick %d at %p; player 0's is tick %d at %p: one snapshot per player, not per tick",
				i, got.Tick, got, snap.Tick, snap)
		}
	}
}

// seedEncodingKey stands for the key server/codec.go memoizes a snapshot's
// seed encoding under.
type seedEncodingKey struct{}

// TestSeedEncodingBuiltOncePerSnapshot: however many connection writers
// ask a snapshot for its seed encoding at once, it is built once and they
// all share the bytes.
func TestSeedEncodingBuiltOncePerSnapshot(t *testing.T) {
	ents := make([]game.Entity, 1000)
	for i := range ents {
		ents[i] = game.Entity{ID: uint32(i + 1), Kind: game.KindPlayer, X: int32(i % 500), Y: 7, Fields: [game.MaxFields]int32{int32(i)}}
	}
	snap := &Snapshot{Tick: 1, Entities: ents}
	want := string(protocol.AppendSeedState(nil, ents, 0))

	const writers = 256
	var builds atomic.Int32
	got := make([][]byte, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			got[i] = snap.Memo(seedEncodingKey{}, func() any {
				builds.Add(1)
				time.Sleep(time.Millisecond) // let the others pile up behind the first
				return protocol.AppendSeedState(nil, snap.Entities, 0)
			}).([]byte)
		})
	}
	close(start)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d writers built the encoding %d times; want once", writers, n)
	}
	for i, b := range got {
		if string(b) != want {
			t.Fatalf("writer %d got a wrong encoding", i)
		}
		if &b[0] != &got[0][0] {
			t.Fatalf("writer %d got its own copy of the encoding", i)
		}
	}
	// Another view of the same snapshot is another key, built once too.
	other := snap.Memo(struct{ view int }{1}, func() any { builds.Add(1); return []byte("other") })
	again := snap.Memo(struct{ view int }{1}, func() any { builds.Add(1); return []byte("again") })
	if string(other.([]byte)) != "other" || string(again.([]byte)) != "other" || builds.Load() != 2 {
		t.Errorf("a second key: got %q then %q after %d builds", other, again, builds.Load())
	}
}

// BenchmarkSnapshotFanout is the per-tick cost of n writers fetching the
// one encoding of a snapshot: every writer but the first pays a Memo
// lookup, not an encode.
func BenchmarkSnapshotFanout(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			ents := make([]game.Entity, n)
			for i := range ents {
				ents[i] = game.Entity{ID: uint32(i + 1), Kind: game.KindPlayer, X: 250, Y: 250}
			}
			b.ReportAllocs()
			for b.Loop() {
				snap := &Snapshot{Tick: 1, Entities: ents}
				for range n {
					_ = snap.Memo(seedEncodingKey{}, func() any { return protocol.AppendSeedState(nil, snap.Entities, 0) })
				}
			}
		})
	}
}
