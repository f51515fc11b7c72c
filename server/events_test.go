package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// herald announces every tick to everyone ("tick" {"n":N}, N the tick)
// and ends the game as soon as a player holds Action.
type herald struct {
	cfg     game.Config
	players []game.PlayerID
	tick    uint64
	over    bool
}

var heraldMode = game.Mode{Name: "herald", New: func(cfg game.Config) game.Game { return &herald{cfg: cfg} }}

func (h *herald) Join(p game.Player) error { h.players = append(h.players, p.ID); return nil }
func (h *herald) Leave(id game.PlayerID) {
	h.players = slices.DeleteFunc(h.players, func(p game.PlayerID) bool { return p == id })
}
func (h *herald) World() game.World { return game.World{Width: 100, Height: 100} }
func (h *herald) AppendEntities(dst []game.Entity) []game.Entity {
	x := int32(5)
	if h.over {
		x = 6 // the final state shows the last step
	}
	for _, id := range h.players {
		dst = append(dst, game.Entity{ID: uint32(id), X: x, Y: 5})
	}
	return dst
}

func (h *herald) Step(inputs []game.Input) {
	h.tick++
	h.cfg.Events.ToAll(game.Event{Type: "tick", Data: fmt.Appendf(nil, `{"n":%d}`, h.tick)})
	for _, in := range inputs {
		h.over = h.over || in.Buttons&game.Action != 0
	}
}

func (h *herald) Over() (game.Result, bool) {
	return game.Result{Summary: "someone pressed action", Standings: []game.Standing{{Player: 1, Name: "x", Score: 9}}}, h.over
}

func startHerald(t *testing.T) *arenatest.Server {
	return arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Modes = append(c.Modes, heraldMode)
	}})
}

func heraldURL(srv *arenatest.Server, room string) string {
	return srv.WSURL + "?mode=herald&room=" + url.QueryEscape(room)
}

// dialJSON opens an arena.v1.json connection and reads its welcome.
func dialJSON(t *testing.T, u string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolJSON}}
	conn, _, err := d.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if m := readJSON(t, conn); m["t"] != "welcome" {
		t.Fatalf("first message %v", m)
	}
	return conn
}

func readJSON(t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	var m map[string]any
	if err := conn.ReadJSON(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGameEventsReachNativeClientsBeforeTheirSnapshot(t *testing.T) {
	t.Parallel()
	srv := startHerald(t)
	u := heraldURL(srv, "events")
	bin := dialNative(t, u)
	js := dialJSON(t, u)
	seed := arenatest.Dial(t, u, nil)
	seed.Init()

	// Binary: every event's tick is newer than any snapshot seen before it,
	// and a snapshot of at least that tick follows.
	deadline := time.Now().Add(5 * time.Second)
	events := 0
	for events < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d binary events within 5s, want 5", events)
		}
		seen := bin.tick
		m := bin.next(3 * time.Second)
		if m.Type != protocol.BinEvent {
			continue
		}
		events++
		if m.Event != "tick" || string(m.Data) != fmt.Sprintf(`{"n":%d}`, m.Tick) {
			t.Fatalf("binary event %q %s at tick %d", m.Event, m.Data, m.Tick)
		}
		if m.Tick <= seen {
			t.Fatalf("event of tick %d after the snapshot of tick %d", m.Tick, seen)
		}
		tick := m.Tick
		for bin.next(3*time.Second).Type != protocol.BinSnapshot {
		}
		if bin.tick < tick {
			t.Fatalf("snapshot of tick %d followed the event of tick %d", bin.tick, tick)
		}
	}

	// JSON: the same, in arena.v1.json.
	var lastSnap float64
	deadline = time.Now().Add(5 * time.Second)
	for events = 0; events < 5; {
		if time.Now().After(deadline) {
			t.Fatalf("%d JSON events within 5s, want 5", events)
		}
		m := readJSON(t, js)
		switch m["t"] {
		case "snap":
			lastSnap = m["tick"].(float64)
		case "event":
			events++
			tick := m["tick"].(float64)
			data, _ := m["data"].(map[string]any)
			if m["event"] != "tick" || data["n"] != tick || tick <= lastSnap {
				t.Fatalf("JSON event %v after the snapshot of tick %v", m, lastSnap)
			}
		}
	}

	// Seed: exactly the state_update frames a seed client always saw (the
	// herald's entities never change), and nothing else.
	if len(bin.world) != 3 {
		t.Fatalf("the binary client sees %d players, want 3", len(bin.world))
	}
	want := protocol.AppendSeedState(nil, bin.world, protocol.SeedColor(bin.msg.Welcome.Kinds))
	for range 10 {
		seed.Conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, data, err := seed.Conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(want) {
			t.Fatalf("seed client got %s\nwant %s", data, want)
		}
	}
}

