package server_test

import (
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/server"
)

// BenchmarkSeedRoundTrip is the time from a seed client's message to the
// server's answer (an error the room's node sends at once, not at the next
// tick), connected to the node that runs its room and relayed through
// another: the difference is what the relay adds.
func BenchmarkSeedRoundTrip(b *testing.B) {
	ns := natstest.Start(b)
	answers := func(c *server.Config) { c.ErrorRate, c.ErrorBurst, c.MessageRate, c.MessageBurst = 1e9, 1e9, 1e9, 1e9 }
	a := arenatest.Start(b, arenatest.Options{NATS: ns, Node: "a", Config: answers})
	relay := arenatest.Start(b, arenatest.Options{NATS: ns, Node: "b", Config: answers})
	arenatest.Dial(b, a.WSURL+"?room=far", nil).Init() // the room runs on a
	for _, bc := range []struct {
		name string
		srv  *arenatest.Server
	}{{"direct", a}, {"relayed", relay}} {
		b.Run(bc.name, func(b *testing.B) {
			c := arenatest.Dial(b, bc.srv.WSURL+"?room=far", nil)
			c.Init()
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				c.Send(`{"type":"no-such-type"}`)
				c.WaitFor(5*time.Second, "the answer", func(m *arenatest.Message) bool { return m.Type == "error" })
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs/round-trip")
		})
	}
}
