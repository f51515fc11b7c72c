package server_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// readBinary reads one arena.v1.bin server message of a dots room.
func readBinary(t *testing.T, conn *websocket.Conn) protocol.ServerMessage {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m protocol.ServerMessage
	m.Welcome.Kinds = dots.Kinds // as the welcome, which may be an earlier message's, said
	if err := protocol.ParseServerBinary(&m, data); err != nil {
		t.Fatalf("decode %x: %v", data, err)
	}
	return m
}

// resumeBinary opens a ?resume=1 connection, presents token first and
// returns the connection and the first message after it.
func resumeBinary(t *testing.T, srv *arenatest.Server, token string) (*websocket.Conn, protocol.ServerMessage) {
	t.Helper()
	conn := dialProtocol(t, srv.WSURL+"?room=r&resume=1", protocol.SubprotocolBinary)
	if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryResume(nil, token)); err != nil {
		t.Fatal(err)
	}
	return conn, readBinary(t, conn)
}

// TestResumeByFirstMessage: the token travels in a resume message after the
// handshake, never in the URL, and every resume rotates it.
func TestResumeByFirstMessage(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	a := dialProtocol(t, srv.WSURL+"?room=r", protocol.SubprotocolBinary)
	first := readBinary(t, a)
	if first.Type != protocol.BinWelcome {
		t.Fatalf("first message %#x; want welcome", first.Type)
	}
	_ = a.NetConn().Close() // the network drops

	b, m := resumeBinary(t, srv, first.Welcome.Token)
	w := m.Welcome
	if m.Type != protocol.BinWelcome || !w.Resumed || w.Player != first.Welcome.Player {
		t.Fatalf("after resume: %+v; want player %d resumed", m, first.Welcome.Player)
	}
	if w.Token == first.Welcome.Token || len(w.Token) < 22 {
		t.Errorf("resumed with token %q; want a fresh one, not %q", w.Token, first.Welcome.Token)
	}
	if m := readBinary(t, b); m.Type != protocol.BinSnapshot || !m.Snapshot.Full {
		t.Errorf("after the welcome: %#x; want a full snapshot", m.Type)
	}

	// The old token is void from then on: it joins a new player.
	_, m = resumeBinary(t, srv, first.Welcome.Token)
	if m.Type != protocol.BinNotice || m.Code != "resume_failed" {
		t.Errorf("resume with the old token: %#x %s; want a resume_failed notice", m.Type, m.Code)
	}

	// The new one works, once, and takes the player over from b.
	_, m = resumeBinary(t, srv, w.Token)
	if m.Type != protocol.BinWelcome || !m.Welcome.Resumed || m.Welcome.Player != w.Player {
		t.Errorf("resume with the new token: %+v; want player %d resumed", m, w.Player)
	}
	var ce *websocket.CloseError
	_ = b.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		if _, _, err := b.ReadMessage(); err != nil {
			if !errors.As(err, &ce) || ce.Code != server.CloseTakenOver {
				t.Errorf("b ended with %v; want %d", err, server.CloseTakenOver)
			}
			break
		}
	}
}

// TestResumeMessageInJSONProtocols: the seed and native JSON protocols take
// the same first message.
func TestResumeMessageInJSONProtocols(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	for _, tc := range []struct{ proto, resume, welcome string }{
		{"", `{"type":"resume","token":%q}`, "init"},
		{protocol.SubprotocolJSON, `{"t":"resume","token":%q}`, "welcome"},
	} {
		a := dialProtocol(t, srv.WSURL+"?room=j", tc.proto)
		var first struct {
			Type, T, Token string
			ID             json.RawMessage
		}
		_ = a.SetReadDeadline(time.Now().Add(3 * time.Second))
		if err := a.ReadJSON(&first); err != nil {
			t.Fatal(err)
		}
		a.NetConn().Close()
		b := dialProtocol(t, srv.WSURL+"?resume=1", tc.proto)
		token, _ := json.Marshal(first.Token)
		msg := strings.Replace(tc.resume, "%q", string(token), 1)
		if err := b.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		var again struct {
			Type, T, Token, Room string
			ID                   json.RawMessage
			Resumed              bool
		}
		_ = b.SetReadDeadline(time.Now().Add(3 * time.Second))
		if err := b.ReadJSON(&again); err != nil {
			t.Fatal(err)
		}
		if again.Type+again.T != tc.welcome || string(again.ID) != string(first.ID) || again.Room != "j" || again.Token == first.Token {
			t.Errorf("%s: resumed %+v; want %s of %s in j with a new token", cmp.Or(tc.proto, "seed"), again, tc.welcome, first.ID)
		}
	}
}

// TestResumeFirstOrRefused: with ?resume=1 the first message must be resume,
// within the handshake timeout; later resumes are answered with an error.
func TestResumeFirstOrRefused(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.HandshakeTimeout = 300 * time.Millisecond
	}})

	silent := dialProtocol(t, srv.WSURL+"?resume=1", protocol.SubprotocolBinary)
	if m := readBinary(t, silent); m.Type != protocol.BinError || m.Code != protocol.CodeBadRequest || !strings.Contains(m.Message, "no resume message") {
		t.Errorf("silent client got %#x %s %q; want a bad_request about the missing resume", m.Type, m.Code, m.Message)
	}
	waitEOF(t, silent, 2500*time.Millisecond)
	if n := metric(t, srv, `arena_connections_refused_total{reason="resume_timeout"}`); n != 1 {
		t.Errorf("resume_timeout refusals: %v; want 1", n)
	}

	wrong := dialProtocol(t, srv.WSURL+"?resume=1", protocol.SubprotocolBinary)
	_ = wrong.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryInput(nil, 1, 0, 0))
	if m := readBinary(t, wrong); m.Type != protocol.BinError || m.Code != protocol.CodeBadRequest || !strings.Contains(m.Message, "resume first") {
		t.Errorf("input first got %#x %s %q; want a bad_request", m.Type, m.Code, m.Message)
	}
	waitEOF(t, wrong, 2500*time.Millisecond)

	late := dialProtocol(t, srv.WSURL, protocol.SubprotocolBinary)
	if m := readBinary(t, late); m.Type != protocol.BinWelcome {
		t.Fatalf("first message %#x; want welcome", m.Type)
	}
	_ = late.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryResume(nil, "AAAAAAAAAAAAAAAAAAAAAA"))
	for {
		m := readBinary(t, late)
		if m.Type == protocol.BinError {
			if m.Code != protocol.CodeUnexpectedResume {
				t.Errorf("late resume answered %s; want %s", m.Code, protocol.CodeUnexpectedResume)
			}
			break
		}
	}
	if m := readBinary(t, late); m.Type != protocol.BinSnapshot {
		t.Errorf("after the error: %#x; want play to go on", m.Type)
	}
}

// TestTokenInURLStillResumes: ?token= works for a deprecation window, and
// is counted.
func TestTokenInURLStillResumes(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	a := arenatest.Dial(t, srv.WSURL, nil)
	init := a.Init()
	b := arenatest.Dial(t, srv.WSURL+"?token="+init.Token, nil)
	if again := b.Init(); again.ID != init.ID || again.Token == init.Token {
		t.Errorf("resumed as %+v; want %s with a new token", again, init.ID)
	}
	if n := metric(t, srv, `arena_deprecated_requests_total{what="token_query"}`); n != 1 {
		t.Errorf("deprecated token_query: %v; want 1", n)
	}
}
