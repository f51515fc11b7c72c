package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// nativeClient speaks arena.v1.bin and keeps the world as the deltas build
// it, exactly as a real client must.
type nativeClient struct {
	t       *testing.T
	conn    *websocket.Conn
	welcome protocol.Welcome
	world   []game.Entity
	tick    uint64
	ack     uint32
	fulls   int
	msg     protocol.ServerMessage
	bytes   int
}

func dialNative(t *testing.T, url string) *nativeClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	if conn.Subprotocol() != protocol.SubprotocolBinary {
		t.Fatalf("negotiated %q", conn.Subprotocol())
	}
	c := &nativeClient{t: t, conn: conn}
	c.next(5 * time.Second)
	if c.msg.Type != protocol.BinWelcome {
		t.Fatalf("first message type %#x; want welcome", c.msg.Type)
	}
	c.welcome = c.msg.Welcome
	return c
}

// next reads one message and applies it if it is a snapshot.
func (c *nativeClient) next(timeout time.Duration) *protocol.ServerMessage {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	typ, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.BinaryMessage {
		c.t.Fatalf("got a text message %q", data)
	}
	c.bytes += len(data)
	if err := protocol.ParseServerBinary(&c.msg, data); err != nil {
		c.t.Fatalf("decode %x: %v", data, err)
	}
	if c.msg.Type == protocol.BinSnapshot {
		h := c.msg.Snapshot
		var base []game.Entity
		if h.Full {
			c.fulls++
		} else {
			if h.Base != c.tick {
				c.t.Fatalf("delta from tick %d, but the last state was %d: the chain broke", h.Base, c.tick)
			}
			base = c.world
		}
		c.world = protocol.ApplyDecoded(nil, base, &c.msg.Delta, c.msg.Welcome.Kinds)
		c.tick, c.ack = h.Tick, h.Ack
	}
	return &c.msg
}

// waitState reads until ok holds for the world.
func (c *nativeClient) waitState(what string, ok func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if time.Now().After(deadline) {
			c.t.Fatalf("no %s within 3s", what)
		}
		if m := c.next(3 * time.Second); m.Type == protocol.BinSnapshot && ok() {
			return
		}
	}
}

func (c *nativeClient) me() game.Entity {
	for _, e := range c.world {
		if e.ID == uint32(c.welcome.Player) {
			return e
		}
	}
	return game.Entity{}
}

func (c *nativeClient) find(id game.PlayerID) (game.Entity, bool) {
	for _, e := range c.world {
		if e.ID == uint32(id) {
			return e, true
		}
	}
	return game.Entity{}, false
}

func (c *nativeClient) send(data []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, data); err != nil {
		c.t.Fatal(err)
	}
}

func TestSubprotocolNegotiation(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	for _, tc := range []struct {
		ask  []string
		want string
	}{
		{nil, ""},
		{[]string{protocol.SubprotocolJSON}, protocol.SubprotocolJSON},
		{[]string{protocol.SubprotocolBinary}, protocol.SubprotocolBinary},
		{[]string{"other", protocol.SubprotocolJSON, protocol.SubprotocolBinary}, protocol.SubprotocolBinary},
	} {
		d := websocket.Dialer{Subprotocols: tc.ask}
		conn, _, err := d.Dial(srv.WSURL, nil)
		if err != nil {
			t.Fatalf("%v: %v", tc.ask, err)
		}
		if conn.Subprotocol() != tc.want {
			t.Errorf("asked %v, got %q; want %q", tc.ask, conn.Subprotocol(), tc.want)
		}
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		typ, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		switch tc.want {
		case "":
			if typ != websocket.TextMessage || !strings.HasPrefix(string(data), `{"type":"init"`) {
				t.Errorf("seed client got %s", data)
			}
		case protocol.SubprotocolJSON:
			if typ != websocket.TextMessage || !strings.HasPrefix(string(data), `{"t":"welcome"`) {
				t.Errorf("json client got %s", data)
			}
		case protocol.SubprotocolBinary:
			if typ != websocket.BinaryMessage || data[0] != protocol.BinWelcome {
				t.Errorf("binary client got %x", data)
			}
		}
		conn.Close()
	}
	d := websocket.Dialer{Subprotocols: []string{"arena.v9.bin"}}
	_, resp, err := d.Dial(srv.WSURL, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown subprotocol: %v; want HTTP 400", err)
	}
}

