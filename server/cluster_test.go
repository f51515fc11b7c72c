package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/arenatest"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// startCluster runs n arena nodes, a, b, c…, on one real NATS server with
// JetStream, each on its own loopback port.
func startCluster(t *testing.T, n int) []*arenatest.Server {
	t.Helper()
	ns := natstest.Start(t)
	nodes := make([]*arenatest.Server, n)
	for i := range nodes {
		nodes[i] = arenatest.Start(t, arenatest.Options{NATS: ns, Node: string(rune('a' + i))})
	}
	// Every node knows every other before the test starts: a node's URL
	// is what a redirect needs.
	for _, nd := range nodes {
		arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
			if got := len(nd.Cluster().Directory().Nodes()); got != n {
				return fmt.Errorf("node sees %d nodes of %d", got, n)
			}
			return nil
		})
	}
	return nodes
}

// joinFollowing connects a native client to query on the node at base,
// following one redirect as the SDK does. It returns the client's
// connection, its welcome, and the page URL it was redirected to ("" if
// none).
func joinFollowing(t *testing.T, base, query string) (*websocket.Conn, protocol.Welcome, string) {
	t.Helper()
	conn, m := dialCluster(t, base, query)
	if m.Type != protocol.BinRedirect {
		if m.Type != protocol.BinWelcome {
			t.Fatalf("first message %#x (%s %s); want a welcome or a redirect", m.Type, m.Code, m.Message)
		}
		return conn, m.Welcome, ""
	}
	to, room := m.URL, m.Room
	code := closeCode(t, conn)
	if code != websocket.CloseNormalClosure {
		t.Errorf("a redirect closed with %d; want 1000", code)
	}
	q, _ := url.ParseQuery(query)
	q.Set("room", room)
	conn, m = dialCluster(t, to, q.Encode())
	if m.Type != protocol.BinWelcome {
		t.Fatalf("after the redirect to %s: message %#x (%s %s); want a welcome", to, m.Type, m.Code, m.Message)
	}
	return conn, m.Welcome, to
}

func dialCluster(t *testing.T, base, query string) (*websocket.Conn, protocol.ServerMessage) {
	t.Helper()
	u := strings.Replace(strings.TrimSuffix(base, "/"), "http://", "ws://", 1) + "/ws?" + query
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
	conn, _, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read from %s: %v", u, err)
	}
	var m protocol.ServerMessage
	if err := protocol.ParseServerBinary(&m, data); err != nil {
		t.Fatalf("decode %x: %v", data, err)
	}
	return conn, m
}

func closeCode(t *testing.T, conn *websocket.Conn) int {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			t.Fatalf("no close frame: %v", err)
		}
	}
}

// roomsOf reads a node's GET /api/rooms.
func roomsOf(t *testing.T, nd *arenatest.Server) []server.RoomInfo {
	t.Helper()
	resp, err := http.Get(nd.URL + "/api/rooms?limit=200")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Rooms []server.RoomInfo }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return page.Rooms
}

