package server_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

var colorRE = regexp.MustCompile(`^#[0-9a-f]{6}$`)

func TestInitAndStateAtBothPaths(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	for _, path := range []string{"/", "/ws"} {
		c := arenatest.Dial(t, "ws://"+srv.Addr+path, nil)
		init := c.Init()
		if _, isString := init.Raw["id"].(string); !isString || init.ID == "" {
			t.Fatalf("%s: init id %#v is not a non-empty JSON string", path, init.Raw["id"])
		}
		st := c.WaitFor(2*time.Second, "state_update with self", func(m *arenatest.Message) bool {
			_, ok := m.Player(init.ID)
			return m.Type == "state_update" && ok
		})
		me, _ := st.Player(init.ID)
		if me.X < 50 || me.X > 450 || me.Y < 50 || me.Y > 450 {
			t.Errorf("%s: spawned at %d,%d; want within [50,450]", path, me.X, me.Y)
		}
		if !colorRE.MatchString(me.Color) {
			t.Errorf("%s: colour %q is not #rrggbb", path, me.Color)
		}
	}
}

func TestEveryPlayerInEveryState(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	var clients []*arenatest.Client
	var ids []string
	for range 3 {
		c := arenatest.Dial(t, srv.WSURL, nil)
		clients = append(clients, c)
		ids = append(ids, c.Init().ID)
	}
	for i, c := range clients {
		c.WaitFor(2*time.Second, "a state with all three players", func(m *arenatest.Message) bool {
			if m.Type != "state_update" {
				return false
			}
			for _, id := range ids {
				if _, ok := m.Player(id); !ok {
					return false
				}
			}
			for _, p := range m.Players {
				if !colorRE.MatchString(p.Color) {
					t.Errorf("client %d: player %s colour %q", i, p.ID, p.Color)
				}
			}
			return true
		})
	}
}

// position waits for the next state and returns id's position in it.
func position(t *testing.T, c *arenatest.Client, id string) arenatest.SeedPlayer {
	t.Helper()
	m := c.WaitFor(2*time.Second, "state with player "+id, func(m *arenatest.Message) bool {
		_, ok := m.Player(id)
		return m.Type == "state_update" && ok
	})
	p, _ := m.Player(id)
	return p
}

func TestMoveStepsTenAndClamps(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	id := c.Init().ID
	start := position(t, c, id)

	// Like the seed's client: one move per state while the key is held.
	dirs := []struct {
		name   string
		dx, dy int
		wall   int
	}{{"UP", 0, -1, 10}, {"LEFT", -1, 0, 10}, {"DOWN", 0, 1, 490}, {"RIGHT", 1, 0, 490}}
	prev := start
	for _, d := range dirs {
		for step := 0; ; step++ {
			if step > 60 {
				t.Fatalf("%s: never reached the wall", d.name)
			}
			c.Move(d.name)
			p := position(t, c, id)
			dx, dy := p.X-prev.X, p.Y-prev.Y
			if dx*d.dy != 0 || dy*d.dx != 0 || dx*d.dx < 0 || dy*d.dy < 0 || dx*dx+dy*dy > 100 {
				t.Fatalf("%s: moved by %d,%d; want at most 10 along the direction", d.name, dx, dy)
			}
			prev = p
			coord := p.X
			if d.dy != 0 {
				coord = p.Y
			}
			if coord == d.wall {
				break
			}
		}
		// At the wall a move changes nothing.
		c.Move(d.name)
		p := position(t, c, id)
		p = position(t, c, id)
		if p != prev {
			t.Errorf("%s: moved past the wall to %d,%d", d.name, p.X, p.Y)
		}
	}
}

