package server_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// startCluster runs n arena nodes, a, b, c…, on one real NATS server with
// JetStream, each on its own loopback port, every one seeing the others.
func startCluster(t *testing.T, n int) []*arenatest.Server {
	t.Helper()
	return arenatest.StartCluster(t, natstest.Start(t), n, nil)
}

// joinFollowing connects a native client to query on the node at base,
// following one redirect as the SDK does. It returns the client (its
// welcome read) and the page URL it was redirected to ("" if none).
func joinFollowing(t *testing.T, base, query string) (*arenatest.NativeClient, string) {
	t.Helper()
	c := dialNode(t, base, query, "")
	if c.Msg.Type != protocol.BinRedirect {
		if c.Msg.Type != protocol.BinWelcome {
			t.Fatalf("first message %#x (%s %s); want a welcome or a redirect", c.Msg.Type, c.Msg.Code, c.Msg.Message)
		}
		return c, ""
	}
	to, room, seat := c.Msg.URL, c.Msg.Room, c.Msg.Seat
	if code, err := c.CloseCode(5 * time.Second); err != nil || code != websocket.CloseNormalClosure {
		t.Errorf("a redirect closed with %d (%v); want 1000", code, err)
	}
	q, _ := url.ParseQuery(query)
	q.Set("room", room)
	if seat != "" {
		q.Set("seat", seat)
	}
	c = dialNode(t, to, q.Encode(), "")
	if c.Msg.Type != protocol.BinWelcome {
		t.Fatalf("after the redirect to %s: message %#x (%s %s); want a welcome", to, c.Msg.Type, c.Msg.Code, c.Msg.Message)
	}
	return c, to
}

func dialNode(t *testing.T, base, query, token string) *arenatest.NativeClient {
	t.Helper()
	c, err := arenatest.DialNative(t, base, query, token)
	if err != nil {
		t.Fatalf("%s?%s: %v", base, query, err)
	}
	return c
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
				c, to := joinFollowing(t, nd.URL, "room="+name)
				if w := c.Welcome; w.Room != name {
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
// client, which cannot follow, is relayed there by the node it reached,
// both ways, and counted by its own address.
func TestARoomOnAnotherNode(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := nodes[0], nodes[1]
	c, to := joinFollowing(t, a.URL, "room=castle&mode=tag")
	if to != "" || c.Welcome.Room != "castle" {
		t.Fatalf("the first player was redirected to %q or joined %q", to, c.Welcome.Room)
	}
	c, to = joinFollowing(t, b.URL, "room=castle")
	if w := c.Welcome; strings.TrimSuffix(to, "/") != a.URL || w.Room != "castle" || w.Mode != "tag" {
		t.Fatalf("a player on b went to %q, room %q, mode %q; want a (%s), castle, tag", to, w.Room, w.Mode, a.URL)
	}

	// arena.v1.json is redirected in its own encoding.
	js := dialProtocol(t, b.WSURL+"?room=castle", protocol.SubprotocolJSON)
	js.SetReadDeadline(time.Now().Add(5 * time.Second))
	var redirect struct{ T, URL, Room, Seat string }
	if err := js.ReadJSON(&redirect); err != nil {
		t.Fatal(err)
	}
	if redirect.T != "redirect" || redirect.URL != a.URL+"/" || redirect.Room != "castle" || redirect.Seat == "" {
		t.Errorf("a JSON client on b got %+v; want a redirect to castle on %s/ with a seat", redirect, a.URL)
	}

	seed := arenatest.Dial(t, b.WSURL+"?room=castle", nil)
	init := seed.Init()
	if init.Room != "castle" {
		t.Fatalf("relayed seed client: init of room %q; want castle", init.Room)
	}
	// It sees the native players of a's room, and its moves reach it.
	first := seed.WaitFor(5*time.Second, "a state with all three players", func(m *arenatest.Message) bool {
		_, ok := m.Player(init.ID)
		return m.Type == "state_update" && len(m.Players) == 3 && ok
	})
	was, _ := first.Player(init.ID)
	seed.Move("RIGHT")
	seed.WaitFor(5*time.Second, "the relayed move in a state", func(m *arenatest.Message) bool {
		p, ok := m.Player(init.ID)
		return m.Type == "state_update" && ok && p.X > was.X
	})
	if rooms := a.Rooms(); len(rooms) != 1 || rooms[0].Players != 3 {
		t.Errorf("a runs %+v; want castle with the seed client as its third player", rooms)
	}
	if len(b.Rooms()) != 0 {
		t.Errorf("b runs %+v; want no room: it only relays", b.Rooms())
	}
	// The client leaves (1000): a's room loses it, through the relay. (A
	// connection that merely drops keeps the player for its resume, as
	// on a: TestARelayedSeedClientResumes.)
	if err := seed.Conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if rooms := a.Rooms(); len(rooms) != 1 || rooms[0].Players != 2 {
			return fmt.Errorf("a runs %+v; want castle back to two players", rooms)
		}
		return nil
	})
}

