package server_test

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/server"
)

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

type roomList struct {
	Rooms []server.RoomInfo `json:"rooms"`
}

func roomByName(t *testing.T, srv *arenatest.Server, name string) (server.RoomInfo, bool) {
	t.Helper()
	var list roomList
	getJSON(t, srv.URL+"/api/rooms", &list)
	for _, r := range list.Rooms {
		if r.Name == name {
			return r, true
		}
	}
	return server.RoomInfo{}, false
}

func TestRoomsAreSeparateAndListed(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	a := arenatest.Dial(t, srv.WSURL+"?room=red", nil)
	b := arenatest.Dial(t, srv.WSURL+"?room=blue-2&mode=tag", nil)
	c := arenatest.Dial(t, srv.WSURL+"?room=red", nil)
	idA, idB, idC := a.Init().ID, b.Init().ID, c.Init().ID
	st := a.WaitFor(2*time.Second, "both red players", func(m *arenatest.Message) bool {
		_, okA := m.Player(idA)
		_, okC := m.Player(idC)
		return okA && okC
	})
	if _, ok := st.Player(idB); ok {
		t.Error("a player of room blue-2 shows in room red")
	}
	red, ok := roomByName(t, srv, "red")
	if !ok || red.Mode != "dots" || red.Players != 2 || red.TickRate != 20 || red.Capacity != 1000 {
		t.Errorf("room red listed as %+v", red)
	}
	blue, ok := roomByName(t, srv, "blue-2")
	if !ok || blue.Mode != "tag" || blue.Players != 1 {
		t.Errorf("room blue-2 listed as %+v", blue)
	}
	// Two modes tick side by side in one process.
	b.WaitFor(2*time.Second, "tag state", func(m *arenatest.Message) bool {
		_, ok := m.Player(idB)
		return ok
	})
	// A seed client that names no room is in the default room.
	d := arenatest.Dial(t, srv.WSURL, nil)
	if init := d.Init(); init.Room != "default" {
		t.Errorf("no room named: joined %q", init.Room)
	}
}

func TestBadRoomRequestsAreRefusedWithReason(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	arenatest.Dial(t, srv.WSURL+"?room=dotsroom", nil).Init()
	for _, q := range []string{
		"room=" + strings.Repeat("x", 33),
		"room=has%20space",
		"room=%3Cscript%3E",
		"room=caf%C3%A9",
		"mode=chess",
		"room=dotsroom&mode=tag", // the room runs dots
	} {
		c := arenatest.Dial(t, srv.WSURL+"?"+q, nil)
		m, err := c.Read(2 * time.Second)
		if err != nil || m.Type != "error" || m.Code != "bad_request" || m.Message == "" {
			t.Errorf("?%s: got %+v, %v; want a bad_request error", q, m, err)
			continue
		}
		if ce := c.WaitClose(2 * time.Second); ce.Code != websocket.ClosePolicyViolation || ce.Text == "" {
			t.Errorf("?%s: closed with %d %q; want 1008 with a reason", q, ce.Code, ce.Text)
		}
	}
}

func TestFullRoomSaysSo(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Room.Capacity = 2 }})
	arenatest.Dial(t, srv.WSURL+"?room=small", nil).Init()
	arenatest.Dial(t, srv.WSURL+"?room=small", nil).Init()
	c := arenatest.Dial(t, srv.WSURL+"?room=small", nil)
	m, err := c.Read(2 * time.Second)
	if err != nil || m.Type != "error" || m.Code != "room_full" || !strings.Contains(m.Message, "full") {
		t.Fatalf("got %+v, %v; want a room_full error", m, err)
	}
	if ce := c.WaitClose(2 * time.Second); ce.Code != websocket.CloseTryAgainLater || !strings.Contains(ce.Text, "full") {
		t.Errorf("closed with %d %q; want 1013 room is full", ce.Code, ce.Text)
	}
}

