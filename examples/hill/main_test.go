package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/gametest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// TestMain lets a test run the example's main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv(arenatest.RunMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServedNextToTheBuiltInModes runs the example's main, on the port PORT
// names as a hosting platform would set it, and asks it for its modes.
// Without HILL_TICKETS_URL, everyone plays as a guest.
func TestServedNextToTheBuiltInModes(t *testing.T) {
	env := []string{"PORT=0", "HILL_TICKETS_URL=", "HILL_RESULTS=" + filepath.Join(t.TempDir(), "results.jsonl")}
	_, addr := arenatest.StartMain(t, env, "-host", "127.0.0.1")
	modes := arenatest.Modes(t, addr)
	if got, want := arenatest.ModeList(modes), "dots* tag hill"; got != want {
		t.Errorf("GET /api/modes lists %q; want %q", got, want)
	}
	if hill := modes[2]; hill.MaxPlayers != Mode.MaxPlayers {
		t.Errorf("GET /api/modes gives hill max_players %d; want %d", hill.MaxPlayers, Mode.MaxPlayers)
	}
	c := arenatest.Dial(t, "ws://"+addr+"/?mode=hill", nil)
	c.Init()
}

func TestStandingOnTheHillScores(t *testing.T) {
	h := New(game.Config{Rand: rand.New(rand.NewPCG(1, 2)), TickRate: 20})
	h.Join(game.Player{ID: 1})
	h.Join(game.Player{ID: 2})
	h.players[0].x, h.players[0].y = hillX+10, hillY // on the hill
	h.players[1].x, h.players[1].y = 20, 20          // far away
	for range 3 * 20 {
		h.Step(nil)
	}
	ents := h.AppendEntities(nil)
	if len(ents) != 3 || ents[2].Kind != game.KindItem {
		t.Fatalf("entities %+v; want two players and the hill", ents)
	}
	if ents[0].Fields[fieldScore] != 3 || ents[1].Fields[fieldScore] != 0 {
		t.Errorf("scores %d and %d after 3 s; want 3 and 0", ents[0].Fields[fieldScore], ents[1].Fields[fieldScore])
	}
	// Walking off stops the count.
	for range 10 {
		h.Step([]game.Input{{Player: 1, Buttons: game.Right}})
	}
	before := h.AppendEntities(nil)[0].Fields[fieldScore]
	for range 40 {
		h.Step(nil)
	}
	if after := h.AppendEntities(nil)[0].Fields[fieldScore]; after != before {
		t.Errorf("scored %d off the hill", after-before)
	}
}

func TestTheGoalEndsTheGame(t *testing.T) {
	opts, err := game.ParseOptions(Mode.RoomOptions, map[string]string{"goal": "2"})
	if err != nil {
		t.Fatal(err)
	}
	h := New(game.Config{Rand: rand.New(rand.NewPCG(1, 2)), TickRate: 20, Options: opts})
	h.Join(game.Player{ID: 1, Name: "ann"})
	h.Join(game.Player{ID: 2, Name: "bob"})
	h.players[1].x, h.players[1].y = hillX, hillY
	for range 2*20 - 1 {
		h.Step(nil)
		if _, over := h.Over(); over {
			t.Fatal("over before anyone reached the goal")
		}
	}
	h.Step(nil)
	res, over := h.Over()
	if !over || res.Standings[0].Name != "bob" || res.Standings[0].Score != 2 || res.Summary != "bob is king of the hill with 2 points" {
		t.Fatalf("Over() = %+v, %v; want bob winning with 2", res, over)
	}
}

// TestHillSavesItsState: the hill is game.Persistent, and refuses states
// its rules could never produce.
func TestHillSavesItsState(t *testing.T) {
	gametest.RoundTrip(t, Mode,
		`not json`,
		`{"players":[{"id":2,"x":100,"y":100},{"id":1,"x":100,"y":100}]}`, // out of order
		`{"players":[{"id":1,"x":600,"y":100}]}`,                          // off the field
		`{"players":[{"id":1,"x":100,"y":100,"score":-1}]}`,
		`{"players":[{"id":1,"x":100,"y":100,"score":21}]}`, // past the default goal
		`{"players":[{"id":1,"x":100,"y":100,"ticks":20}]}`, // a second of 20 ticks has 0 to 19
	)
}