// TestEveryNodeCreatingARoomAtOnceMakesOneRoom: players on each of three
// nodes ask for the same new room at the same moment. The room runs on
// exactly one node; the players elsewhere are redirected to it, and all
// of them end in the one room, as every node's room list says.
func TestEveryNodeCreatingARoomAtOnceMakesOneRoom(t *testing.T) {
	nodes := startCluster(t, 3)
	for round := range 5 {
		name := fmt.Sprintf("duel-%d", round)
		var wg sync.WaitGroup
		ends := make([]string, len(nodes)) // the page each player plays on
		for i, nd := range nodes {
			wg.Go(func() {
				_, w, to := joinFollowing(t, nd.URL, "room="+name)
				if w.Room != name {
					t.Errorf("node %d: joined %q; want %q", i, w.Room, name)
				}
				ends[i] = strings.TrimSuffix(cmpOr(to, nd.URL), "/")
			})
		}
		wg.Wait()
		if ends[0] != ends[1] || ends[1] != ends[2] {
			t.Fatalf("round %d: players play on %q: more than one node runs the room", round, ends)
		}
		hosts := 0
		for _, nd := range nodes {
			for _, st := range nd.Rooms() {
				if st.Name == name {
					hosts++
					if st.Players != 3 {
						t.Errorf("round %d: the room has %d players; want 3", round, st.Players)
					}
				}
			}
		}
		if hosts != 1 {
			t.Fatalf("round %d: %d nodes run %q; want 1", round, hosts, name)
		}
	}
	// Every node lists every room, with the node it runs on.
	for _, nd := range nodes {
		arenatest.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
			rooms := roomsOf(t, nd)
			for round := range 5 {
				name := fmt.Sprintf("duel-%d", round)
				found := false
				for _, r := range rooms {
					if r.Name == name {
						found = r.Node != "" && r.Players == 3
					}
				}
				if !found {
					return fmt.Errorf("%s lists %+v: no %s of 3 players with its node", nd.URL, rooms, name)
				}
			}
			return nil
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestARoomOnAnotherNode: a native client that names a room running on
// another node is told that node's URL and plays there; a seed-protocol
// client, which cannot follow, gets a clear error instead.
func TestARoomOnAnotherNode(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := nodes[0], nodes[1]
	_, w, to := joinFollowing(t, a.URL, "room=castle&mode=tag")
	if to != "" || w.Room != "castle" {
		t.Fatalf("the first player was redirected to %q or joined %q", to, w.Room)
	}
	_, w, to = joinFollowing(t, b.URL, "room=castle")
	if strings.TrimSuffix(to, "/") != a.URL || w.Room != "castle" || w.Mode != "tag" {
		t.Fatalf("a player on b went to %q, room %q, mode %q; want a (%s), castle, tag", to, w.Room, w.Mode, a.URL)
	}

	seed := arenatest.Dial(t, b.WSURL+"?room=castle", nil)
	m := seed.WaitFor(5*time.Second, "an error", func(m *arenatest.Message) bool { return m.Type == "error" })
	if m.Code != protocol.CodeElsewhere || !strings.Contains(m.Message, a.URL) {
		t.Errorf("seed client: error %q %q; want %s naming %s", m.Code, m.Message, protocol.CodeElsewhere, a.URL)
	}
	if ce := seed.WaitClose(5 * time.Second); ce == nil || ce.Code != websocket.CloseTryAgainLater {
		t.Errorf("seed client closed with %v; want 1013", ce)
	}
}

// TestQuickJoinFindsTheFullestRoomOnAnyNode: a quick-join of a mode goes
// to the fullest room of that mode with space, whichever node runs it.
func TestQuickJoinFindsTheFullestRoomOnAnyNode(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := nodes[0], nodes[1]
	for range 2 {
		joinFollowing(t, a.URL, "room=busy&mode=tag")
	}
	joinFollowing(t, b.URL, "room=quiet&mode=tag")
	// b's directory has a's room and its two players once a syncs.
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if e, ok := b.Cluster().Directory().Fullest("tag"); !ok || e.Name != "busy" {
			return fmt.Errorf("b's fullest tag room: %+v %v", e, ok)
		}
		return nil
	})
	_, w, to := joinFollowing(t, b.URL, "mode=tag")
	if w.Room != "busy" || strings.TrimSuffix(to, "/") != a.URL {
		t.Errorf("quick-join on b: room %q on %q; want busy on a (%s)", w.Room, to, a.URL)
	}
}