func TestEmptyRoomsAreDisposed(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.IdleTimeout = 200 * time.Millisecond
		c.Room.ResumeGrace = 0
	}})
	c := arenatest.Dial(t, srv.WSURL+"?room=brief", nil)
	c.Init()
	if _, ok := roomByName(t, srv, "brief"); !ok {
		t.Fatal("room not listed while occupied")
	}
	c.Conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if _, ok := roomByName(t, srv, "brief"); ok {
			return errString("room still listed")
		}
		return nil
	})
	// Joining again creates it afresh.
	arenatest.Dial(t, srv.WSURL+"?room=brief", nil).Init()
	if _, ok := roomByName(t, srv, "brief"); !ok {
		t.Fatal("room not recreated")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestQuickJoinFillsTheFullestRoom(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Room.Capacity = 3 }})
	rooms := map[string]int{}
	for range 5 {
		init := arenatest.Dial(t, srv.WSURL+"?mode=tag", nil).Init()
		rooms[init.Room]++
		if !strings.HasPrefix(init.Room, "tag-") {
			t.Errorf("quick-join went to %q", init.Room)
		}
	}
	if len(rooms) != 2 {
		t.Fatalf("5 quick-joins with capacity 3 went to %v; want two rooms", rooms)
	}
	for name, n := range rooms {
		if n != 3 && n != 2 {
			t.Errorf("room %s got %d players", name, n)
		}
		if info, _ := roomByName(t, srv, name); info.Mode != "tag" {
			t.Errorf("room %s runs %q", name, info.Mode)
		}
	}
	// The API names the same room a quick-join would take: the fuller one
	// is full, so the one with space.
	resp, err := http.Post(srv.URL+"/api/matchmake", "application/json", strings.NewReader(`{"mode":"tag"}`))
	if err != nil {
		t.Fatal(err)
	}
	var match struct{ Room, Mode string }
	json.NewDecoder(resp.Body).Decode(&match)
	resp.Body.Close()
	if match.Mode != "tag" || rooms[match.Room] != 2 {
		t.Errorf("matchmake answered %+v; want the tag room with space (%v)", match, rooms)
	}
	resp, err = http.Post(srv.URL+"/api/matchmake", "application/json", strings.NewReader(`{"mode":"chess"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("matchmake for an unknown mode: %d; want 404", resp.StatusCode)
	}
}

func TestResumeAfterTheSocketDrops(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	a := arenatest.Dial(t, srv.WSURL+"?room=resume", nil)
	watcher := arenatest.Dial(t, srv.WSURL+"?room=resume", nil)
	init := a.Init()
	watcher.Init()
	if len(init.Token) < 22 {
		t.Fatalf("token %q carries less than 128 bits", init.Token)
	}
	a.Move("DOWN")
	before := position(t, watcher, init.ID)
	before = position(t, watcher, init.ID)

	_ = a.Conn.NetConn().Close() // the network drops; no close frame
	watcher.WaitFor(2*time.Second, "the dropped player gone from the seed view", func(m *arenatest.Message) bool {
		_, ok := m.Player(init.ID)
		return m.Type == "state_update" && !ok
	})
	if info, _ := roomByName(t, srv, "resume"); info.Players != 2 {
		t.Errorf("room has %d players while one is away; want 2 (kept for resume)", info.Players)
	}

	// The token alone finds the room.
	b := arenatest.Dial(t, srv.WSURL+"?token="+init.Token, nil)
	again := b.Init()
	if again.ID != init.ID || again.Room != "resume" {
		t.Fatalf("resumed as %s in %s; want %s in resume", again.ID, again.Room, init.ID)
	}
	after := position(t, watcher, init.ID)
	if after != before {
		t.Errorf("resumed at %+v; want %+v", after, before)
	}
}

func TestSecondConnectionTakesOver(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	a := arenatest.Dial(t, srv.WSURL, nil)
	init := a.Init()
	b := arenatest.Dial(t, srv.WSURL+"?token="+init.Token, nil)
	if got := b.Init(); got.ID != init.ID {
		t.Fatalf("takeover got id %s; want %s", got.ID, init.ID)
	}
	ce := a.WaitClose(2 * time.Second)
	if ce.Code != server.CloseTakenOver || !strings.Contains(ce.Text, "another connection") {
		t.Errorf("old connection closed with %d %q; want %d and a reason", ce.Code, ce.Text, server.CloseTakenOver)
	}
	// The new connection plays on.
	position(t, b, init.ID)
	b.Move("UP")
	position(t, b, init.ID)
}

func TestUnknownTokenJoinsAsNewWithANotice(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL+"?token=AAAAAAAAAAAAAAAAAAAAAA", nil)
	notice := c.WaitFor(2*time.Second, "notice", func(m *arenatest.Message) bool { return m.Type == "notice" || m.Type == "init" })
	if notice.Type != "notice" || notice.Code != "resume_failed" || notice.Message == "" {
		t.Fatalf("first message %+v; want a resume_failed notice", notice)
	}
	if init := c.Init(); init.ID == "" || init.Token == "AAAAAAAAAAAAAAAAAAAAAA" {
		t.Errorf("init %+v; want a new player with a new token", init)
	}
}

func TestLeavingOnPurposeEndsThePlayer(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	for i, leave := range []func(*arenatest.Client){
		func(c *arenatest.Client) {
			c.Conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
		},
		func(c *arenatest.Client) { c.Send(`{"type":"leave"}`) },
	} {
		name := "leavers" + strings.Repeat("x", i)
		watcher := arenatest.Dial(t, srv.WSURL+"?room="+name, nil)
		watcher.Init()
		c := arenatest.Dial(t, srv.WSURL+"?room="+name, nil)
		init := c.Init()
		position(t, watcher, init.ID)
		leave(c)
		c.WaitClose(2 * time.Second)
		arenatest.Eventually(t, 2*time.Second, 20*time.Millisecond, func() error {
			if info, _ := roomByName(t, srv, name); info.Players != 1 {
				return errString("player still in the room")
			}
			return nil
		})
		again := arenatest.Dial(t, srv.WSURL+"?token="+init.Token, nil)
		if id := again.Init().ID; id == init.ID {
			t.Errorf("resumed %s after leaving on purpose", id)
		}
		again.Conn.Close()
		watcher.Conn.Close()
	}
}

// TestRoomsPagingAtTheEdges: offsets and limits up to the largest integer
// answer a page (empty past the last room); what is not a count is refused.
// An offset near the largest integer used to overflow offset+limit and
// panic the handler.
func TestRoomsPagingAtTheEdges(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	arenatest.Dial(t, srv.WSURL+"?room=edge", nil).Init()
	const maxInt = "9223372036854775807"
	for _, tc := range []struct {
		query       string
		status      int
		rooms       int
		offset, lim int
	}{
		{"offset=" + maxInt, http.StatusOK, 0, math.MaxInt, 50},
		{"offset=" + maxInt + "&limit=" + maxInt, http.StatusOK, 0, math.MaxInt, 200},
		{"offset=9223372036854775806&limit=200", http.StatusOK, 0, math.MaxInt - 1, 200},
		{"limit=" + maxInt, http.StatusOK, 1, 0, 200},
		{"offset=1", http.StatusOK, 0, 1, 50},
		{"offset=0&limit=1", http.StatusOK, 1, 0, 1},
		{"offset=9223372036854775808", http.StatusBadRequest, 0, 0, 0}, // beyond int64
		{"offset=-9223372036854775808", http.StatusBadRequest, 0, 0, 0},
		{"limit=-1", http.StatusBadRequest, 0, 0, 0},
		{"offset=x", http.StatusBadRequest, 0, 0, 0},
	} {
		var page struct {
			Rooms                []server.RoomInfo
			Total, Offset, Limit int
			Code                 string
		}
		status := getJSON(t, srv.URL+"/api/rooms?"+tc.query, &page)
		if status != tc.status {
			t.Errorf("?%s: %d; want %d", tc.query, status, tc.status)
			continue
		}
		if status != http.StatusOK {
			if page.Code != "bad_request" {
				t.Errorf("?%s: code %q; want bad_request", tc.query, page.Code)
			}
			continue
		}
		if len(page.Rooms) != tc.rooms || page.Total != 1 || page.Offset != tc.offset || page.Limit != tc.lim {
			t.Errorf("?%s: %d rooms of %d at offset %d, limit %d; want %d of 1 at %d, limit %d",
				tc.query, len(page.Rooms), page.Total, page.Offset, page.Limit, tc.rooms, tc.offset, tc.lim)
		}
	}
}

// TestKeptRoomsAreOpenAtStartAndStay: a kept room is listed before anyone
// joins, runs its mode, and outlives the idle timeout empty; -room-idle-
// timeout 0 keeps every empty room.
func TestKeptRoomsAreOpenAtStartAndStay(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.IdleTimeout = 100 * time.Millisecond
		c.Room.ResumeGrace = 0
		c.KeepRooms = []room.KeptRoom{{Name: "lobby", Mode: "tag"}}
	}})
	info, ok := roomByName(t, srv, "lobby")
	if !ok || info.Mode != "tag" || info.Players != 0 {
		t.Fatalf("lobby listed %v as %+v; want an empty tag room", ok, info)
	}
	c := arenatest.Dial(t, srv.WSURL+"?room=lobby", nil)
	c.Init()
	c.Conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	other := arenatest.Dial(t, srv.WSURL+"?room=other", nil)
	other.Init()
	other.Conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if _, ok := roomByName(t, srv, "other"); ok {
			return errString("other still listed")
		}
		return nil
	})
	if info, ok := roomByName(t, srv, "lobby"); !ok || info.Players != 0 {
		t.Fatalf("the kept room went with the idle one: %v %+v", ok, info)
	}
}

func TestRoomIdleTimeoutZeroKeepsEmptyRooms(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.IdleTimeout = 0
		c.Room.ResumeGrace = 0
	}})
	c := arenatest.Dial(t, srv.WSURL+"?room=stays", nil)
	c.Init()
	c.Conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if info, ok := roomByName(t, srv, "stays"); !ok || info.Players != 0 {
			return errString("the room is not listed empty yet")
		}
		return nil
	})
	// Many ticks later (20 a second), it is still there.
	time.Sleep(300 * time.Millisecond)
	if _, ok := roomByName(t, srv, "stays"); !ok {
		t.Fatal("an empty room went with -room-idle-timeout 0")
	}
}
