package server_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
)

// wsDialFrom opens a seed-protocol WebSocket from the local address ip, so
// that an attacker (127.0.0.1) and a victim (127.0.0.2) are told apart.
func wsDialFrom(t *testing.T, ip, url string) *websocket.Conn {
	t.Helper()
	nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDialContext: nd.DialContext}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", url, ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// watchStates reads states on conn until ctx ends and returns how many came
// and the longest gap between two.
func watchStates(ctx context.Context, conn *websocket.Conn) (states int, maxGap time.Duration, err error) {
	last := time.Now()
	for ctx.Err() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, data, err := conn.ReadMessage()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue // gorilla's timeouts are final, but ctx decides when we stop
		}
		if err != nil {
			return states, maxGap, err
		}
		if strings.Contains(string(data), `"state_update"`) {
			now := time.Now()
			maxGap = max(maxGap, now.Sub(last))
			last = now
			states++
		}
	}
	return states, maxGap, nil
}

// TestPingFloodIsClosed: ping frames count toward the message rate, so a
// client sending them as fast as it can is closed with 1008 while a player
// in another room plays on.
func TestPingFloodIsClosed(t *testing.T) {
	// Not parallel: its load would disturb the timing tests that are.
	srv := arenatest.Start(t, arenatest.Options{})
	victim := wsDialFrom(t, "127.0.0.2", srv.WSURL+"?room=victim")
	attacker := wsDialFrom(t, "127.0.0.1", srv.WSURL+"?room=attack")

	closed := make(chan error, 1)
	go func() {
		for {
			_ = attacker.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := attacker.ReadMessage(); err != nil {
				closed <- err
				return
			}
		}
	}()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if attacker.WriteControl(websocket.PingMessage, []byte("flood"), time.Now().Add(time.Second)) != nil {
				return
			}
		}
	}()

	// The victim keeps watching well past the attacker's end.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	type watched struct {
		states int
		gap    time.Duration
		err    error
	}
	victimDone := make(chan watched, 1)
	go func() {
		n, gap, err := watchStates(ctx, victim)
		victimDone <- watched{n, gap, err}
	}()

	var ce *websocket.CloseError
	select {
	case err := <-closed:
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "too many") {
			t.Fatalf("the ping flooder ended with %v; want a 1008 close for too many messages", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ping flooder is still connected after 5s")
	}
	// Give the victim a second after the attacker's end, then stop it.
	time.AfterFunc(time.Second, cancel)
	w := <-victimDone
	if w.err != nil || w.states < 10 {
		t.Fatalf("victim got %d states, then %v; want states throughout", w.states, w.err)
	}
	if w.gap > 500*time.Millisecond {
		t.Errorf("victim saw a %v gap between states", w.gap)
	}
}
