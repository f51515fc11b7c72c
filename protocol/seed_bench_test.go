package protocol

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/arena-server/arena/game"
)

// benchEntities is a world of n players spread over the seed's field.
func benchEntities(n int) []game.Entity {
	r := rand.New(rand.NewPCG(1, 2))
	ents := make([]game.Entity, n)
	for i := range ents {
		ents[i] = game.Entity{
			ID:   uint32(i + 1),
			Kind: game.KindPlayer,
			X:    int32(10 + r.IntN(481)),
			Y:    int32(10 + r.IntN(481)),
		}
		ents[i].Fields[0] = int32(r.IntN(1 << 24))
	}
	return ents
}

// TestSeedEncodeAllocatesNothing: a state encoded into a reused buffer
// that is big enough allocates nothing, however many players it lists.
func TestSeedEncodeAllocatesNothing(t *testing.T) {
	ents := benchEntities(1000)
	buf := AppendSeedState(nil, ents, 0)
	want := string(buf)
	if allocs := testing.AllocsPerRun(50, func() { buf = AppendSeedState(buf[:0], ents, 0) }); allocs != 0 {
		t.Errorf("AppendSeedState of 1000 players into a reused buffer: %v allocations, want 0", allocs)
	}
	if string(buf) != want {
		t.Error("re-encoding the same world gave different bytes")
	}
}

// BenchmarkSeedEncode is the state_update of one tick. The server encodes
// it once per tick (room.Snapshot.Memo), so this is paid once per tick per
// room, not once per player.
func BenchmarkSeedEncode(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			ents := benchEntities(n)
			buf := AppendSeedState(nil, ents, 0)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendSeedState(buf[:0], ents, 0)
			}
		})
	}
}

// BenchmarkParseSeedMove is the server's cost per move a seed client
// sends: at 500 players holding a key, 10,000 a second.
func BenchmarkParseSeedMove(b *testing.B) {
	msg := []byte(`{"type":"move","direction":"RIGHT"}`)
	b.ReportAllocs()
	for b.Loop() {
		if m, err := ParseSeed(msg); err != nil || m.Buttons != game.Right {
			b.Fatal(m, err)
		}
	}
}