// backend is the developer's own backend of tickets: a ticket "t-NAME" is
// NAME's, whose account is "u-NAME"; any other ticket is unknown.
func backend(t *testing.T) string {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/tickets/t-")
		if !ok || name == "" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"account": "u-" + name, "name": name})
	}))
	t.Cleanup(b.Close)
	return b.URL + "/tickets"
}

// start runs a server of the hill with the example's hooks: tickets
// checked by backend, results appended to a file in a temporary directory.
// Each result is sent on the channel returned once the hook has written
// it.
func start(t *testing.T) (srv *arenatest.Server, results string, saved <-chan server.ResultInfo) {
	results = filepath.Join(t.TempDir(), "results.jsonl")
	save := AppendResults(results)
	written := make(chan server.ResultInfo, 16)
	srv = arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Modes = []game.Mode{Mode}
		c.OnJoin = CheckTicket(backend(t), nil)
		c.OnResult = func(ctx context.Context, res server.ResultInfo) {
			save(ctx, res)
			written <- res
		}
	}})
	return srv, results, written
}

// join connects a player to the hill with query and fails the test
// unless it is welcomed.
func join(t *testing.T, srv *arenatest.Server, query string) *arenatest.NativeClient {
	t.Helper()
	p, err := arenatest.DialNative(t, srv.URL, query, "")
	if err != nil {
		t.Fatalf("join with %s: %v", query, err)
	}
	if p.Msg.Type != protocol.BinWelcome {
		t.Fatalf("join with %s: got %s %q; want a welcome", query, p.Msg.Code, p.Msg.Message)
	}
	return p
}

// refused connects with query and checks that the server refuses it with
// code and close code, and returns its message.
func refused(t *testing.T, srv *arenatest.Server, query, code string, closeCode int) string {
	t.Helper()
	p, err := arenatest.DialNative(t, srv.URL, query, "")
	if err != nil {
		t.Fatalf("join with %s: %v", query, err)
	}
	if p.Msg.Type != protocol.BinError || p.Msg.Code != code {
		t.Fatalf("join with %s: got message %#x %s %q; want error %s", query, p.Msg.Type, p.Msg.Code, p.Msg.Message, code)
	}
	if got, err := p.CloseCode(5 * time.Second); err != nil || got != closeCode {
		t.Errorf("join with %s: closed with %d (%v); want %d", query, got, err, closeCode)
	}
	return p.Msg.Message
}

// TestTickets: the join hook seats a ticket's holder under the name the
// backend gives, whatever ?name= says, and refuses a bad ticket, or none,
// with its own words: unauthorized, close 1008, which clients do not retry.
func TestTickets(t *testing.T) {
	srv, _, _ := start(t)
	ann := join(t, srv, "mode=hill&ticket=t-ann&name=zed")
	if err := ann.WaitState(5*time.Second, func() bool { return ann.Me().ID != 0 }); err != nil {
		t.Fatal(err)
	}
	if got := ann.Me().Texts[textName]; got != "ann" {
		t.Errorf("the ticket's holder is called %q; want the backend's name, ann", got)
	}
	// A site may set the ticket as a cookie instead, which the browser
	// sends with the WebSocket's request.
	bob := arenatest.Dial(t, "ws://"+srv.Addr+"/?mode=hill", http.Header{"Cookie": {"ticket=t-bob"}})
	bob.Init()
	if msg := refused(t, srv, "mode=hill&ticket=forged&name=ann", protocol.CodeUnauthorized, 1008); msg != "that ticket is not valid" {
		t.Errorf("a bad ticket is refused with %q", msg)
	}
	if msg := refused(t, srv, "mode=hill&name=ann", protocol.CodeUnauthorized, 1008); msg != "this hill is for ticket holders: join from the site" {
		t.Errorf("no ticket is refused with %q", msg)
	}
}