func TestGameOverSendsResultAndCloses1000(t *testing.T) {
	t.Parallel()
	srv := startHerald(t)
	u := heraldURL(srv, "ending")
	bin := dialNative(t, u)
	js := dialJSON(t, u)
	seed := arenatest.Dial(t, u, nil)
	seed.Init()
	bin.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))

	var over *protocol.ServerMessage
	for deadline := time.Now().Add(5 * time.Second); over == nil; {
		if time.Now().After(deadline) {
			t.Fatal("no room_over within 5s")
		}
		if m := bin.next(3 * time.Second); m.Type == protocol.BinEvent && m.Event == "room_over" {
			over = m
		}
	}
	var res game.Result
	if err := json.Unmarshal(over.Data, &res); err != nil || res.Summary != "someone pressed action" || len(res.Standings) != 1 {
		t.Fatalf("room_over data %s: %v", over.Data, err)
	}
	wantClose := func(who string, conn *websocket.Conn) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, data, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "the game is over" {
			t.Fatalf("%s: after room_over got %q, %v; want close 1000 \"the game is over\"", who, data, err)
		}
	}
	wantClose("binary", bin.conn)

	for deadline := time.Now().Add(5 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("no JSON room_over within 5s")
		}
		m := readJSON(t, js)
		if m["t"] == "event" && m["event"] == "room_over" {
			if d, _ := m["data"].(map[string]any); d["summary"] != "someone pressed action" {
				t.Fatalf("JSON room_over %v", m)
			}
			break
		}
	}
	wantClose("JSON", js)

	if ce := seed.WaitClose(3 * time.Second); ce.Code != websocket.CloseNormalClosure || ce.Text != "the game is over" {
		t.Fatalf("seed close %d %q", ce.Code, ce.Text)
	}

	// The room is gone: a new join starts a fresh game.
	again := dialNative(t, u)
	for again.next(3*time.Second).Type != protocol.BinSnapshot {
	}
	if len(again.world) != 1 {
		t.Fatalf("the new room holds %d players; want only the newcomer", len(again.world))
	}
}

// TestTheFinalStateComesBeforeRoomOver: players see where the game ended.
// The last snapshot before room_over is of the tick the game ended in,
// and it shows what that tick's step did.
func TestTheFinalStateComesBeforeRoomOver(t *testing.T) {
	t.Parallel()
	srv := startHerald(t)
	bin := dialNative(t, heraldURL(srv, "final"))
	bin.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	var lastState uint64
	for deadline := time.Now().Add(5 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatal("no room_over within 5s")
		}
		m := bin.next(3 * time.Second)
		if m.Type == protocol.BinSnapshot {
			lastState = bin.tick
			continue
		}
		if m.Type == protocol.BinEvent && m.Event == "room_over" {
			if lastState != m.Tick {
				t.Fatalf("the last state before room_over (tick %d) is of tick %d", m.Tick, lastState)
			}
			if me := bin.me(); me.X != 6 {
				t.Fatalf("the final state shows the player at x=%d, want 6 (the last step's)", me.X)
			}
			return
		}
	}
}

// rematchHerald is a herald whose mode rematches after a short pause.
var rematchHerald = game.Mode{Name: "rematch", Rematch: 200 * time.Millisecond,
	New: func(cfg game.Config) game.Game { return &herald{cfg: cfg} }}

// TestRematchOverSockets: a mode that rematches sends room_over and,
// after the pause, room_rematch, and the same players play on under the
// same IDs; an away player resumes into the new game with its token.
func TestRematchOverSockets(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Modes = append(c.Modes, rematchHerald)
	}})
	u := srv.WSURL + "?mode=rematch&room=again"
	a := dialNative(t, u)
	b := dialNative(t, u)
	// a presses Action for a tick: game 1 ends. (Held, it would end the
	// next game too: a player holds its buttons through the pause.)
	a.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	a.send(protocol.AppendBinaryInput(nil, 2, 0, 0))
	events := func(c *nativeClient, want ...string) []*protocol.ServerMessage {
		t.Helper()
		var got []*protocol.ServerMessage
		for deadline := time.Now().Add(5 * time.Second); len(got) < len(want); {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 5s", want[len(got)])
			}
			if m := c.next(3 * time.Second); m.Type == protocol.BinEvent && m.Event == want[len(got)] {
				cp := *m
				cp.Data = slices.Clone(m.Data)
				got = append(got, &cp)
			}
		}
		return got
	}
	got := events(a, "room_over", "room_rematch")
	var res game.Result
	if err := json.Unmarshal(got[0].Data, &res); err != nil || res.Game != 1 {
		t.Fatalf("room_over %s: %v; want game 1", got[0].Data, err)
	}
	if string(got[1].Data) != `{"game":2}` || got[1].Tick <= got[0].Tick {
		t.Fatalf("room_rematch %s at tick %d, after room_over at tick %d", got[1].Data, got[1].Tick, got[0].Tick)
	}
	// Game 2 shows both players, under their IDs.
	a.waitState("game 2's first state", func() bool { return a.tick >= got[1].Tick })
	if _, ok := a.find(b.welcome.Player); !ok || len(a.world) != 2 {
		t.Fatalf("game 2 shows %v; want players %d and %d", a.world, a.welcome.Player, b.welcome.Player)
	}
	// b drops and resumes into game 2 with its token.
	b.conn.Close()
	back := dialNative(t, u+"&token="+url.QueryEscape(b.welcome.Token))
	if !back.welcome.Resumed || back.welcome.Player != b.welcome.Player {
		t.Fatalf("resume after the rematch: %+v", back.welcome)
	}
	// Game 2 ends too, and is numbered 2.
	back.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	over := events(a, "room_over")[0]
	if err := json.Unmarshal(over.Data, &res); err != nil || res.Game != 2 || over.Tick <= got[1].Tick {
		t.Fatalf("second room_over %s at tick %d: %v; want game 2, ended by the resumed player after tick %d", over.Data, over.Tick, err, got[1].Tick)
	}
}
