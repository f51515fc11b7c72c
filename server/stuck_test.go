//go:build linux

package server_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// dialTinyWindow opens a seed WebSocket whose receive buffer is as small as
// the kernel allows and a small segment size: once its client stops
// reading, the server's writes to it block after some tens of kilobytes.
func dialTinyWindow(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	nd := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
			// A small segment size keeps the server from growing its send
			// buffer to megabytes, as loopback's 64 KB segments make it.
			serr = cmp.Or(serr, syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 536))
		})
		return cmp.Or(err, serr)
	}}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDialContext: nd.DialContext}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestStuckClientsHoldUpNobody: closing a session only signals its writer.
// It used to write the close frame itself, waiting up to a second for the
// write lock that a writer stuck on a client that does not read holds; the
// room did that from its own goroutine on a takeover, and Shutdown did it
// for one session after another.
func TestStuckClientsHoldUpNobody(t *testing.T) {
	// Not parallel: its load would disturb the timing tests that are.
	const tickRate = 100
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.TickRate = tickRate // big states, often: sockets fill in a fraction of a second
		c.WriteTimeout = 20 * time.Second
		c.PongTimeout = 30 * time.Second
		c.ShutdownTimeout = 9 * time.Second
	}})
	stuck := make([]*websocket.Conn, 12)
	for i := range stuck {
		stuck[i] = dialTinyWindow(t, srv.WSURL+"?room=stuck")
	}
	// The first reads its init, for the token, and then, like the others,
	// never reads again.
	_ = stuck[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := stuck[0].ReadMessage()
	var init arenatest.Message
	if err == nil {
		err = json.Unmarshal(data, &init)
	}
	if err != nil || init.Type != "init" {
		t.Fatalf("first message %s, %v; want init", data, err)
	}
	arenatest.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		var ns []int
		ok := true
		for _, c := range stuck {
			n := srv.StatesSkipped(c.LocalAddr().String())
			ns = append(ns, n)
			ok = ok && n >= 30
		}
		if !ok {
			return fmt.Errorf("states skipped by the writers: %v", ns)
		}
		return nil
	})
	ticks := func() uint64 {
		for _, st := range srv.Manager().Rooms() {
			if st.Name == "stuck" {
				return st.Ticks
			}
		}
		return 0
	}

	// A takeover: the room closes the stuck connection from its goroutine.
	start := time.Now()
	b := arenatest.Dial(t, srv.WSURL+"?token="+init.Token, nil)
	if got := b.Init(); got.ID != init.ID {
		t.Fatalf("resumed as %s; want %s", got.ID, init.ID)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("the takeover took %v: the room waited on the stuck connection", took)
	}
	b.WaitFor(time.Second, "a state after the takeover", func(m *arenatest.Message) bool { return m.Type == "state_update" })
	from := ticks()
	arenatest.Eventually(t, time.Second, 10*time.Millisecond, func() error {
		if n := ticks() - from; n < tickRate/5 {
			return fmt.Errorf("the room ran only %d ticks", n)
		}
		return nil
	})
	// The stuck connection that was taken over is let go promptly.
	waitEOF(t, stuck[0], 3*time.Second)

	// A shutdown with eleven stuck connections closes them all at once.
	// (The kernel lets a stalled socket take a little now and then, so
	// before the fix this waited on some of them, not always on all.)
	start = time.Now()
	srv.Stop(t)
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("shutdown took %v with stuck clients", took)
	}
}
