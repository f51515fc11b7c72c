package protocol

import (
	"fmt"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// BenchmarkNativeDelta is the cost of one tick's delta body for n players,
// all of them moving: computed once per tick and shared by every client
// that is up to date.
func BenchmarkNativeDelta(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			base := make([]game.Entity, n)
			cur := make([]game.Entity, n)
			for i := range base {
				base[i] = game.Entity{ID: uint32(i + 1), X: int32(50 + i%400), Y: 250}
				base[i].Fields[dots.FieldColor] = 0xabcdef
				cur[i] = base[i]
				cur[i].X += 10
			}
			var d Delta
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				Diff(&d, base, cur)
				buf = AppendBinaryDelta(buf[:0], &d, dots.Kinds)
			}
			b.ReportMetric(float64(len(buf))/float64(n), "bytes/player")
		})
	}
}
