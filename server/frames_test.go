package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// maskedFrame is a client frame (RFC 6455, section 5.2) written by hand,
// for what gorilla's writer will not send: opcode op (with RSV1 for a
// compressed one), FIN if fin, masked with a key of zeros (the mask bit is
// what the server checks).
func maskedFrame(op byte, fin bool, payload string) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var b []byte
	switch n := len(payload); {
	case n < 126:
		b = []byte{b0, 0x80 | byte(n)}
	case n <= 0xffff:
		b = []byte{b0, 0x80 | 126, byte(n >> 8), byte(n)}
	default:
		panic("maskedFrame writes frames up to 64 KiB")
	}
	return append(append(b, 0, 0, 0, 0), payload...)
}

const (
	opContinuation = 0x0
	opText         = 0x1
	rsv1           = 0x40 // permessage-deflate: the message is compressed
)

// closeOf reads conn until it ends and sends why on the returned channel.
func closeOf(conn *websocket.Conn, within time.Duration) <-chan error {
	closed := make(chan error, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(within))
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				closed <- err
				return
			}
		}
	}()
	return closed
}

// wantPolicyClose fails unless err is a 1008 close whose text has text.
func wantPolicyClose(t *testing.T, err error, text string) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, text) {
		t.Fatalf("ended with %v; want a 1008 close for %q", err, text)
	}
}

// waitMetric waits for a sample of /metrics to reach want.
func waitMetric(t *testing.T, srv *arenatest.Server, sample string, want float64) {
	t.Helper()
	arenatest.Eventually(t, 3*time.Second, 20*time.Millisecond, func() error {
		if got := metric(t, srv, sample); got != want {
			return fmt.Errorf("%s is %v; want %v", sample, got, want)
		}
		return nil
	})
}

// TestFragmentFloodIsClosed: a client that sends a text frame without FIN,
// then empty continuation frames as fast as it can, is charged a token a
// frame and closed with 1008, while a player in another room, from another
// address, plays on. Gorilla reads the empty frames inside its Read: before
// the server counted frames, this client kept a core busy and counted as
// no message at all.
func TestFragmentFloodIsClosed(t *testing.T) {
	// Not parallel: its load would disturb the timing tests that are.
	srv := arenatest.Start(t, arenatest.Options{})
	victim := wsDialFrom(t, "127.0.0.2", srv.WSURL+"?room=victim")
	attacker := wsDialFrom(t, "127.0.0.1", srv.WSURL+"?room=attack")
	closed := closeOf(attacker, 5*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	attacked := make(chan struct{})
	go func() {
		defer close(attacked)
		nc := attacker.NetConn()
		_ = nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := nc.Write(maskedFrame(opText, false, `{"type":`)); err != nil {
			return
		}
		flood := bytes.Repeat(maskedFrame(opContinuation, false, ""), 4096)
		for ctx.Err() == nil {
			if _, err := nc.Write(flood); err != nil {
				return // closed under us: expected
			}
		}
	}()
	victimDone := make(chan watched, 1)
	go func() { victimDone <- watchUntil(ctx, victim) }()

	select {
	case err := <-closed:
		wantPolicyClose(t, err, "too many frames")
	case <-time.After(5 * time.Second):
		t.Fatal("the fragment flooder is still connected after 5s")
	}
	waitMetric(t, srv, `arena_disconnects_total{reason="frame_flood"}`, 1)
	// Give the victim a second after the attacker's end, then stop it.
	time.AfterFunc(time.Second, cancel)
	w := <-victimDone
	<-attacked
	if w.err != nil || w.states < 10 {
		t.Fatalf("victim got %d states, then %v; want states throughout", w.states, w.err)
	}
	if w.gap > 500*time.Millisecond {
		t.Errorf("victim saw a %v gap between states", w.gap)
	}
}

// watched is what watchUntil saw.
type watched struct {
	states int
	gap    time.Duration
	err    error
}

// watchUntil reads states on conn until ctx ends, and returns how many
// came and the longest gap between two. Unlike watchStates it reads
// without a deadline of its own, but ctx's, a second late: states flow
// all the time, and gorilla panics on a thousand reads after a timeout.
func watchUntil(ctx context.Context, conn *websocket.Conn) watched {
	var w watched
	deadline, _ := ctx.Deadline()
	_ = conn.SetReadDeadline(deadline.Add(time.Second))
	last := time.Now()
	for ctx.Err() == nil {
		_, data, err := conn.ReadMessage()
		if err != nil {
			w.err = err
			return w
		}
		if strings.Contains(string(data), `"state_update"`) {
			now := time.Now()
			w.gap = max(w.gap, now.Sub(last))
			last = now
			w.states++
		}
	}
	return w
}

// TestSlowFragmentedMessageIsClosed: a message whose continuation frames
// trickle in, each well under the message rate, but which never ends, is
// closed with 1008 once it has been open for HandshakeTimeout.
func TestSlowFragmentedMessageIsClosed(t *testing.T) {
	t.Parallel()
	const bound = time.Second
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.HandshakeTimeout = bound }})
	attacker := wsDialFrom(t, "127.0.0.1", srv.WSURL+"?room=trickle")
	closed := closeOf(attacker, 5*time.Second)

	nc := attacker.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := nc.Write(maskedFrame(opText, false, `{"type":`)); err != nil {
		t.Fatal(err)
	}
	// A frame every 50 ms is 20 a second, a fifth of the message rate.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-closed:
			took := time.Since(start)
			wantPolicyClose(t, err, "message not finished in time")
			if took < bound {
				t.Errorf("closed %v after the message began; want no sooner than %v", took, bound)
			}
			waitMetric(t, srv, `arena_disconnects_total{reason="slow_message"}`, 1)
			return
		case <-tick.C:
			if _, err := nc.Write(maskedFrame(opContinuation, false, "")); err != nil {
				t.Logf("write: %v", err) // the server has closed: the close frame follows
			}
		}
	}
}

