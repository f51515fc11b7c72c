package server

import (
	"math/rand/v2"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// recorder is a sink that keeps what is written.
type recorder struct{ msgs [][]byte }

func (r *recorder) writeMessage(_ int, data []byte) error {
	r.msgs = append(r.msgs, append([]byte(nil), data...))
	return nil
}

func (r *recorder) writePrepared(*prepared) error { return nil }

// world evolves a room's entities tick by tick.
func worlds(n int) []*room.Snapshot {
	r := rand.New(rand.NewPCG(8, 9))
	var ents []game.Entity
	nextID := uint32(1)
	var snaps []*room.Snapshot
	for tick := uint64(1); tick <= uint64(n); tick++ {
		var next []game.Entity
		for _, e := range ents {
			if r.IntN(30) == 0 {
				continue
			}
			if r.IntN(2) == 0 {
				e.X += 10
			}
			next = append(next, e)
		}
		for range r.IntN(3) {
			next = append(next, game.Entity{ID: nextID, X: int32(r.IntN(500)), Y: int32(r.IntN(500)), Fields: [game.MaxFields]int32{int32(r.IntN(1 << 24))}})
			nextID++
		}
		ents = next
		snaps = append(snaps, &room.Snapshot{Tick: tick, Kinds: dots.Kinds, Entities: append([]game.Entity(nil), next...)})
	}
	return snaps
}

// decodeAll rebuilds the world from a client's messages.
func decodeAll(t *testing.T, msgs [][]byte) (world []game.Entity, tick uint64) {
	t.Helper()
	var m protocol.ServerMessage
	m.Welcome.Kinds = dots.Kinds
	for _, b := range msgs {
		if err := protocol.ParseServerBinary(&m, b); err != nil {
			t.Fatal(err)
		}
		var base []game.Entity
		if !m.Snapshot.Full {
			if m.Snapshot.Base != tick {
				t.Fatalf("delta against tick %d after tick %d", m.Snapshot.Base, tick)
			}
			base = world
		}
		world = protocol.ApplyDecoded(nil, base, &m.Delta, m.Welcome.Kinds)
		tick = m.Snapshot.Tick
	}
	return world, tick
}

// TestSkippedStatesKeepTheDeltaChain: a slow client's outbox replaces states
// it has not sent; each delta is against what that client last received, so
// it still rebuilds the exact world.
func TestSkippedStatesKeepTheDeltaChain(t *testing.T) {
	snaps := worlds(60)
	fast := newNativeCodec(false, func() {})
	slow := newNativeCodec(false, func() {})
	var fastOut, slowOut recorder
	r := rand.New(rand.NewPCG(1, 1))
	for i, s := range snaps {
		if _, err := fast.writeState(&fastOut, room.State{Snap: s}); err != nil {
			t.Fatal(err)
		}
		if i == len(snaps)-1 || r.IntN(3) == 0 { // the slow client gets a third
			if _, err := slow.writeState(&slowOut, room.State{Snap: s}); err != nil {
				t.Fatal(err)
			}
		}
	}
	last := snaps[len(snaps)-1]
	for name, out := range map[string]*recorder{"fast": &fastOut, "slow": &slowOut} {
		world, tick := decodeAll(t, out.msgs)
		if tick != last.Tick || len(world) != len(last.Entities) {
			t.Fatalf("%s client at tick %d with %d entities; want %d with %d", name, tick, len(world), last.Tick, len(last.Entities))
		}
		for i := range world {
			if world[i] != last.Entities[i] {
				t.Fatalf("%s client's entity %d = %+v; want %+v", name, i, world[i], last.Entities[i])
			}
		}
	}
	if len(slowOut.msgs) >= len(fastOut.msgs)/2 {
		t.Fatalf("the slow client got %d of %d states; the test wants it to skip", len(slowOut.msgs), len(fastOut.msgs))
	}
}

// TestUpToDateClientsShareOneEncoding: clients on the same base get the same
// body, encoded once; only the per-client header (the ack) differs.
func TestUpToDateClientsShareOneEncoding(t *testing.T) {
	snaps := worlds(5)
	encodings := 0
	codecs := make([]*nativeCodec, 50)
	outs := make([]recorder, 50)
	for i := range codecs {
		codecs[i] = newNativeCodec(false, func() { encodings++ })
	}
	for _, s := range snaps {
		for i, c := range codecs {
			if _, err := c.writeState(&outs[i], room.State{Snap: s, Ack: uint32(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One full snapshot at the first tick, then one delta per tick.
	if encodings != len(snaps) {
		t.Errorf("%d encodings for %d clients over %d ticks; want %d", encodings, len(codecs), len(snaps), len(snaps))
	}
	var m protocol.ServerMessage
	for i := range outs {
		protocol.ParseServerBinary(&m, outs[i].msgs[len(snaps)-1])
		if m.Snapshot.Ack != uint32(i) {
			t.Errorf("client %d got ack %d", i, m.Snapshot.Ack)
		}
	}
	// The seed protocol: one state_update for everyone.
	seedEncodings := 0
	for range 20 {
		c := &seedCodec{encoded: func() { seedEncodings++ }}
		c.writeState(&recorder{}, room.State{Snap: snaps[4]})
	}
	if seedEncodings != 1 {
		t.Errorf("seed state encoded %d times for 20 clients; want once", seedEncodings)
	}
}