// TestEightOnAHill: a room of the hill seats 8. The 9th is told the room is
// full (room_full, 1013: try later or elsewhere), and a quick-join opens
// another room.
func TestEightOnAHill(t *testing.T) {
	srv, _, _ := start(t)
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		join(t, srv, "mode=hill&room=crowd&ticket=t-"+name)
	}
	refused(t, srv, "mode=hill&room=crowd&ticket=t-i", protocol.CodeRoomFull, 1013)
	if p := join(t, srv, "mode=hill&ticket=t-i"); p.Welcome.Room == "crowd" {
		t.Errorf("a quick-join went to the full room %q", p.Welcome.Room)
	}
}

// TestPlayedToTheWin plays a game to its goal over a real socket: the
// player walks to the hill and stands there. The game ends with room_over,
// the result hook writes exactly one line for it, with the player's
// account, and the room plays again (room_rematch).
func TestPlayedToTheWin(t *testing.T) {
	srv, results, saved := start(t)
	ann := join(t, srv, "mode=hill&room=duel&room.goal=1&ticket=t-ann")
	var seq uint32
	held := game.Buttons(0)
	var over []byte
	deadline := time.Now().Add(10 * time.Second)
	for over == nil {
		m, err := ann.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for room_over: %v", err)
		}
		switch {
		case m.Type == protocol.BinEvent && m.Event == "room_over":
			over = bytes.Clone(m.Data)
		case m.Type == protocol.BinSnapshot && ann.Me().ID != 0:
			// Steer to the middle of the hill, and stop there.
			if b := towards(ann.Me(), hillX, hillY); b != held {
				seq, held = seq+1, b
				if err := ann.Send(protocol.AppendBinaryInput(nil, seq, b, ann.Tick)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var res game.Result
	if err := json.Unmarshal(over, &res); err != nil || res.Game != 1 || len(res.Standings) != 1 || res.Standings[0].Name != "ann" || res.Standings[0].Score != 1 {
		t.Fatalf("room_over %s (%v); want game 1 won by ann with 1 point", over, err)
	}

	// The hook runs off the room: wait for it to have written.
	select {
	case res := <-saved:
		if res.Game != 1 {
			t.Fatalf("the first result reported is of game %d", res.Game)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no result within 5 s")
	}
	data, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%s has %d lines; want 1:\n%s", results, len(lines), data)
	}
	var line struct {
		Room, Mode string
		Game       int
		Players    []struct{ Name, Account string }
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("%s: %v", lines[0], err)
	}
	if line.Room != "duel" || line.Mode != "hill" || line.Game != 1 || len(line.Players) != 1 ||
		line.Players[0].Name != "ann" || line.Players[0].Account != "u-ann" {
		t.Errorf("result line %s; want game 1 of room duel, played by ann with account u-ann", lines[0])
	}

	// The room plays again after Mode.Rematch, with ann in it.
	deadline = time.Now().Add(Mode.Rematch + 5*time.Second)
	for {
		m, err := ann.Next(time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for room_rematch: %v", err)
		}
		if m.Type == protocol.BinEvent && m.Event == "room_rematch" {
			if string(m.Data) != `{"game":2}` {
				t.Errorf("room_rematch %s; want game 2", m.Data)
			}
			break
		}
	}
}

// towards returns the buttons that bring e to (x, y), or none once it is
// within a step of it.
func towards(e game.Entity, x, y int32) game.Buttons {
	var b game.Buttons
	switch {
	case e.X < x-5:
		b |= game.Right
	case e.X > x+5:
		b |= game.Left
	}
	switch {
	case e.Y < y-5:
		b |= game.Down
	case e.Y > y+5:
		b |= game.Up
	}
	return b
}
