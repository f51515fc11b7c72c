package server_test

import (
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// TestThousandsOfConnectionsLeaveNothingBehind opens 1,500 native
// connections over 30 rooms, checks that each plays, closes them all, and
// waits for the server's goroutines and heap to come back to what they
// were before, once the empty rooms have gone too: nothing of a session may outlive it. (Large loads belong
// in benchmarks; this one is bounded, and leak-hunting needs numbers.)
func TestThousandsOfConnectionsLeaveNothingBehind(t *testing.T) {
	const conns, rooms = 1500, 30
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		// All of it comes from one address.
		c.MaxConnectionsPerIP, c.MaxSeatsPerIP, c.Room.MaxSeatsPerAddr = 0, 0, 0
		c.MaxHTTPConnectionsPerIP, c.RoomCreateRate = 0, 0
		// Empty rooms go too, soon, and so do players whose leave raced
		// their close.
		c.Room.IdleTimeout, c.Room.ResumeGrace = 200*time.Millisecond, 200*time.Millisecond
		// The test's clients read nothing after their welcome, so they
		// answer no pings: the server must not drop them for that while
		// the others dial, however slow the machine.
		c.PingInterval, c.PongTimeout = time.Minute, 2*time.Minute
	}})
	settle := func() (goroutines int, heap uint64) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return runtime.NumGoroutine(), m.HeapInuse
	}
	g0, h0 := settle()

	clients := make([]*websocket.Conn, conns)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < conns; i += 8 {
				// A room that is busy on a loaded machine (its ticks over
				// 80% of their interval) refuses new players for a while:
				// load, not a leak, so the connection is tried again.
				for attempt := 0; ; attempt++ {
					c, _, err := d.Dial(fmt.Sprintf("%s?room=r%d", srv.WSURL, i%rooms), nil)
					if err != nil {
						errs <- err
						return
					}
					_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
					var m protocol.ServerMessage
					_, data, err := c.ReadMessage()
					if err == nil && protocol.ParseServerBinary(&m, data) == nil && m.Type == protocol.BinError && m.Code == protocol.CodeRoomFull && attempt < 20 {
						_ = c.Close()
						time.Sleep(50 * time.Millisecond) // back off, as a client does
						continue
					}
					clients[i] = c
					if err != nil || m.Type != protocol.BinWelcome {
						errs <- fmt.Errorf("connection %d: no welcome (%v; message %#x %s %s)", i, err, m.Type, m.Code, m.Message)
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	gMax, hMax := settle()
	t.Logf("with %d connections: %d goroutines (from %d), heap %d KiB (from %d)", conns, gMax, g0, hMax>>10, h0>>10)
	// Every one is playing, and each has one goroutine, its reader: the
	// write side has none unless its socket falls behind.
	if gMax < g0+conns {
		t.Fatalf("%d goroutines with %d sessions open; want at least %d: are they all playing?", gMax, conns, g0+conns)
	}
	if gMax > g0+conns+conns/10 {
		t.Errorf("%d goroutines with %d sessions open (from %d): connections have more than their reader", gMax, conns, g0)
	}

	for i, c := range clients {
		_ = c.WriteMessage(websocket.BinaryMessage, []byte{protocol.BinLeave})
		_ = c.Close()
		clients[i] = nil // the test's own buffers are not the server's
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		g, h := settle()
		// Some slack: the test's own goroutines, and a heap that the
		// runtime need not give back to the page.
		if g <= g0+5 && h <= h0+8<<20 {
			t.Logf("after: %d goroutines, heap %d KiB", g, h>>10)
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Logf("goroutines left:\n%s", b.String())
			t.Fatalf("15 s after closing: %d goroutines (from %d), heap %d KiB (from %d)", g, g0, h>>10, h0>>10)
		}
		time.Sleep(100 * time.Millisecond) // polling the runtime, with a deadline
	}
}
