package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// Hostile addresses: the attacker dials from 127.0.0.1, the victim from
// 127.0.0.2 (both loopback on Linux).
const (
	attackerIP = "127.0.0.1"
	victimIP   = "127.0.0.2"
)

// dialerFrom returns a WebSocket dialer whose connections come from ip.
func dialerFrom(ip string, subprotocols ...string) *websocket.Dialer {
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &websocket.Dialer{
		HandshakeTimeout: 5 * time.Second,
		Subprotocols:     subprotocols,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nd.DialContext(ctx, network, addr)
		},
	}
}

// dialNativeFrom is dialNative from the address ip.
func dialNativeFrom(t *testing.T, ip, url string) *nativeClient {
	t.Helper()
	conn, _, err := dialerFrom(ip, protocol.SubprotocolBinary).Dial(url, nil)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &nativeClient{t: t, conn: conn}
	c.next(5 * time.Second)
	if c.msg.Type != protocol.BinWelcome {
		t.Fatalf("first message type %#x; want welcome", c.msg.Type)
	}
	c.welcome = c.msg.Welcome
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Not parallel: its 18,810 inputs would take the CPU from tests that
// measure the tick rate.
func TestBurstingPlayersDropOnlyTheirOwnInputs(t *testing.T) {
	// One tick a second, so that every burst lands between two ticks; the
	// attackers all come from one address, so it may hold them all.
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.TickRate = 1
		c.Room.MaxSeatsPerAddr = 0
	}})
	const flooders, burst = 99, 190 // under MessageBurst: none is closed as a flood
	attackers := make([]*nativeClient, flooders)
	for i := range attackers {
		attackers[i] = dialNativeFrom(t, attackerIP, srv.WSURL)
	}
	victim := dialNativeFrom(t, victimIP, srv.WSURL)
	victim.waitState("first state", func() bool { return true })

	// Right after a tick: the attackers' bursts all arrive, then the
	// victim's input, before the next tick.
	before := metric(t, srv, "arena_messages_received_total")
	var wg sync.WaitGroup
	for _, a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var msg []byte
			for seq := uint32(1); seq <= burst; seq++ {
				msg = protocol.AppendBinaryInput(msg[:0], seq, game.Right, 0)
				if err := a.conn.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					t.Errorf("attacker write: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "bursts received", func() bool {
		return metric(t, srv, "arena_messages_received_total") >= before+flooders*burst
	})
	victim.send(protocol.AppendBinaryInput(nil, 1, game.Down, 0))
	victim.waitState("the victim's input acked", func() bool { return victim.ack == 1 })
	if got := metric(t, srv, `arena_inputs_dropped_total{reason="inbox_full"}`); got > 0 {
		t.Errorf("inputs_dropped_total{inbox_full} = %v; want 0", got)
	}
	if got := metric(t, srv, `arena_inputs_dropped_total{reason="superseded"}`); got <= 0 {
		t.Errorf("inputs_dropped_total{superseded} = %v; the bursts should have cost their senders", got)
	}
}