// relayHeader is what a relaying node sends with a relay it signed
// (server/relay.go), for the tests to forge.
func relayHeader(rel cluster.Relay, sig []byte) http.Header {
	h := http.Header{}
	h.Set("Arena-Relay-Node", rel.From)
	h.Set("Arena-Relayed-For", rel.For)
	h.Set("Arena-Relay-Time", strconv.FormatInt(rel.At.UnixMilli(), 10))
	if sig != nil {
		h.Set("Arena-Relay-Signature", base64.RawURLEncoding.EncodeToString(sig))
	}
	return h
}

// TestOnlyTheClusterMayRelay: a connection that claims to relay for another
// address is believed only if a live node of the cluster signed it, for
// this node, this client and this query, a moment ago. Anything else is a
// client like any other, counted by its own address, so that nobody can
// dodge its address's limits by saying it is someone else.
func TestOnlyTheClusterMayRelay(t *testing.T) {
	nodes := arenatest.StartCluster(t, natstest.Start(t), 3, func(cfg *server.Config) { cfg.MaxConnectionsPerIP = 3 })
	a, b, c := nodes[0], nodes[1], nodes[2]
	const query = "room=limits"
	dial := func(h http.Header) error {
		cl, err := arenatest.TryDial(t, a.WSURL+"?"+query, h)
		if err == nil {
			cl.Init()
		} else if cl != nil && cl.Resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("refused with HTTP %d; want 429, for too many connections of one address", cl.Resp.StatusCode)
		}
		return err
	}
	// 127.0.0.1 uses up its three connections.
	for i := range 3 {
		if err := dial(nil); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	// c leaves the cluster: what it signs is no longer believed.
	cdir := c.Cluster().Directory()
	if err := cdir.Leave(t.Context()); err != nil {
		t.Fatal(err)
	}
	arenatest.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, ok := a.Cluster().Directory().NodeOf("c"); ok {
			return errors.New("a still sees c")
		}
		return nil
	})

	const client = "10.9.9.9"
	bdir := b.Cluster().Directory()
	now := time.Now()
	good, goodSig := bdir.SignRelay("a", client, query, now)
	_, stranger, _ := ed25519.GenerateKey(nil)
	byStranger := func(r cluster.Relay) []byte { return ed25519.Sign(stranger, r.Message()) }
	ghost := good
	ghost.From = "ghost"
	fromC, fromCSig := cdir.SignRelay("a", client, query, now)
	_, otherClientSig := bdir.SignRelay("a", "10.9.9.8", query, now)
	_, otherNodeSig := bdir.SignRelay("b", client, query, now)
	_, otherQuerySig := bdir.SignRelay("a", client, "room=elsewhere", now)
	stale, staleSig := bdir.SignRelay("a", client, query, now.Add(-cluster.RelayWindow-time.Second))
	early, earlySig := bdir.SignRelay("a", client, query, now.Add(cluster.RelayWindow+time.Second))
	oldSecret := http.Header{}
	oldSecret.Set("Arena-Relay-Secret", "anything")
	oldSecret.Set("Arena-Relayed-For", client)
	forged := []struct {
		name string
		h    http.Header
	}{
		{"no signature", relayHeader(good, nil)},
		{"a signature by another key", relayHeader(good, byStranger(good))},
		{"a node that is not in the cluster", relayHeader(ghost, byStranger(ghost))},
		{"a node that is no longer live", relayHeader(fromC, fromCSig)},
		{"a signature for another client", relayHeader(good, otherClientSig)},
		{"a signature for another node", relayHeader(good, otherNodeSig)},
		{"a signature for another query", relayHeader(good, otherQuerySig)},
		{"a stale timestamp", relayHeader(stale, staleSig)},
		{"a timestamp from the future", relayHeader(early, earlySig)},
		{"the former shared secret's headers", oldSecret},
	}
	for _, f := range forged {
		if err := dial(f.h); err == nil {
			t.Errorf("%s: let a fourth connection of 127.0.0.1 in", f.name)
		}
	}
	// b's relays are believed, and counted against the client's own
	// address: three of them, not four.
	for i := range 3 {
		rel, sig := bdir.SignRelay("a", client, query, time.Now())
		if err := dial(relayHeader(rel, sig)); err != nil {
			t.Fatalf("b's relay %d: %v", i, err)
		}
	}
	if err := dial(relayHeader(good, goodSig)); err == nil {
		t.Error("a fourth relay for 10.9.9.9 was let in")
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
		if e, ok := b.Cluster().Directory().Lookup("busy"); !ok || e.Players != 2 {
			return fmt.Errorf("b's entry of busy: %+v %v", e, ok)
		}
		return nil
	})
	c, to := joinFollowing(t, b.URL, "mode=tag")
	if w := c.Welcome; w.Room != "busy" || strings.TrimSuffix(to, "/") != a.URL {
		t.Errorf("quick-join on b: room %q on %q; want busy on a (%s)", w.Room, to, a.URL)
	}
	// Asking for room options finds the room with those options,
	// wherever it runs.
	joinFollowing(t, a.URL, "room=calm&mode=tag&room.cooldown=5")
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if _, ok := b.Cluster().Directory().Lookup("calm"); !ok {
			return errors.New("b does not know calm yet")
		}
		return nil
	})
	c, to = joinFollowing(t, b.URL, "mode=tag&room.cooldown=5")
	if w := c.Welcome; w.Room != "calm" || strings.TrimSuffix(to, "/") != a.URL {
		t.Errorf("quick-join on b with cooldown 5: room %q on %q; want calm on a (%s)", w.Room, to, a.URL)
	}
	// The matchmaking API of b says the same, and where.
	resp, err := http.Post(b.URL+"/api/matchmake", "application/json", strings.NewReader(`{"mode":"tag"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var match map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&match); err != nil {
		t.Fatal(err)
	}
	if match["room"] != "busy" || match["node"] != "a" || match["url"] != a.URL+"/" {
		t.Errorf("b's matchmaking: %v; want busy on a at %s/", match, a.URL)
	}
}

// TestADrainingNodeMovesItsRoomsAndPlayersResume: a node that shuts down
// hands its room to another node, which imports it; its players are told
// where it went, and resume there with the same id, position and fields.
func TestADrainingNodeMovesItsRoomsAndPlayersResume(t *testing.T) {
	nodes := startCluster(t, 2)
	a, b := nodes[0], nodes[1]
	const players = 5
	cs := make([]*arenatest.NativeClient, players)
	for i := range cs {
		if cs[i] = dialNode(t, a.URL, "room=keep&mode=tag", ""); cs[i].Msg.Type != protocol.BinWelcome {
			t.Fatalf("player %d: first message %#x; want a welcome", i, cs[i].Msg.Type)
		}
	}
	before := standStill(t, cs)

	start := time.Now()
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.Stop(t) }()
	for i, c := range cs {
		for {
			m, err := c.Next(5 * time.Second)
			if err != nil {
				t.Fatalf("player %d: no redirect: %v", i, err)
			}
			if m.Type == protocol.BinRedirect {
				break
			}
		}
		if c.Msg.URL != b.URL+"/" || c.Msg.Room != "keep" {
			t.Fatalf("player %d: redirected to %q room %q; want %s/ room keep", i, c.Msg.URL, c.Msg.Room, b.URL)
		}
		if code, err := c.CloseCode(5 * time.Second); err != nil || code != websocket.CloseNormalClosure {
			t.Errorf("player %d: closed with %d (%v) after the redirect; want 1000", i, code, err)
		}
	}
	var mostMissed uint64
	// Every player resumes at once, as real clients do, then looks.
	rs := make([]*arenatest.NativeClient, len(cs))
	for i, c := range cs {
		rs[i] = dialNode(t, b.URL, "room=keep", c.Welcome.Token)
	}
	for i, c := range cs {
		r := rs[i]
		if w := r.Msg.Welcome; r.Msg.Type != protocol.BinWelcome || !w.Resumed || w.Player != c.Welcome.Player {
			t.Fatalf("player %d: resume on b: type %#x resumed %v player %d (%s %s); want player %d resumed",
				i, r.Msg.Type, w.Resumed, w.Player, r.Msg.Code, r.Msg.Message, c.Welcome.Player)
		}
		if err := r.WaitState(3*time.Second, func() bool { return len(r.World) > 0 }); err != nil {
			t.Fatalf("player %d: no state on b: %v", i, err)
		}
		if got := r.Me(); got != before[i] {
			t.Errorf("player %d on b: %+v; want it as it was on a, %+v", i, got, before[i])
		}
		// The ticks the room ran without the player, between the last
		// state it saw on a and the first on b: inputs it could not give.
		missed := r.Tick - c.Tick - 1
		mostMissed = max(mostMissed, missed)
		if missed > 2 {
			t.Errorf("player %d: the room ran %d ticks between its last state on a (%d) and its first on b (%d); want at most 2", i, missed, c.Tick, r.Tick)
		}
	}
	t.Logf("%d players moved from a to b and resumed in %v; the room ran at most %d ticks without one of them", players, time.Since(start), mostMissed)
	<-stopped
	rooms := b.Rooms()
	if len(rooms) != 1 || rooms[0].Name != "keep" || rooms[0].Players != players {
		t.Errorf("b runs %+v; want keep with %d players", rooms, players)
	}
	if e, ok := b.Cluster().Directory().Lookup("keep"); !ok || e.Node != "b" {
		t.Errorf("the directory has keep at %+v (%v); want node b", e, ok)
	}
}

// standStill has the first of cs, who share a room, walk right a little
// and stop, and returns each player's own entity once every one of them
// sees all the others and the walker stands still.
func standStill(t *testing.T, cs []*arenatest.NativeClient) []game.Entity {
	t.Helper()
	walker := cs[0]
	if err := walker.Send(protocol.AppendBinaryInput(nil, 1, game.Right, 0)); err != nil {
		t.Fatal(err)
	}
	start := walker.Me().X
	if err := walker.WaitState(3*time.Second, func() bool { return walker.Ack == 1 && walker.Me().X != start }); err != nil {
		t.Fatalf("the walker did not move: %v", err)
	}
	if err := walker.Send(protocol.AppendBinaryInput(nil, 2, 0, 0)); err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		err := c.WaitState(3*time.Second, func() bool {
			seen := 0
			for _, e := range c.World {
				if e.Kind == game.KindPlayer {
					seen++
				}
			}
			return seen == len(cs) && (i > 0 || c.Ack >= 2)
		})
		if err != nil {
			t.Fatalf("player %d: not everyone in view: %v", i, err)
		}
	}
	// A few more ticks: the walker's last step is in everyone's view.
	before := make([]game.Entity, len(cs))
	for i, c := range cs {
		for range 3 {
			if _, err := c.Next(3 * time.Second); err != nil {
				t.Fatal(err)
			}
		}
		before[i] = c.Me()
	}
	return before
}

// bot is a native player that follows its room wherever the cluster moves
// it, resuming there, as the SDK does.
type bot struct {
	mu      sync.Mutex
	c       *arenatest.NativeClient
	id      game.PlayerID
	page    string // the node it plays on
	resumes int
	err     error
}

func (b *bot) run(t *testing.T, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		b.mu.Lock()
		c := b.c
		b.mu.Unlock()
		m, err := c.Next(3 * time.Second)
		if err != nil {
			b.fail(fmt.Errorf("read on %s: %w", b.page, err))
			return
		}
		if m.Type != protocol.BinRedirect {
			continue
		}
		to, room := m.URL, m.Room
		r, err := arenatest.DialNative(t, to, "room="+room, c.Welcome.Token)
		if err != nil {
			b.fail(fmt.Errorf("resume on %s: %w", to, err))
			return
		}
		if w := r.Welcome; r.Msg.Type != protocol.BinWelcome || !w.Resumed || w.Player != b.id {
			b.fail(fmt.Errorf("resume on %s: message %#x, resumed %v, player %d (%s)", to, r.Msg.Type, w.Resumed, w.Player, r.Msg.Message))
			return
		}
		c.Conn.Close()
		b.mu.Lock()
		b.c, b.page = r, to
		b.resumes++
		b.mu.Unlock()
	}
}

func (b *bot) fail(err error) {
	b.mu.Lock()
	b.err = err
	b.mu.Unlock()
}

func (b *bot) where() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.page, b.err
}

// TestARollingRestartLosesNobody: 150 native bots play in three rooms of
// a three-node cluster; each node in turn shuts down and is replaced by a
// new one of the same name. Every bot follows its room, resuming as the
// same player, and ends on a live node with its id and score.
func TestARollingRestartLosesNobody(t *testing.T) {
	ns := natstest.Start(t)
	// Every bot comes from 127.0.0.1: the per-address limits would cap
	// them, as they would not players of their own addresses.
	unlimited := func(c *server.Config) {
		c.MaxConnectionsPerIP, c.MaxSeatsPerIP, c.Room.MaxSeatsPerAddr, c.MaxHTTPConnectionsPerIP = 0, 0, 0, 0
	}
	start := func(name string) *arenatest.Server {
		return arenatest.Start(t, arenatest.Options{NATS: ns, Node: name, Config: unlimited})
	}
	nodes := []*arenatest.Server{start("a"), start("b"), start("c")}
	arenatest.WaitForNodes(t, nodes...)
	const perRoom = 50
	bots := make([]*bot, 0, 3*perRoom)
	for i, nd := range nodes {
		for range perRoom {
			c := dialNode(t, nd.URL, fmt.Sprintf("room=r%d&mode=tag", i), "")
			if c.Msg.Type != protocol.BinWelcome {
				t.Fatalf("join: message %#x (%s)", c.Msg.Type, c.Msg.Message)
			}
			bots = append(bots, &bot{c: c, id: c.Welcome.Player, page: nd.URL + "/"})
		}
	}
	// Scores before: what every bot's own entity says once all are in.
	scores := map[game.PlayerID]int32{}
	for _, b := range bots {
		if err := b.c.WaitState(3*time.Second, func() bool { return b.c.Me().ID != 0 }); err != nil {
			t.Fatal(err)
		}
		scores[b.id] = b.c.Me().Fields[1] // tag's score
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, b := range bots {
		wg.Go(func() { b.run(t, done) })
	}
	defer func() { close(done); wg.Wait() }()

	began := time.Now()
	for i, old := range nodes {
		name := old.Cluster().Directory().Node()
		old.Stop(t)
		dead := old.URL + "/"
		arenatest.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
			for _, b := range bots {
				page, err := b.where()
				if err != nil {
					return fmt.Errorf("player %d: %w", b.id, err)
				}
				if page == dead {
					return fmt.Errorf("player %d still on the stopped node %s", b.id, name)
				}
			}
			return nil
		})
		nodes[i] = start(name)
		arenatest.WaitForNodes(t, nodes...)
	}
	t.Logf("three nodes restarted in turn under %d bots in %v", len(bots), time.Since(began))

	live := map[string]bool{}
	for _, nd := range nodes {
		live[nd.URL+"/"] = true
	}
	close(done)
	wg.Wait()
	done = make(chan struct{})
	resumes := 0
	for _, b := range bots {
		page, err := b.where()
		if err != nil || !live[page] {
			t.Fatalf("player %d: on %s (live: %v), %v", b.id, page, live[page], err)
		}
		resumes += b.resumes
		if err := b.c.WaitState(3*time.Second, func() bool { return b.c.Me().ID == uint32(b.id) }); err != nil {
			t.Fatalf("player %d: not in its room on %s: %v", b.id, page, err)
		}
		if got := b.c.Me().Fields[1]; got < scores[b.id] {
			t.Errorf("player %d: score %d; it had %d before the restarts", b.id, got, scores[b.id])
		}
	}
	t.Logf("%d resumes", resumes)
	players := 0
	for _, nd := range nodes {
		for _, st := range nd.Rooms() {
			players += st.Players
		}
	}
	if players != len(bots) {
		t.Errorf("the cluster holds %d players; want the %d bots", players, len(bots))
	}
}

// TestANodeCutOffFromNATSGivesItsRoomsUp: a node loses NATS while its room
// plays on; the cluster takes it for dead and restores the room elsewhere
// from its checkpoint. When the node is back in touch, it finds the room
// owned by the other node, and sends its players there to resume: two
// copies of a room do not play on.
func TestANodeCutOffFromNATSGivesItsRoomsUp(t *testing.T) {
	ns := natstest.Start(t)
	cutOff := natstest.NewProxy(t, ns)
	often := func(c *server.Config) { c.CheckpointInterval = 100 * time.Millisecond }
	a := arenatest.Start(t, arenatest.Options{NATS: ns, NATSURL: cutOff.URL(), Node: "a", Config: often})
	b := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "b", Config: often})
	arenatest.WaitForNodes(t, a, b)
	p := dialNode(t, a.URL, "room=isle&mode=tag", "")
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if !b.Cluster().Directory().HasDoc(ctx, "isle") {
			return errors.New("no checkpoint of isle yet")
		}
		return nil
	})

	cutOff.Cut()
	arenatest.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		for _, st := range b.Rooms() {
			if st.Name == "isle" {
				return nil
			}
		}
		return errors.New("b has not restored isle")
	})
	// Meanwhile a's room plays on for its player.
	if _, err := p.Next(time.Second); err != nil {
		t.Fatalf("a's player while a is cut off: %v", err)
	}

	cutOff.Mend()
	for {
		m, err := p.Next(10 * time.Second)
		if err != nil {
			t.Fatalf("no redirect once a is back: %v", err)
		}
		if m.Type == protocol.BinRedirect {
			break
		}
	}
	if p.Msg.URL != b.URL+"/" || p.Msg.Room != "isle" {
		t.Fatalf("redirected to %q room %q; want b (%s/), isle", p.Msg.URL, p.Msg.Room, b.URL)
	}
	r := dialNode(t, b.URL, "room=isle", p.Welcome.Token)
	if w := r.Msg.Welcome; r.Msg.Type != protocol.BinWelcome || !w.Resumed || w.Player != p.Welcome.Player {
		t.Fatalf("resume on b: type %#x resumed %v player %d; want player %d resumed", r.Msg.Type, w.Resumed, w.Player, p.Welcome.Player)
	}
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if rooms := a.Rooms(); len(rooms) != 0 {
			return fmt.Errorf("a still runs %+v", rooms)
		}
		return nil
	})
}

// TestARedirectHoldsASeat: a node that redirects a player to a room on
// another node has that node hold a seat for it, which nobody else may
// take in the meantime.
func TestARedirectHoldsASeat(t *testing.T) {
	ns := natstest.Start(t)
	nodes := arenatest.StartCluster(t, ns, 2, func(c *server.Config) { c.Room.Capacity = 2 })
	a, b := nodes[0], nodes[1]
	joinFollowing(t, a.URL, "room=duo&mode=tag")
	sent := dialNode(t, b.URL, "room=duo", "")
	if sent.Msg.Type != protocol.BinRedirect || sent.Msg.Seat == "" {
		t.Fatalf("b's answer: %#x, seat %q; want a redirect with a seat", sent.Msg.Type, sent.Msg.Seat)
	}
	if c := dialNode(t, a.URL, "room=duo", ""); c.Msg.Type != protocol.BinError || c.Msg.Code != protocol.CodeRoomFull {
		t.Errorf("another player, straight to a, while the seat is held: %#x %s; want room_full", c.Msg.Type, c.Msg.Code)
	}
	c := dialNode(t, sent.Msg.URL, "room=duo&seat="+sent.Msg.Seat, "")
	if c.Msg.Type != protocol.BinWelcome || c.Welcome.Room != "duo" {
		t.Errorf("the redirected player with its seat: %#x (%s); want a welcome to duo", c.Msg.Type, c.Msg.Message)
	}
}

// TestANodeShowsHowMuchOfTheIDSpaceIsUsed: /metrics carries the share of
// the cluster's player IDs reserved, for the alert of docs/operations.md.
func TestANodeShowsHowMuchOfTheIDSpaceIsUsed(t *testing.T) {
	a := startCluster(t, 1)[0]
	if used := metric(t, a, "arena_player_ids_used_ratio"); used <= 0 || used > 0.001 {
		t.Errorf("arena_player_ids_used_ratio of a new cluster: %g; want a block's share, above 0", used)
	}
}

// TestMatchmakingPlacesNoRoomOnAFullNode: a node at -max-rooms says so in
// its heartbeat, and a quick-join through another node opens its new room
// elsewhere, although the full node carries fewer players. It used to be
// sent there, and refused.
func TestMatchmakingPlacesNoRoomOnAFullNode(t *testing.T) {
	ns := natstest.Start(t)
	a := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "a", Config: func(c *server.Config) { c.MaxRooms = 1 }})
	b := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "b"})
	arenatest.WaitForNodes(t, a, b)
	dialNode(t, a.URL, "room=only", "")
	for range 3 {
		dialNode(t, b.URL, "room=busy", "")
	}
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		na, _ := b.Cluster().Directory().NodeOf("a")
		nb, _ := b.Cluster().Directory().NodeOf("b")
		if !na.Full || nb.Players != 3 {
			return fmt.Errorf("b sees a %+v and itself %+v; want a full, and 3 players on b", na, nb)
		}
		return nil
	})
	c, to := joinFollowing(t, b.URL, "mode=tag")
	if to != "" || c.Welcome.Room == "" {
		t.Errorf("a new tag room went to %q; want it on b, a being full", to)
	}
}

// TestRoomCreationIsChargedBeforeTheClaim: an address that asks for many
// new rooms at once gets no more claims in the cluster's directory than
// its burst of room creations. The rate used to be charged after the
// claim: every join that looked before the first was charged got a claim
// and a release, two writes to NATS each.
func TestRoomCreationIsChargedBeforeTheClaim(t *testing.T) {
	ns := natstest.Start(t)
	const burst, flood = 2, 12
	a := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "a", Config: func(c *server.Config) {
		c.RoomCreateRate = 1 // a minute: nothing refills during the test
		c.RoomCreateBurst = burst
	}})
	var wg sync.WaitGroup
	for i := range flood {
		wg.Go(func() { joinAndDrop(t, a, attackerIP, fmt.Sprintf("?room=flood%d", i)) })
	}
	wg.Wait()
	js, err := jetstream.New(natstest.Connect(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, "arena_rooms")
	if err != nil {
		t.Fatal(err)
	}
	claimed := 0
	for i := range flood {
		if _, err := kv.History(ctx, fmt.Sprintf("flood%d", i)); !errors.Is(err, jetstream.ErrKeyNotFound) {
			claimed++
		}
	}
	if claimed > burst {
		t.Errorf("%d joins of new rooms at once, with a burst of %d creations: %d claimed in the directory; want at most %d", flood, burst, claimed, burst)
	}
	plays(t, dialNativeFrom(t, victimIP, a.WSURL+"?room=v1"))
}

// TestANodeNeedsOnlyArenasNATSPermissions runs a cluster whose nodes log
// in to NATS as a user allowed natstest.ArenaPermissions and nothing
// more: arena's own subjects and buckets. Every part of a node's work
// goes through: the heartbeats, claiming a room, player IDs, a redirect's
// reserved seat, checkpoints, and a drain that moves the room to the
// other node; and NATS refuses none of it.
func TestANodeNeedsOnlyArenasNATSPermissions(t *testing.T) {
	ns := natstest.StartWith(t, natstest.Users(natstest.ArenaPermissions(), "arena", "pa55-w0rd"))
	refused := make(chan error, 100)
	natsOpts := []nats.Option{
		nats.UserInfo("arena", "pa55-w0rd"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case refused <- err:
			default:
			}
		}),
	}
	config := func(c *server.Config) { c.CheckpointInterval = 100 * time.Millisecond }
	a := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "a", Config: config, NATSOptions: natsOpts})
	b := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "b", Config: config, NATSOptions: natsOpts})
	arenatest.WaitForNodes(t, a, b)

	first, _ := joinFollowing(t, a.URL, "room=keep&mode=tag")
	sent := dialNode(t, b.URL, "room=keep", "")
	if sent.Msg.Type != protocol.BinRedirect || sent.Msg.Seat == "" {
		t.Fatalf("b's answer for a's room: %#x, seat %q; want a redirect with a seat", sent.Msg.Type, sent.Msg.Seat)
	}
	second := dialNode(t, sent.Msg.URL, "room=keep&seat="+sent.Msg.Seat, "")
	if second.Msg.Type != protocol.BinWelcome || second.Welcome.Player == first.Welcome.Player {
		t.Fatalf("the redirected player: %#x, id %d (the first has %d); want a welcome and an ID of its own", second.Msg.Type, second.Welcome.Player, first.Welcome.Player)
	}
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := b.Cluster().Directory().LoadDoc(ctx, "keep")
		return err
	})

	go a.Stop(t)
	if _, err := first.Next(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for first.Msg.Type != protocol.BinRedirect {
		if _, err := first.Next(5 * time.Second); err != nil {
			t.Fatalf("no redirect when a drains: %v", err)
		}
	}
	r := dialNode(t, b.URL, "room=keep", first.Welcome.Token)
	if r.Msg.Type != protocol.BinWelcome || !r.Welcome.Resumed || r.Welcome.Player != first.Welcome.Player {
		t.Fatalf("resume on b after the move: %#x resumed %v player %d (%s); want player %d resumed",
			r.Msg.Type, r.Welcome.Resumed, r.Welcome.Player, r.Msg.Message, first.Welcome.Player)
	}
	select {
	case err := <-refused:
		t.Errorf("NATS refused a node: %v", err)
	default:
	}
}

// TestEveryNodeListsARoomsTickRateAndOptions: a node's room list shows the
// rooms of other nodes with their tick rate and options, as their own
// node does, not a tick rate of 0.
func TestEveryNodeListsARoomsTickRateAndOptions(t *testing.T) {
	nodes := arenatest.StartCluster(t, natstest.Start(t), 2, func(c *server.Config) { c.Room.TickRate = 25 })
	c, to := joinFollowing(t, nodes[0].URL, "room=castle&mode=tag&room.cooldown=3")
	if to != "" || c.Welcome.Room != "castle" {
		t.Fatalf("the player was redirected to %q or joined %q; want castle on a", to, c.Welcome.Room)
	}
	for _, nd := range nodes {
		arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
			for _, r := range roomsOf(t, nd) {
				if r.Name == "castle" && r.Node == "a" && r.TickRate == 25 && r.Options["cooldown"] == "3" && r.Players == 1 {
					return nil
				}
			}
			return fmt.Errorf("%s lists %+v; want castle on a, at 25 ticks a second, cooldown 3, 1 player", nd.URL, roomsOf(t, nd))
		})
	}
}

// TestRedirectFloodLocksNobodyOut: one address asks another node for a
// room over and over, and each redirect holds a seat in the room for it.
// The holds are charged to that address, which holds four at most (each
// new one takes its oldest's place), and all holds take at most a quarter
// of the room: a friend from another address still gets a seat held, and
// plays. They used to count against nobody, and one address held every
// seat of the room.
func TestRedirectFloodLocksNobodyOut(t *testing.T) {
	ns := natstest.Start(t)
	nodes := arenatest.StartCluster(t, ns, 2, func(c *server.Config) { c.Room.Capacity = 20 })
	a, b := nodes[0], nodes[1]
	joinFollowing(t, a.URL, "room=r&mode=tag")
	query := "?room=r"
	for range 60 {
		_, refusal, _ := tryNativeFrom(t, attackerIP, b.WSURL+query)
		if refusal == nil || refusal.Type != protocol.BinRedirect {
			t.Fatalf("the attacker's join through b: %+v; want a redirect", refusal)
		}
	}
	held := func() int {
		for _, st := range a.Manager().Rooms() {
			if st.Name == "r" {
				return st.Held
			}
		}
		return -1
	}
	if h := held(); h > 4 {
		t.Errorf("one address's 60 redirects hold %d seats; want 4 at most", h)
	}
	_, refusal, _ := tryNativeFrom(t, victimIP, b.WSURL+query)
	if refusal == nil || refusal.Type != protocol.BinRedirect || refusal.Seat == "" {
		t.Fatalf("the friend's join through b: %+v; want a redirect with a seat held", refusal)
	}
	plays(t, dialNativeFrom(t, victimIP, a.WSURL+query+"&mode=tag&seat="+refusal.Seat))
}