// TestFragmentedMessagesArePlayed: a message sent in fragments, with a
// ping between them and pauses that span several reads, is played like
// any other, and the time it took is not held against the next ones.
func TestFragmentedMessagesArePlayed(t *testing.T) {
	t.Parallel()
	const bound = time.Second
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.HandshakeTimeout = bound }})
	c := arenatest.Dial(t, srv.WSURL, nil)
	id := c.Init().ID
	nc := c.Conn.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	// send writes a seed move in three frames, a ping between the first
	// two, pausing between writes so that they come in separate reads.
	send := func(direction string) {
		msg := `{"type":"move","direction":"` + direction + `"}`
		frames := [][]byte{
			maskedFrame(opText, false, msg[:5]),
			maskedFrame(websocket.PingMessage, true, "hi"),
			maskedFrame(opContinuation, false, msg[5:12]),
			maskedFrame(opContinuation, true, msg[12:]),
		}
		for _, f := range frames {
			if _, err := nc.Write(f); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // pacing the client, not waiting for the server
		}
	}
	// move sends a fragmented move away from the nearest wall, and waits
	// for the server to play it.
	move := func(from arenatest.SeedPlayer, vertical bool) arenatest.SeedPlayer {
		t.Helper()
		coord := func(p arenatest.SeedPlayer) int { return p.X }
		direction, sign := "RIGHT", 1
		if vertical {
			coord = func(p arenatest.SeedPlayer) int { return p.Y }
			direction = "DOWN"
		}
		if coord(from) > 250 {
			direction, sign = map[bool]string{false: "LEFT", true: "UP"}[vertical], -1
		}
		send(direction)
		m := c.WaitFor(3*time.Second, "the fragmented move "+direction+" played", func(m *arenatest.Message) bool {
			p, ok := m.Player(id)
			return m.Type == "state_update" && ok && (coord(p)-coord(from))*sign > 0
		})
		p, _ := m.Player(id)
		return p
	}

	began := time.Now()
	p := move(position(t, c, id), true)
	// Play on past the bound from the first message's start: its deadline
	// must be gone with it.
	c.WaitFor(3*time.Second, "a state past the bound", func(m *arenatest.Message) bool {
		return m.Type == "state_update" && time.Since(began) > 2*bound
	})
	move(p, false)
}

// TestEmptyDeflateBlocksAreBounded: a compressed message is bounded by its
// size as sent, not only once inflated. Empty deflate blocks inflate to
// nothing: a client sending a message of nothing but those made the server
// inflate as much as it sent, and answered the empty message.
func TestEmptyDeflateBlocksAreBounded(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: true}
	conn, resp, err := d.Dial(srv.WSURL+"?room=deflate", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !strings.Contains(resp.Header.Get("Sec-Websocket-Extensions"), "permessage-deflate") {
		t.Fatal("the server did not accept permessage-deflate")
	}
	closed := closeOf(conn, 5*time.Second)
	// A stored block, not the last, of no bytes: 5 bytes that inflate to
	// nothing. 12,000 of them are 60,000 bytes, well past twice the
	// largest message (4 KiB). The last block's length goes unsent, as
	// permessage-deflate wants (RFC 7692, section 7.2.1): the message is
	// valid, and empty.
	empty := strings.Repeat("\x00\x00\x00\xff\xff", 12000) + "\x00"
	_ = conn.NetConn().SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.NetConn().Write(maskedFrame(rsv1|opText, true, empty)); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := <-closed; !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("ended with %v; want a 1009 close", err)
	}
	waitMetric(t, srv, `arena_disconnects_total{reason="too_big"}`, 1)
}