// tryNativeFrom dials from ip and reads the first message: the welcome, or
// the error of a refused join (then it also reads the close frame).
func tryNativeFrom(t *testing.T, ip, url string) (c *nativeClient, refusal *protocol.ServerMessage, closeCode int) {
	t.Helper()
	conn, _, err := dialerFrom(ip, protocol.SubprotocolBinary).Dial(url, nil)
	if err != nil {
		t.Fatalf("dial from %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	c = &nativeClient{t: t, conn: conn}
	c.next(5 * time.Second)
	if c.msg.Type == protocol.BinWelcome {
		c.welcome = c.msg.Welcome
		return c, nil, 0
	}
	msg := c.msg
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = conn.ReadMessage()
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		closeCode = ce.Code
	}
	return nil, &msg, closeCode
}

// joinAndDrop joins from ip, reads the welcome (or refusal) and drops the
// TCP connection without a close frame, leaving an away player behind.
func joinAndDrop(t *testing.T, srv *arenatest.Server, ip, query string) {
	t.Helper()
	c, _, _ := tryNativeFrom(t, ip, srv.WSURL+query)
	if c != nil {
		c.conn.NetConn().Close()
	}
}

// plays checks that c's player is in the world and its input applies.
func plays(t *testing.T, c *nativeClient) {
	t.Helper()
	c.waitState("own entity", func() bool { return c.me().ID != 0 })
	c.send(protocol.AppendBinaryInput(nil, 1, game.Down, 0))
	c.waitState("input acked", func() bool { return c.ack == 1 })
}

func TestOneAddressCannotFillARoomWithAwayPlayers(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.Capacity = 8
		c.Room.MaxSeatsPerAddr = 3
		c.MaxSeatsPerIP = 5
	}})
	// Far more than the rooms hold: every join is dropped at once, and
	// the away players would stay for the resume grace (20 s).
	for range 20 {
		joinAndDrop(t, srv, attackerIP, "?room=victim")
		joinAndDrop(t, srv, attackerIP, "")
	}
	waitFor(t, 5*time.Second, "the attacker's connections closed", func() bool {
		return metric(t, srv, "arena_connections") == 0
	})
	if got := metric(t, srv, "arena_players"); got > 5 {
		t.Errorf("one address holds %v players; want at most -max-seats-per-ip (5)", got)
	}
	v1, refusal, _ := tryNativeFrom(t, victimIP, srv.WSURL+"?room=victim")
	if refusal != nil {
		t.Fatalf("victim refused from room victim: %s: %s", refusal.Code, refusal.Message)
	}
	plays(t, v1)
	v2, refusal, _ := tryNativeFrom(t, victimIP, srv.WSURL)
	if refusal != nil {
		t.Fatalf("victim refused from the default room: %s: %s", refusal.Code, refusal.Message)
	}
	plays(t, v2)
}

func TestSeatsPerAddressAreRefusedWithReason(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.MaxSeatsPerAddr = 3
		c.MaxSeatsPerIP = 5
	}})
	refused := func(query string) {
		t.Helper()
		_, refusal, code := tryNativeFrom(t, attackerIP, srv.WSURL+query)
		if refusal == nil || refusal.Code != protocol.CodeTooManySeats || code != websocket.ClosePolicyViolation {
			t.Fatalf("join %s beyond the seat limit: got %+v, close %d; want %s and 1008", query, refusal, code, protocol.CodeTooManySeats)
		}
	}
	for range 3 {
		dialNativeFrom(t, attackerIP, srv.WSURL+"?room=x")
	}
	refused("?room=x") // the room's limit, with every seat live
	for range 2 {
		dialNativeFrom(t, attackerIP, srv.WSURL+"?room=y")
	}
	refused("?room=z") // the server's limit
	refusalsCounted(t, srv, "seats_per_ip", 2)
	plays(t, dialNativeFrom(t, victimIP, srv.WSURL+"?room=x"))
}

func TestFullDefaultRoomOverflows(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Room.Capacity = 2 }})
	var rooms []string
	for range 5 {
		rooms = append(rooms, dialNativeFrom(t, attackerIP, srv.WSURL).welcome.Room)
	}
	want := []string{"default", "default", "default-2", "default-2", "default-3"}
	if !slices.Equal(rooms, want) {
		t.Errorf("players that name no room went to %v; want %v", rooms, want)
	}
}

