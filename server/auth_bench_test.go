package server_test

import (
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// BenchmarkJoinSignedIn: a fresh arena.v1.bin client joins a room as a
// guest, or signed in (?auth=1 and an auth message first) with a token an
// Authenticator answers at once. The difference is what signing in costs
// the join on the server's side and the wire's, less the Authenticator's
// own check, which the accounts package's benchmarks measure (issue 24:
// at most 1 ms at p99). One op is one join, from the dial to the welcome.
// Run it without -race.
func BenchmarkJoinSignedIn(b *testing.B) {
	for _, how := range []string{"guest", "signed-in"} {
		b.Run(how, func(b *testing.B) {
			srv := arenatest.Start(b, arenatest.Options{Config: func(c *server.Config) {
				c.MaxConnectionsPerIP, c.MaxHTTPConnectionsPerIP = 0, 0
				c.Room.MaxSeatsPerAddr, c.MaxSeatsPerIP = 0, 0
				c.JoinRate = 0
				c.Room.ResumeGrace = 0 // a closed client's seat goes at once
				c.Accounts = newTestAccounts()
			}})
			query, first := "?room=hall", []byte(nil)
			if how == "signed-in" {
				query, first = "?room=hall&auth=1", protocol.AppendBinaryAuth(nil, "tok-ann", "")
			}
			d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
			took := make([]time.Duration, 0, b.N)
			var m protocol.ServerMessage
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				conn, _, err := d.Dial(srv.WSURL+query, nil)
				if err != nil {
					b.Fatal(err)
				}
				if first != nil {
					if err := conn.WriteMessage(websocket.BinaryMessage, first); err != nil {
						b.Fatal(err)
					}
				}
				_, data, err := conn.ReadMessage()
				if err == nil {
					err = protocol.ParseServerBinary(&m, data)
				}
				if err != nil || m.Type != protocol.BinWelcome {
					b.Fatalf("%v, message %#x (%s %s); want a welcome", err, m.Type, m.Code, m.Message)
				}
				took = append(took, time.Since(start))
				conn.Close()
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(ms(quantile(took, 0.5)), "p50-ms")
			b.ReportMetric(ms(quantile(took, 0.99)), "p99-ms")
		})
	}
}