func TestNativeSnapshotsAreDeltasOfWhatWasSent(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	a := dialNative(t, srv.WSURL+"?room=native&name=ann")
	b := dialNative(t, srv.WSURL+"?room=native")
	seed := arenatest.Dial(t, srv.WSURL+"?room=native", nil)
	seedID := seed.Init().ID
	if a.welcome.TickRate != 20 || a.welcome.World.Width != 500 || a.welcome.Room != "native" || a.welcome.Mode != "dots" || len(a.welcome.Token) < 22 {
		t.Errorf("welcome %+v", a.welcome)
	}
	a.waitState("all three players", func() bool { return len(a.world) == 3 })
	if a.fulls != 1 {
		t.Errorf("%d full snapshots; want one, on join", a.fulls)
	}
	if e := a.me(); e.Texts[dots.TextName] != "ann" {
		t.Errorf("own entity %+v; want the nickname", e)
	}
	// The seed player walks; both native clients rebuild the same world as
	// the seed protocol shows.
	for range 10 {
		seed.Move("DOWN")
		seed.WaitFor(time.Second, "state", func(m *arenatest.Message) bool { return m.Type == "state_update" })
	}
	last := seed.WaitFor(time.Second, "state", func(m *arenatest.Message) bool { return m.Type == "state_update" })
	want, _ := last.Player(seedID)
	for _, c := range []*nativeClient{a, b} {
		c.waitState("the seed player's position", func() bool {
			for _, e := range c.world {
				if e.ID == uint32(parseID(seedID)) {
					return int(e.X) == want.X && int(e.Y) == want.Y
				}
			}
			return false
		})
	}
	// Idle deltas are tiny: a header and three empty lists.
	for range 5 {
		a.next(time.Second)
	}
	if n := len(a.conn.UnderlyingConn().LocalAddr().String()); n == 0 {
		t.Fatal("no connection")
	}
}

func parseID(s string) game.PlayerID {
	var id game.PlayerID
	for _, c := range s {
		id = id*10 + game.PlayerID(c-'0')
	}
	return id
}

func TestNativeInputIsHeldAndAcked(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := dialNative(t, srv.WSURL)
	c.waitState("own entity", func() bool { return c.me().ID != 0 })
	start := c.me()
	dir, sign := game.Right, int32(1)
	if start.X > 250 {
		dir, sign = game.Left, -1
	}
	c.send(protocol.AppendBinaryInput(nil, 1, dir, 0))
	c.waitState("ack 1", func() bool { return c.ack == 1 })
	first := c.me()
	// Held: it keeps moving one step a tick without another message.
	for range 5 {
		c.next(time.Second)
	}
	moved := (c.me().X - first.X) * sign
	if moved != 50 {
		t.Errorf("held for 5 more ticks, moved %d px; want 50", moved)
	}
	c.send(protocol.AppendBinaryInput(nil, 2, 0, 0))
	c.waitState("ack 2", func() bool { return c.ack == 2 })
	stop := c.me()
	for range 3 {
		c.next(time.Second)
	}
	if c.me() != stop {
		t.Errorf("kept moving after release")
	}
	// A burst of inputs is applied one per tick: acks advance by one.
	for seq := uint32(3); seq <= 6; seq++ {
		c.send(protocol.AppendBinaryInput(nil, seq, game.Buttons(seq%2)*dir, 0))
	}
	prevAck := c.ack
	for c.ack < 6 {
		c.next(time.Second)
		if c.ack > prevAck+1 {
			t.Fatalf("ack jumped from %d to %d in one tick", prevAck, c.ack)
		}
		prevAck = c.ack
	}
}

func TestNativeTickTargetedInputsApplyOnTheirTick(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := dialNative(t, srv.WSURL)
	c.waitState("own entity", func() bool { return c.me().ID != 0 })
	start := c.me()
	dir, sign := game.Down, int32(1)
	if start.Y > 250 {
		dir, sign = game.Up, -1
	}
	from := c.tick + 10
	c.send(protocol.AppendBinaryInput(nil, 1, dir, from))
	c.send(protocol.AppendBinaryInput(nil, 2, 0, from+7))
	for c.tick < from+12 {
		before := c.me()
		c.next(time.Second)
		moved := (c.me().Y - before.Y) * sign
		want := int32(0)
		if c.tick >= from && c.tick < from+7 {
			want = 10
		}
		if moved != want {
			t.Fatalf("tick %d: moved %d; want %d (held from %d to %d)", c.tick, moved, want, from, from+7)
		}
	}
}