// matchmakeFrom posts to /api/matchmake from ip and returns the status.
// It asks for tag: the tests' rooms run dots, so it needs a new room.
func matchmakeFrom(t *testing.T, srv *arenatest.Server, ip string) int {
	t.Helper()
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: nd.DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(srv.URL+"/api/matchmake", "application/json", strings.NewReader(`{"mode":"tag"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

// refusalsCounted waits for the refusals of reason to reach want: a
// session counts its refusal after sending the close frame.
func refusalsCounted(t *testing.T, srv *arenatest.Server, reason string, want float64) {
	t.Helper()
	sample := `arena_connections_refused_total{reason="` + reason + `"}`
	waitFor(t, 5*time.Second, fmt.Sprintf("%v refusals counted as %s", want, reason), func() bool {
		return metric(t, srv, sample) >= want
	})
	if got := metric(t, srv, sample); got != want {
		t.Errorf("%s = %v; want %v", sample, got, want)
	}
}

// refusedWith checks that a join from ip with query is refused with code
// and close code.
func refusedWith(t *testing.T, srv *arenatest.Server, ip, query, code string, closeCode int) {
	t.Helper()
	_, refusal, got := tryNativeFrom(t, ip, srv.WSURL+query)
	if refusal == nil || refusal.Code != code || got != closeCode {
		t.Fatalf("join %s: got %+v, close %d; want %s and %d", query, refusal, got, code, closeCode)
	}
}

func TestRoomsAreBounded(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.MaxRooms = 3
		c.RoomCreateRate = 0
	}})
	for _, name := range []string{"a", "b", "c"} {
		dialNativeFrom(t, attackerIP, srv.WSURL+"?room="+name)
	}
	refusedWith(t, srv, victimIP, "?room=d", protocol.CodeTooManyRooms, websocket.CloseTryAgainLater)
	if got := matchmakeFrom(t, srv, victimIP); got != http.StatusServiceUnavailable {
		t.Errorf("matchmake with no room left: %d; want 503", got)
	}
	refusalsCounted(t, srv, "max_rooms", 2)
	// The live rooms and the default room still take players.
	plays(t, dialNativeFrom(t, victimIP, srv.WSURL+"?room=a"))
	plays(t, dialNativeFrom(t, victimIP, srv.WSURL))
}

func TestRoomCreationIsRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.RoomCreateRate = 1 // a minute: nothing refills during the test
		c.RoomCreateBurst = 3
	}})
	for _, name := range []string{"a1", "a2", "a3"} {
		joinAndDrop(t, srv, attackerIP, "?room="+name)
	}
	refusedWith(t, srv, attackerIP, "?room=a4", protocol.CodeRateLimited, websocket.ClosePolicyViolation)
	if got := matchmakeFrom(t, srv, attackerIP); got != http.StatusTooManyRequests {
		t.Errorf("matchmake past the rate: %d; want 429", got)
	}
	refusalsCounted(t, srv, "room_create_rate", 2)
	// Joining rooms that exist is no creation; other addresses are not
	// limited by the attacker's rate.
	plays(t, dialNativeFrom(t, attackerIP, srv.WSURL+"?room=a1"))
	plays(t, dialNativeFrom(t, victimIP, srv.WSURL+"?room=v1"))
	if got := matchmakeFrom(t, srv, victimIP); got != http.StatusOK {
		t.Errorf("matchmake from another address: %d; want 200", got)
	}
}

func TestRoomListIsAPage(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	// Rooms r1..r4 with 1..4 players.
	for n := 1; n <= 4; n++ {
		for range n {
			dialNativeFrom(t, attackerIP, srv.WSURL+"?room=r"+strconv.Itoa(n))
		}
	}
	type page struct {
		Rooms         []server.RoomInfo `json:"rooms"`
		Total, Offset int
		Limit         int
	}
	var p page
	waitFor(t, 5*time.Second, "every player counted", func() bool {
		getJSON(t, srv.URL+"/api/rooms?limit=2&offset=1", &p)
		return p.Total == 4 && len(p.Rooms) == 2 && p.Rooms[0].Players == 3
	})
	if p.Rooms[0].Name != "r3" || p.Rooms[1].Name != "r2" || p.Offset != 1 || p.Limit != 2 {
		t.Errorf("page 2 of 2 by players: %+v; want r3 then r2", p)
	}
	getJSON(t, srv.URL+"/api/rooms?limit=100000", &p)
	if p.Limit != 200 || len(p.Rooms) != 4 || p.Rooms[0].Name != "r4" {
		t.Errorf("limit above the maximum: %+v; want limit 200 and all 4, fullest first", p)
	}
	if code := getJSON(t, srv.URL+"/api/rooms?limit=-1", &map[string]any{}); code != http.StatusBadRequest {
		t.Errorf("limit=-1: %d; want 400", code)
	}
}

// TestJoinsAreRateLimitedPerAddress: an address joining flat out, which
// would burn a cluster's player IDs, is refused past -join-rate with a
// retryable code; another address joins as ever.
func TestJoinsAreRateLimitedPerAddress(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.JoinRate = 1.0 / 60 // nothing refills during the test
		c.JoinBurst = 3
	}})
	for range 3 {
		joinAndDrop(t, srv, attackerIP, "?room=j")
	}
	refusedWith(t, srv, attackerIP, "?room=j", protocol.CodeRateLimited, websocket.CloseTryAgainLater)
	refusalsCounted(t, srv, "join_rate", 1)
	plays(t, dialNativeFrom(t, victimIP, srv.WSURL+"?room=j"))
}
