package server_test

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// TestAFullBoxRefusesNewPlayers: while goroutines queue for the CPU, the
// server refuses new players with server_full and 1013, reports not ready,
// and keeps serving those it has, who may also resume; once the CPU is free
// again, new players get in.
func TestAFullBoxRefusesNewPlayers(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		// Well above what other tests' load on a shared machine makes of
		// it (to let players in again it must fall below half), and well
		// below the 200 ms the burners below make.
		c.MaxSchedLatency = 20 * time.Millisecond
	}})
	player := arenatest.Dial(t, srv.WSURL+"?room=full", nil)
	init := player.Init()

	// Fill both cores many times over, from this process: the server's
	// own goroutines then wait their turn for tens of milliseconds.
	var stop atomic.Bool
	var burners sync.WaitGroup
	for range 8 * runtime.GOMAXPROCS(0) {
		burners.Go(func() {
			for !stop.Load() {
			}
		})
	}
	stopBurning := func() { stop.Store(true); burners.Wait() }
	defer stopBurning()

	// newPlayer joins and returns the first message, and the connection.
	newPlayer := func() (*arenatest.Message, *arenatest.Client, error) {
		c, err := arenatest.TryDial(t, srv.WSURL+"?room=full", nil)
		if err != nil {
			return nil, nil, err
		}
		m, err := c.Read(5 * time.Second)
		if err != nil {
			c.Conn.Close()
			return nil, nil, err
		}
		return m, c, nil
	}
	arenatest.Eventually(t, 15*time.Second, 100*time.Millisecond, func() error {
		m, c, err := newPlayer()
		if err != nil {
			return err
		}
		defer c.Conn.Close()
		if m.Type != "error" {
			return fmt.Errorf("a new player got %q; want an error while the box is full", m.Type)
		}
		if m.Code != protocol.CodeServerFull {
			t.Fatalf("refused with %q (%s); want %s", m.Code, m.Message, protocol.CodeServerFull)
		}
		if ce := c.WaitClose(5 * time.Second); ce == nil || ce.Code != websocket.CloseTryAgainLater {
			t.Fatalf("closed with %v; want 1013", ce)
		}
		return nil
	})
	if n := metric(t, srv, `arena_connections_refused_total{reason="server_full"}`); n < 1 {
		t.Errorf("server_full refusals counted: %v", n)
	}
	if resp, err := http.Get(srv.URL + "/readyz"); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d while full; want 503", resp.StatusCode)
	}

	// The player who was in keeps playing, and may come back.
	player.WaitFor(5*time.Second, "a state while the box is full", func(m *arenatest.Message) bool {
		return m.Type == "state_update"
	})
	player.Conn.Close()
	back := arenatest.Dial(t, srv.WSURL+"?room=full&token="+init.Token, nil)
	if m := back.Init(); m.ID != init.ID {
		t.Errorf("resumed as %q; want %q", m.ID, init.ID)
	}

	stopBurning()
	arenatest.Eventually(t, 15*time.Second, 100*time.Millisecond, func() error {
		m, c, err := newPlayer()
		if err != nil {
			return err
		}
		defer c.Conn.Close()
		if m.Type != "init" {
			return fmt.Errorf("a new player got %q %q once the CPU was free again", m.Type, m.Code)
		}
		return nil
	})
}