func TestNativeResyncAndPong(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := dialNative(t, srv.WSURL)
	c.waitState("a state", func() bool { return c.tick > 0 })
	c.send([]byte{protocol.BinResync})
	c.waitState("a full snapshot", func() bool { return c.fulls == 2 })
	c.send(protocol.AppendBinaryPing(nil, 4242))
	for {
		m := c.next(time.Second)
		if m.Type == protocol.BinPong {
			if m.Time != 4242 || m.Tick == 0 {
				t.Errorf("pong %+v", m)
			}
			break
		}
	}
	// Bad input is answered in kind and harms nothing.
	c.send([]byte{0x7e, 1, 2})
	for {
		m := c.next(time.Second)
		if m.Type == protocol.BinError {
			if m.Code != protocol.CodeUnknownType {
				t.Errorf("error %q %q", m.Code, m.Message)
			}
			break
		}
	}
	c.conn.WriteMessage(websocket.TextMessage, []byte("hello"))
	for {
		if m := c.next(time.Second); m.Type == protocol.BinError {
			if m.Code != protocol.CodeTextUnsupported {
				t.Errorf("text frame answered with %q", m.Code)
			}
			break
		}
	}
	c.waitState("a state after the errors", func() bool { return true })
}

func TestNativeShowsAwayPlayers(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	watcher := dialNative(t, srv.WSURL+"?room=away")
	leaver := dialNative(t, srv.WSURL+"?room=away")
	id := leaver.welcome.Player
	watcher.waitState("both", func() bool { return len(watcher.world) == 2 })
	leaver.conn.UnderlyingConn().Close()
	watcher.waitState("the leaver shown away", func() bool {
		e, ok := watcher.find(id)
		return ok && e.Away
	})
	back := dialNative(t, srv.WSURL+"?token="+leaver.welcome.Token)
	if back.welcome.Player != id || !back.welcome.Resumed {
		t.Fatalf("resume welcome %+v", back.welcome)
	}
	watcher.waitState("the leaver back", func() bool {
		e, ok := watcher.find(id)
		return ok && !e.Away
	})
}

func TestNativeJSON(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	d := websocket.Dialer{Subprotocols: []string{protocol.SubprotocolJSON}}
	conn, _, err := d.Dial(srv.WSURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read := func() map[string]any {
		var m map[string]any
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	welcome := read()
	if welcome["t"] != "welcome" || welcome["v"] != 1.0 {
		t.Fatalf("welcome %v", welcome)
	}
	snap := read()
	if snap["t"] != "snap" || snap["full"] != true || len(snap["added"].([]any)) != 1 {
		t.Fatalf("first snapshot %v", snap)
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`{"t":"input","seq":1,"buttons":2}`))
	for {
		m := read()
		if m["t"] == "snap" && m["ack"] == 1.0 {
			ch := m["changed"].([]any)
			if len(ch) != 1 || ch[0].(map[string]any)["y"] == nil {
				t.Errorf("changed %v; want own y", ch)
			}
			break
		}
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`{"t":"input","seq":"x"}`))
	for {
		if m := read(); m["t"] == "error" {
			if m["code"] != protocol.CodeMalformed {
				t.Errorf("error %v", m)
			}
			break
		}
	}
}

func TestSendDelayHoldsMessagesBack(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.SendDelay = 150 * time.Millisecond
		c.SendJitter = 20 * time.Millisecond
	}})
	c := dialNative(t, srv.WSURL)
	c.waitState("a state", func() bool { return c.tick > 0 })
	prevTick := c.tick
	for range 3 {
		sent := time.Now()
		c.send(protocol.AppendBinaryPing(nil, 1))
		for {
			m := c.next(2 * time.Second)
			if m.Type == protocol.BinSnapshot {
				if c.tick != prevTick+1 && !c.msg.Snapshot.Full {
					// Every state still arrives, in order.
					t.Fatalf("tick %d after %d", c.tick, prevTick)
				}
				prevTick = c.tick
				continue
			}
			if m.Type == protocol.BinPong {
				break
			}
		}
		if rtt := time.Since(sent); rtt < 150*time.Millisecond || rtt > 400*time.Millisecond {
			t.Errorf("round trip %v with a 150ms send delay", rtt)
		}
	}
}
