package e2e

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
)

// authSocket is one connection the fake server took: its URL's query and
// its first message, an auth message taken apart.
type authSocket struct {
	query          url.Values
	kind           byte
	access, resume string
	conn           *websocket.Conn
}

// fakeArena accepts WebSockets the way arena does (arena.v1.bin) and hands
// each, with its first message read, to the test.
func fakeArena(t *testing.T) (string, chan *authSocket) {
	t.Helper()
	ch := make(chan *authSocket, 8)
	up := websocket.Upgrader{Subprotocols: []string{protocol.SubprotocolBinary}, CheckOrigin: func(*http.Request) bool { return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s := &authSocket{query: r.URL.Query(), conn: c}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				c.Close()
				return
			}
			if len(b) > 0 && b[0] == 0x02 {
				continue // a ping before the auth message would be a bug; caught below by kind
			}
			s.kind = b[0]
			if b[0] == 0x07 {
				rest := b[1:]
				s.access, rest = readString(rest)
				if len(rest) > 0 {
					s.resume, _ = readString(rest)
				}
			}
			break
		}
		c.SetReadDeadline(time.Time{})
		ch <- s
		go func() { // drain: pings and inputs until the close
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func readString(b []byte) (string, []byte) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "<bad>", nil
	}
	return string(b[k : k+int(n)]), b[k+int(n):]
}

func (s *authSocket) refuse(code, message string, close int) {
	s.conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryError(nil, &protocol.Error{Code: code, Message: message}))
	s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(close, message), time.Now().Add(time.Second))
	s.conn.Close()
}

// welcome welcomes the player as account id, named name: the welcome's
// flag bit 2 and the two strings after its kinds (docs/protocol.md).
func (s *authSocket) welcome(room, token, id, name string) {
	w := protocol.Welcome{Player: 7, TickRate: 20, World: game.World{Width: 500, Height: 500}, Room: room, Mode: "dots", Token: token, Kinds: dots.Kinds}
	b := protocol.AppendBinaryWelcome(nil, w)
	i := 1
	for range 5 { // version, player, tick rate, width, height
		_, n := binary.Uvarint(b[i:])
		i += n
	}
	b[i] |= 1 << 2
	for _, v := range []string{id, name} {
		b = append(binary.AppendUvarint(b, uint64(len(v))), v...)
	}
	s.conn.WriteMessage(websocket.BinaryMessage, b)
}

func nextSocket(t *testing.T, ch chan *authSocket, what string) *authSocket {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("no connection: %s", what)
		return nil
	}
}