// TestADrainingNodeMovesItsRoomsAndPlayersResume: a node that shuts down
// hands its room to another node, which imports it; its players are told
// where it went, and resume there with the same id, position and fields.
func TestADrainingNodeMovesItsRoomsAndPlayersResume(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := nodes[0], nodes[1]
	const players = 5
	cs := make([]*nativeClient, players)
	for i := range cs {
		conn, m := dialCluster(t, a.URL, "room=keep&mode=tag")
		if m.Type != protocol.BinWelcome {
			t.Fatalf("player %d: first message %#x; want a welcome", i, m.Type)
		}
		cs[i] = &nativeClient{t: t, conn: conn, msg: m, welcome: m.Welcome}
	}
	// One player walks a little, so that where it stands is its own doing.
	walker := cs[0]
	if err := walker.conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryInput(nil, 1, game.Right, 0)); err != nil {
		t.Fatal(err)
	}
	walker.waitState("the walker has moved", func() bool { return walker.ack == 1 && walker.me().X != 0 })
	if err := walker.conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryInput(nil, 2, 0, 0)); err != nil {
		t.Fatal(err)
	}
	before := make([]game.Entity, players)
	for i, c := range cs {
		c.waitState("every player in view, the walker stopped", func() bool {
			seen := 0
			for _, e := range c.world {
				if e.Kind == game.KindPlayer {
					seen++
				}
			}
			return seen == players && (i > 0 || c.ack >= 2)
		})
	}
	// Wait for the walker to stand still in everyone's view.
	for _, c := range cs {
		for range 3 {
			c.next(3 * time.Second)
		}
	}
	for i, c := range cs {
		before[i] = c.me()
	}

	start := time.Now()
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.Stop(t) }()
	for i, c := range cs {
		for c.next(5*time.Second).Type != protocol.BinRedirect {
		}
		if c.msg.URL != b.URL+"/" || c.msg.Room != "keep" {
			t.Fatalf("player %d: redirected to %q room %q; want %s/ room keep", i, c.msg.URL, c.msg.Room, b.URL)
		}
		if code := closeCode(t, c.conn); code != websocket.CloseNormalClosure {
			t.Errorf("player %d: closed with %d after the redirect; want 1000", i, code)
		}
	}
	for i, c := range cs {
		conn, m := resumeCluster(t, b.URL, "room=keep", c.welcome.Token)
		if m.Type != protocol.BinWelcome || !m.Welcome.Resumed || m.Welcome.Player != c.welcome.Player {
			t.Fatalf("player %d: resume on b: type %#x resumed %v player %d (%s %s); want player %d resumed",
				i, m.Type, m.Welcome.Resumed, m.Welcome.Player, m.Code, m.Message, c.welcome.Player)
		}
		r := &nativeClient{t: t, conn: conn, msg: m, welcome: m.Welcome}
		r.waitState("a state on b", func() bool { return len(r.world) > 0 })
		if got := r.me(); got != before[i] {
			t.Errorf("player %d on b: %+v; want it as it was on a, %+v", i, got, before[i])
		}
	}
	t.Logf("%d players moved from a to b and resumed in %v", players, time.Since(start))
	<-stopped
	rooms := b.Rooms()
	if len(rooms) != 1 || rooms[0].Name != "keep" || rooms[0].Players != players {
		t.Errorf("b runs %+v; want keep with %d players", rooms, players)
	}
	if e, ok := b.Cluster().Directory().Lookup("keep"); !ok || e.Node != "b" {
		t.Errorf("the directory has keep at %+v (%v); want node b", e, ok)
	}
}

// resumeCluster connects to the node at base with ?resume=1 and presents
// token, returning the connection and the first message after it.
func resumeCluster(t *testing.T, base, query, token string) (*websocket.Conn, protocol.ServerMessage) {
	t.Helper()
	u := strings.Replace(strings.TrimSuffix(base, "/"), "http://", "ws://", 1) + "/ws?" + query + "&resume=1"
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
	conn, _, err := d.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryResume(nil, token)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read from %s: %v", u, err)
	}
	var m protocol.ServerMessage
	if err := protocol.ParseServerBinary(&m, data); err != nil {
		t.Fatalf("decode %x: %v", data, err)
	}
	return conn, m
}