func TestBurstOfMovesIsOneStepPerTick(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	id := c.Init().ID
	start := position(t, c, id)
	dir, sign := "RIGHT", 1
	if start.X > 250 {
		dir, sign = "LEFT", -1
	}
	for range 40 {
		c.Move(dir)
	}
	prev := start
	for range 20 {
		p := position(t, c, id)
		if d := (p.X - prev.X) * sign; d != 0 && d != 10 {
			t.Fatalf("moved %d px between two states; want 0 or 10", d)
		}
		prev = p
	}
	// The seed jumped 400 px; arena applies what fits its small input
	// buffer, one step per tick.
	if moved := (prev.X - start.X) * sign; moved > 60 {
		t.Errorf("a burst of 40 moves went %d px; want at most 60", moved)
	}
}

func TestDisconnectedPlayerIsGoneFromNextState(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	a := arenatest.Dial(t, srv.WSURL, nil)
	b := arenatest.Dial(t, srv.WSURL, nil)
	idA := a.Init().ID
	b.Init()
	position(t, b, idA)
	_ = a.Conn.NetConn().Close() // no close frame: the network dropped
	b.WaitFor(2*time.Second, "a state without the dropped player", func(m *arenatest.Message) bool {
		_, ok := m.Player(idA)
		return m.Type == "state_update" && !ok
	})
	for range 5 {
		m := b.WaitFor(time.Second, "state", func(m *arenatest.Message) bool { return m.Type == "state_update" })
		if _, ok := m.Player(idA); ok {
			t.Fatal("the dropped player came back")
		}
	}
}

func TestBadInputIsAnsweredAndHarmsNobody(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.ErrorBurst = 100 }})
	bad := arenatest.Dial(t, srv.WSURL, nil)
	other := arenatest.Dial(t, srv.WSURL, nil)
	id := bad.Init().ID
	otherID := other.Init().ID
	cases := []struct {
		msg  string
		bin  bool
		code string
	}{
		{msg: "{not json", code: "invalid_json"},
		{msg: "[1,2,3]", code: "not_object"},
		{msg: `"move"`, code: "not_object"},
		{msg: `{"direction":"UP"}`, code: "missing_type"},
		{msg: `{"type":"teleport","x":0}`, code: "unknown_type"},
		{msg: `{"type":"move"}`, code: "missing_direction"},
		{msg: `{"type":"move","direction":"NORTH"}`, code: "unknown_direction"},
		{msg: `{"type":"move","direction":"UP","type":"leave"}`, code: "bad_request"},
		{msg: `{"Type":"leave"}`, code: "bad_request"},
		{msg: "\x01\x02\x03", bin: true, code: "binary_unsupported"},
	}
	for _, tc := range cases {
		typ := websocket.TextMessage
		if tc.bin {
			typ = websocket.BinaryMessage
		}
		if err := bad.Conn.WriteMessage(typ, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		e := bad.WaitFor(2*time.Second, "error for "+tc.msg, func(m *arenatest.Message) bool { return m.Type == "error" })
		if e.Code != tc.code || e.Message == "" {
			t.Errorf("%q: got error %q %q; want code %q with a message", tc.msg, e.Code, e.Message, tc.code)
		}
	}
	// Still connected and playable.
	start := position(t, bad, id)
	dir, sign := "DOWN", 1
	if start.Y > 250 {
		dir, sign = "UP", -1
	}
	bad.Move(dir)
	bad.WaitFor(2*time.Second, "the move after bad input", func(m *arenatest.Message) bool {
		p, ok := m.Player(id)
		return ok && (p.Y-start.Y)*sign == 10
	})
	// The other player saw all of it as ordinary states at the full rate.
	n, deadline := 0, time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		m, err := other.Read(time.Until(deadline) + 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != "state_update" {
			t.Fatalf("other player got %s %s", m.Type, m.Code)
		}
		if _, ok := m.Player(otherID); ok {
			n++
		}
	}
	if n < 18 {
		t.Errorf("other player got %d states in a second; want about 20", n)
	}
}

func TestErrorAnswersAreRateLimited(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	id := c.Init().ID
	for range 60 {
		c.Send("garbage")
	}
	c.Move("UP")
	errs := 0
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		m, err := c.Read(time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == "error" {
			errs++
		}
	}
	cfg := server.DefaultConfig()
	if errs == 0 || errs > cfg.ErrorBurst+3 {
		t.Errorf("%d error answers to 60 bad messages; want between 1 and about %d", errs, cfg.ErrorBurst)
	}
	position(t, c, id) // still open
}