// TestAuthSDKConnectionReauthenticates: a Client given an Auth opens
// every socket with ?auth=1 and the auth message first (no token in the
// URL); refused with auth_failed, it refreshes and tries once more at
// once; a reconnect after a drop asks for a fresh token again (refreshed,
// as it is about to lapse) and carries the resume token in the auth
// message; signed_out ends it for good, said so in the status.
func TestAuthSDKConnectionReauthenticates(t *testing.T) {
	tb := openSDKHarness(t)
	wsURL, socks := fakeArena(t)
	eval[bool](tb, fmt.Sprintf(`(async () => {
		const auth = fake.auth();
		await auth.guest();
		window.statuses = [];
		window.welcomes = [];
		const game = new sdk.Client({ server: %q, auth });
		game.on('status', (s) => statuses.push(s));
		game.on('welcome', (w) => welcomes.push(w));
		game.conn.random = () => 0; // reconnect at once
		game.join({ room: 'r1' });
		window.game = game;
		return true;
	})()`, wsURL))

	s1 := nextSocket(t, socks, "the first join")
	if s1.query.Get("auth") != "1" || s1.query.Has("resume") || s1.kind != 0x07 || s1.access != "a1" || s1.resume != "" {
		t.Fatalf("first socket: query %v, first message %#x %q %q; want ?auth=1 and auth a1", s1.query, s1.kind, s1.access, s1.resume)
	}
	for k, v := range s1.query {
		if v[0] == "a1" || k == "token" {
			t.Errorf("the token is in the URL: %v", s1.query)
		}
	}
	s1.refuse("auth_failed", "the access token has expired", websocket.ClosePolicyViolation)

	s2 := nextSocket(t, socks, "the retry after auth_failed")
	if s2.access != "a2" {
		t.Fatalf("after auth_failed the client came back with %q; want a2, refreshed for it", s2.access)
	}
	s2.welcome("r1", "res-1", "acct", "guest-2")
	waitFor(tb, "the welcome", `window.game.connected && welcomes.length === 1`, 5*time.Second)
	if got := eval[string](tb, `JSON.stringify([welcomes[0].account, window.game.account])`); got != `[{"id":"acct","name":"guest-2"},{"id":"acct","name":"guest-2"}]` {
		t.Errorf("the welcome's account: %s", got)
	}
	if n := eval[int](tb, `fake.count('/api/auth/refresh')`); n != 1 {
		t.Errorf("%d refreshes after one auth_failed; want 1", n)
	}
	eval[bool](tb, `(fake.now += 800e3, true)`) // the token a2 is near its end
	s2.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "room crashed"), time.Now().Add(time.Second))
	s2.conn.Close()

	s3 := nextSocket(t, socks, "the reconnect")
	if s3.query.Get("auth") != "1" || s3.query.Has("resume") || s3.access != "a3" || s3.resume != "res-1" {
		t.Fatalf("reconnect: query %v, auth %q resume %q; want ?auth=1, a fresh a3 and the resume token res-1 in the message", s3.query, s3.access, s3.resume)
	}
	s3.welcome("r1", "res-2", "acct", "guest-3")
	waitFor(tb, "the second welcome", `welcomes.length === 2`, 5*time.Second)
	// As server.CloseAccount ends a live session: signed_out, 4004.
	s3.refuse("signed_out", "you signed out everywhere", 4004)
	waitFor(tb, "a final close", `statuses.some((s) => s.state === 'closed' && s.final)`, 5*time.Second)
	got := eval[string](tb, `JSON.stringify(statuses.filter((s) => s.final).map((s) => [s.code, s.detail]))`)
	if got != `[[4004,"you signed out everywhere"]]` {
		t.Errorf("final statuses %s; want 4004", got)
	}
	select {
	case s := <-socks:
		t.Errorf("the client connected again after signed_out: %v", s.query)
	case <-time.After(700 * time.Millisecond):
	}
}

// TestAuthSDKLostSessionIsFinal: when the refresh before a connection is
// refused (the session ended elsewhere), the client opens no socket and
// stops for good with signed_out, rather than trying again forever.
func TestAuthSDKLostSessionIsFinal(t *testing.T) {
	tb := openSDKHarness(t)
	wsURL, socks := fakeArena(t)
	got := eval[string](tb, fmt.Sprintf(`(async () => {
		const auth = fake.auth();
		await auth.guest();
		fake.n++; // its refresh token is spent elsewhere
		fake.now += 890e3; // and its access token all but lapsed
		const statuses = [];
		const game = new sdk.Client({ server: %q, auth });
		game.on('status', (s) => statuses.push(s));
		game.join({ room: 'r1' });
		for (let i = 0; i < 100 && !statuses.some((s) => s.final); i++) await new Promise((r) => setTimeout(r, 20));
		return JSON.stringify(statuses.filter((s) => s.final).map((s) => [s.state, s.error]).concat([auth.kept()]));
	})()`, wsURL))
	if got != `[["closed","signed_out"],false]` {
		t.Errorf("final statuses and whether a token is kept: %s; want closed signed_out, none kept", got)
	}
	select {
	case s := <-socks:
		t.Errorf("a socket opened without a session: %v", s.query)
	case <-time.After(300 * time.Millisecond):
	}
}
