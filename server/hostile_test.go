package server_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/arenatest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// Hostile addresses: the attacker dials from 127.0.0.1, the victim from
// 127.0.0.2 (both loopback on Linux).
const (
	attackerIP = "127.0.0.1"
	victimIP   = "127.0.0.2"
)

// dialerFrom returns a WebSocket dialer whose connections come from ip.
func dialerFrom(ip string, subprotocols ...string) *websocket.Dialer {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		Subprotocols:     subprotocols,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nd.DialContext(ctx, network, addr)
		},
	}
}

// dialNativeFrom is dialNative from the address ip.
func dialNativeFrom(t *testing.T, ip, url string) *nativeClient {
	t.Helper()
	conn, _, err := dialerFrom(ip, protocol.SubprotocolBinary).Dial(url, nil)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &nativeClient{t: t, conn: conn}
	c.next(5 * time.Second)
	if c.msg.Type != protocol.BinWelcome {
		t.Fatalf("first message type %#x; want welcome", c.msg.Type)
	}
	c.welcome = c.msg.Welcome
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBurstingPlayersDropOnlyTheirOwnInputs(t *testing.T) {
	t.Parallel()
	// One tick a second, so that every burst lands between two ticks.
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.TickRate = 1 }})
	const flooders, burst = 99, 190 // under MessageBurst: none is closed as a flood
	attackers := make([]*nativeClient, flooders)
	for i := range attackers {
		attackers[i] = dialNativeFrom(t, attackerIP, srv.WSURL)
	}
	victim := dialNativeFrom(t, victimIP, srv.WSURL)
	victim.waitState("first state", func() bool { return true })

	// Right after a tick: the attackers' bursts all arrive, then the
	// victim's input, before the next tick.
	before := metric(t, srv, "arena_messages_received_total")
	var wg sync.WaitGroup
	for _, a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var msg []byte
			for seq := uint32(1); seq <= burst; seq++ {
				msg = protocol.AppendBinaryInput(msg[:0], seq, game.Right, 0)
				if err := a.conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					t.Errorf("attacker write: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, 5*time.Second, "bursts received", func() bool {
		return metric(t, srv, "arena_messages_received_total") >= before+flooders*burst
	})
	victim.send(protocol.AppendBinaryInput(nil, 1, game.Down, 0))
	victim.waitState("the victim's input acked", func() bool { return victim.ack == 1 })
	if got := metric(t, srv, `arena_inputs_dropped_total{reason="inbox_full"}`); got > 0 {
		t.Errorf("inputs_dropped_total{inbox_full} = %v; want 0", got)
	}
	if got := metric(t, srv, `arena_inputs_dropped_total{reason="superseded"}`); got <= 0 {
		t.Errorf("inputs_dropped_total{superseded} = %v; the bursts should have cost their senders", got)
	}
}