func TestOversizedMessageCloses1009(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	other := arenatest.Dial(t, srv.WSURL, nil)
	c.Init()
	otherID := other.Init().ID
	c.Send(`{"type":"move","direction":"UP","pad":"` + strings.Repeat("x", 5000) + `"}`)
	ce := c.WaitClose(3 * time.Second)
	if ce.Code != websocket.CloseMessageTooBig || ce.Text == "" {
		t.Errorf("closed with %d %q; want 1009 with a reason", ce.Code, ce.Text)
	}
	position(t, other, otherID)
}

func TestFloodCloses1008(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	c.Init()
	for i := 0; i < 1000; i++ {
		if err := c.Conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"move","direction":"UP"}`)); err != nil {
			break // closed under us: expected
		}
	}
	ce := c.WaitClose(5 * time.Second)
	if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "too many") {
		t.Errorf("closed with %d %q; want 1008 too many messages", ce.Code, ce.Text)
	}
}

func TestSteadyMovesAreNotAFlood(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	id := c.Init().ID
	// Three seconds of the seed client's key repeat (20/s) plus more.
	for range 60 {
		c.Move("UP")
		position(t, c, id)
	}
}

func TestClientThatStopsReadingIsDisconnected(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.PingInterval = 200 * time.Millisecond
		c.PongTimeout = time.Second
	}})
	watcher := arenatest.Dial(t, srv.WSURL, nil)
	watcher.Init()
	// The deaf client never reads, so it never answers a ping.
	arenatest.Dial(t, srv.WSURL, nil)
	watcher.WaitFor(2*time.Second, "two players", func(m *arenatest.Message) bool { return len(m.Players) == 2 })
	start := time.Now()
	watcher.WaitFor(5*time.Second, "the deaf client gone", func(m *arenatest.Message) bool {
		return m.Type == "state_update" && len(m.Players) == 1
	})
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("deaf client dropped after %v, before its pong timeout", took)
	}
}

// TestPingsKeepTheirInterval checks the keepalive: while states flow, a ping
// rides along with a state once the interval has passed, no more often; when
// states come less often than pings are due, the fallback timer sends them.
func TestPingsKeepTheirInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tickRate int
	}{
		{"with states every tick", 20},
		{"with states once a second", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const interval = 200 * time.Millisecond
			srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
				c.Room.TickRate = tc.tickRate
				c.PingInterval = interval
				c.PongTimeout = 5 * interval
			}})
			c := arenatest.Dial(t, srv.WSURL, nil)
			var mu sync.Mutex
			var pings []time.Time
			c.Conn.SetPingHandler(func(data string) error {
				mu.Lock()
				pings = append(pings, time.Now())
				mu.Unlock()
				return c.Conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
			})
			c.Init()
			end := time.Now().Add(8 * interval)
			for time.Now().Before(end) {
				if _, err := c.Read(time.Until(end) + 2*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			// About 8 in the window; the fallback sends one every 1.25
			// intervals, about 6.
			if len(pings) < 4 || len(pings) > 9 {
				t.Errorf("%d pings in %v with a %v interval; want 4 to 9", len(pings), 8*interval, interval)
			}
			for i := 1; i < len(pings); i++ {
				if gap := pings[i].Sub(pings[i-1]); gap < interval*9/10 {
					t.Errorf("pings %v apart; the interval is %v", gap.Round(time.Millisecond), interval)
				}
			}
		})
	}
}

func TestTickRateHoldsForTenSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 10 s")
	}
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	id := c.Init().ID
	// A client that never reads and one that floods with garbage must not
	// slow anyone else down.
	arenatest.Dial(t, srv.WSURL, nil)
	noisy := arenatest.Dial(t, srv.WSURL, nil)
	go func() {
		for range 150 {
			if noisy.Conn.WriteMessage(websocket.TextMessage, []byte("}{")) != nil {
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
	}()
	position(t, c, id)
	n := 0
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		m, err := c.Read(time.Until(end) + 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == "state_update" && time.Now().Before(end) {
			n++
		}
	}
	if n < 198 || n > 202 {
		t.Errorf("%d state updates in 10 s; want 200 ± 1%%", n)
	}
}

func TestOriginPolicy(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.AllowedOrigins = []string{"https://games.example"}
	}})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"null", true},
		{"http://" + srv.Addr, true},
		{"https://games.example", true},
		{"https://evil.example", false},
		{"http://127.0.0.1:1", false},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, err := arenatest.TryDial(t, srv.WSURL, h)
		if tc.ok && err != nil {
			t.Errorf("origin %q refused: %v", tc.origin, err)
		}
		if !tc.ok {
			if err == nil {
				t.Errorf("origin %q accepted", tc.origin)
			} else if c == nil || c.Resp == nil || c.Resp.StatusCode != http.StatusForbidden {
				t.Errorf("origin %q: %v; want HTTP 403", tc.origin, err)
			}
		}
	}
}

func TestNullOriginCanBeRefused(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.AllowNullOrigin = false }})
	if _, err := arenatest.TryDial(t, srv.WSURL, http.Header{"Origin": {"null"}}); err == nil {
		t.Error("Origin: null accepted with AllowNullOrigin off")
	}
}

func TestShutdownClosesWith1001(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	var clients []*arenatest.Client
	for range 5 {
		c := arenatest.Dial(t, srv.WSURL, nil)
		c.Init()
		clients = append(clients, c)
	}
	start := time.Now()
	go srv.Stop(t)
	for i, c := range clients {
		ce := c.WaitClose(5 * time.Second)
		if ce.Code != websocket.CloseGoingAway || ce.Text == "" {
			t.Errorf("client %d closed with %d %q; want 1001 with a reason", i, ce.Code, ce.Text)
		}
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v", took)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	for _, tc := range []struct {
		path, contentType, contains string
		status                      int
	}{
		{"/", "text/html", "<", 200},
		{"/healthz", "application/json", `"ok"`, 200},
		{"/readyz", "application/json", `"ready"`, 200},
		{"/ws", "text/plain", "WebSocket", http.StatusUpgradeRequired},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d %s %q; want %d %s containing %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.contentType, tc.contains)
		}
	}
}

func TestBadNicknameIsRefusedWithReason(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL+"?name="+strings.Repeat("n", 40), nil)
	m, err := c.Read(2 * time.Second)
	if err != nil || m.Type != "error" || m.Code != "bad_request" {
		t.Fatalf("got %+v, %v; want a bad_request error", m, err)
	}
	if ce := c.WaitClose(2 * time.Second); ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("closed with %d; want 1008", ce.Code)
	}
}

func TestCompressedSeedStates(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	d := websocket.Dialer{EnableCompression: true}
	conn, resp, err := d.Dial(srv.WSURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
		t.Fatalf("compression not negotiated: %q", ext)
	}
	var states int
	for states < 3 {
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		var m arenatest.Message
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "state_update" && len(m.Players) == 1 {
			states++
		}
	}
}

// TestMessagesUpToTheLimitAreRead: a session's read buffer starts small
// and grows, so a message of exactly MaxMessageBytes, read in many
// pieces, is taken, and the connection goes on.
func TestMessagesUpToTheLimitAreRead(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL, nil)
	id := c.Init().ID
	max := server.DefaultConfig().MaxMessageBytes
	msg := `{"type":"move","direction":"UP","pad":"`
	msg += strings.Repeat("x", max-len(msg)-2) + `"}`
	if len(msg) != max {
		t.Fatalf("built a message of %d bytes", len(msg))
	}
	for range 3 {
		c.Send(msg)
	}
	c.Send(`{"type":"move","direction":"DOWN"}`)
	position(t, c, id) // still open, and still playing
}
