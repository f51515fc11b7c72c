package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/server"
)

// ledger is a mode for tests of who plays: dots, whose game records every
// game.Player it is given, and ends, with every player in its standings,
// on the tick after a player holds Action. It saves and restores as dots
// does.
type ledger struct {
	mu      sync.Mutex
	players []game.Player
}

func (l *ledger) mode() game.Mode {
	return game.Mode{Name: "ledger", New: func(cfg game.Config) game.Game {
		return &ledgerGame{Dots: dots.New(cfg), ledger: l}
	}}
}

// joined returns the players the game was given, in order.
func (l *ledger) joined() []game.Player {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]game.Player(nil), l.players...)
}

type ledgerGame struct {
	*dots.Dots
	ledger *ledger
	ids    []game.PlayerID
	over   bool
}

func (g *ledgerGame) Join(p game.Player) error {
	g.ledger.mu.Lock()
	g.ledger.players = append(g.ledger.players, p)
	g.ledger.mu.Unlock()
	g.ids = append(g.ids, p.ID)
	return g.Dots.Join(p)
}

func (g *ledgerGame) Step(in []game.Input) {
	for _, i := range in {
		g.over = g.over || i.Buttons&game.Action != 0
	}
	g.Dots.Step(in)
}

func (g *ledgerGame) Over() (game.Result, bool) {
	if !g.over {
		return game.Result{}, false
	}
	res := game.Result{Summary: "ended"}
	for _, e := range g.Dots.AppendEntities(nil) {
		if e.Kind == game.KindPlayer {
			res.Standings = append(res.Standings, game.Standing{Player: game.PlayerID(e.ID)})
		}
	}
	return res, true
}

// ticketBackend is the developer's own backend: it vouches for the
// tickets it issued, answering who holds each, and refuses any other.
// Its "slow" ticket never gets an answer in time.
func ticketBackend(t *testing.T) *httptest.Server {
	t.Helper()
	users := map[string]struct{ User, Name string }{
		"t-alice": {"acct-alice", "Alice"},
		"t-bob":   {"acct-bob", "Bob"},
	}
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticket := r.URL.Query().Get("ticket")
		if ticket == "slow" {
			<-r.Context().Done()
			return
		}
		u, ok := users[ticket]
		if !ok {
			http.Error(w, "unknown ticket", http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"user": u.User, "name": u.Name})
	}))
	t.Cleanup(b.Close)
	return b
}

// checkTicket is the join hook of the docs' example: it asks the backend
// about the join's ?ticket=.
func checkTicket(backend string) server.JoinHook {
	return func(ctx context.Context, r *http.Request, join server.JoinInfo) (server.Identity, error) {
		ticket := r.URL.Query().Get("ticket")
		if ticket == "" {
			return server.Identity{}, errors.New("a ticket is needed to play here")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, backend+"/check?ticket="+url.QueryEscape(ticket), nil)
		if err != nil {
			return server.Identity{}, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return server.Identity{}, fmt.Errorf("ticket check: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return server.Identity{}, errors.New("your ticket is not valid")
		}
		var who struct{ User, Name string }
		if err := json.NewDecoder(resp.Body).Decode(&who); err != nil {
			return server.Identity{}, fmt.Errorf("ticket check: %w", err)
		}
		return server.Identity{Account: who.User, Name: who.Name}, nil
	}
}

// resultLog is a result hook that keeps what it is given.
type resultLog struct {
	mu      sync.Mutex
	results []server.ResultInfo
	got     chan struct{}
}

func newResultLog() *resultLog { return &resultLog{got: make(chan struct{}, 100)} }

func (l *resultLog) hook(_ context.Context, res server.ResultInfo) {
	l.mu.Lock()
	l.results = append(l.results, res)
	l.mu.Unlock()
	l.got <- struct{}{}
}

func (l *resultLog) all() []server.ResultInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]server.ResultInfo(nil), l.results...)
}

// wait waits for the next result.
func (l *resultLog) wait(t *testing.T) {
	t.Helper()
	select {
	case <-l.got:
	case <-time.After(5 * time.Second):
		t.Fatal("no result within 5s")
	}
}

// startHooked starts a server of the ledger mode with the join hook and
// the result hook (each may be nil).
func startHooked(t *testing.T, l *ledger, onJoin server.JoinHook, onResult server.ResultHook, more func(*server.Config)) *arenatest.Server {
	return arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Modes = []game.Mode{l.mode(), dots.Mode}
		c.OnJoin, c.OnResult = onJoin, onResult
		if more != nil {
			more(c)
		}
	}})
}

// refusal reads what a refused connection gets: an error message, then a
// close frame.
func refusal(t *testing.T, conn *websocket.Conn) (code, message string, closed *websocket.CloseError) {
	t.Helper()
	code, message = readError(t, conn)
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, _, err := conn.ReadMessage()
	if !errors.As(err, &closed) {
		t.Fatalf("after the error: %v; want a close frame", err)
	}
	return code, message, closed
}

// TestJoinHookChecksTicketsWithTheBackend: the join hook asks the
// developer's backend about each join's ticket. A join without one, or
// with one the backend refuses, gets the hook's own text with the final
// code unauthorized and close 1008; one whose check outlasts the
// handshake timeout is told to try again (1013), even from a hook that
// does not heed its context; a good ticket plays as
// the backend's user, under its name whatever ?name= says, and the game
// sees who. A made-up resume token does not get past the hook.
func TestJoinHookChecksTicketsWithTheBackend(t *testing.T) {
	t.Parallel()
	backend := ticketBackend(t)
	l := &ledger{}
	check := checkTicket(backend.URL)
	deaf := make(chan struct{})
	t.Cleanup(func() { close(deaf) })
	hook := func(ctx context.Context, r *http.Request, join server.JoinInfo) (server.Identity, error) {
		if r.URL.Query().Get("ticket") == "deaf" {
			<-deaf // whatever ctx says
		}
		return check(ctx, r, join)
	}
	srv := startHooked(t, l, hook, nil, func(c *server.Config) { c.HandshakeTimeout = time.Second })
	base := srv.WSURL + "?room=club&mode=ledger&name=Mallory"

	for _, tc := range []struct{ query, code, text string }{
		{"", protocol.CodeUnauthorized, "a ticket is needed to play here"},
		{"&ticket=forged", protocol.CodeUnauthorized, "your ticket is not valid"},
		{"&ticket=slow", protocol.CodeServerError, "could not check the join in time; try again"},
		{"&ticket=deaf", protocol.CodeServerError, "could not check the join in time; try again"},
	} {
		conn := dialProtocol(t, base+tc.query, protocol.SubprotocolJSON)
		code, text, closed := refusal(t, conn)
		wantClose := websocket.ClosePolicyViolation
		if tc.code == protocol.CodeServerError {
			wantClose = websocket.CloseTryAgainLater
		}
		if code != tc.code || text != tc.text || closed.Code != wantClose || closed.Text != tc.text {
			t.Errorf("%q: %s %q, closed %d %q; want %s %q, closed %d", tc.query, code, text, closed.Code, closed.Text, tc.code, tc.text, wantClose)
		}
	}
	if got := l.joined(); len(got) != 0 {
		t.Fatalf("refused joins reached the game: %+v", got)
	}

	alice := dialNative(t, base+"&ticket=t-alice")
	bob := dialNative(t, srv.WSURL+"?room=club&ticket=t-bob")
	got := l.joined()
	want := []game.Player{
		{ID: alice.welcome.Player, Name: "Alice", Account: "acct-alice"},
		{ID: bob.welcome.Player, Name: "Bob", Account: "acct-bob"},
	}
	if len(got) != 2 || got[0].ID != want[0].ID || got[0].Name != want[0].Name || got[0].Account != want[0].Account ||
		got[1].ID != want[1].ID || got[1].Name != want[1].Name || got[1].Account != want[1].Account {
		t.Errorf("the game was given %+v; want %+v", got, want)
	}

	// A token that resumes nobody would have seated a new player, whom
	// the hook never saw.
	conn := dialProtocol(t, srv.WSURL+"?room=club&resume=1", protocol.SubprotocolBinary)
	if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryResume(nil, "made-up-token")); err != nil {
		t.Fatal(err)
	}
	if code, _, closed := refusal(t, conn); code != protocol.CodeResumeFailed || closed.Code != websocket.ClosePolicyViolation {
		t.Errorf("a made-up resume: %s, closed %d; want %s, 1008", code, closed.Code, protocol.CodeResumeFailed)
	}
	if n := len(l.joined()); n != 2 {
		t.Errorf("the game was given %d players; want the 2 with tickets", n)
	}
}

// waitGameOver reads until the server closes the connection with 1000
// "the game is over".
func waitGameOver(t *testing.T, c *nativeClient) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "the game is over" {
			t.Fatalf("waiting for the game's end: %v; want close 1000 the game is over", err)
		}
		return
	}
}

// TestIdentityMovesWithTheRoomAndIsInTheResult: a player the hook
// admitted keeps its account when its room moves to another server and it
// resumes there (with its token, no ticket); the game's result, reported
// there once, carries it. A copy of the room, imported elsewhere from a
// document written before the end, reports that game's end again under
// the same key, so that a store keeps it once.
func TestIdentityMovesWithTheRoomAndIsInTheResult(t *testing.T) {
	t.Parallel()
	backend := ticketBackend(t)
	l := &ledger{}
	logA, logB, logC := newResultLog(), newResultLog(), newResultLog()
	hook := checkTicket(backend.URL)
	srvA := startHooked(t, l, hook, logA.hook, nil)
	srvB := startHooked(t, l, hook, logB.hook, nil)
	srvC := startHooked(t, l, hook, logC.hook, nil)

	alice := dialNative(t, srvA.WSURL+"?room=mv&mode=ledger&ticket=t-alice")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srvA.Manager().Move(ctx, "mv", func(doc []byte) (*room.ElsewhereError, error) {
		if _, err := srvB.Manager().Import(doc); err != nil {
			return nil, err
		}
		return &room.ElsewhereError{Room: "mv", URL: srvB.URL + "/"}, nil
	})
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	_ = alice.conn.Close()

	conn := dialProtocol(t, srvB.WSURL+"?room=mv&resume=1", protocol.SubprotocolBinary)
	if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryResume(nil, alice.welcome.Token)); err != nil {
		t.Fatal(err)
	}
	moved := &nativeClient{t: t, conn: conn}
	if m := moved.next(3 * time.Second); m.Type != protocol.BinWelcome || !m.Welcome.Resumed || m.Welcome.Player != alice.welcome.Player {
		t.Fatalf("resume on b: %#x %+v; want player %d resumed", m.Type, m.Welcome, alice.welcome.Player)
	}
	moved.welcome = moved.msg.Welcome
	moved.waitState("a snapshot on b", func() bool { return moved.me().ID != 0 })

	doc, err := srvB.Manager().Export(ctx, "mv") // before the end
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"account":"acct-alice"`) {
		t.Errorf("the room's document keeps no account: %s", doc)
	}
	moved.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	waitGameOver(t, moved)
	logB.wait(t)

	// The copy: alice resumes it on c with the same token, and ends it
	// again.
	if _, err := srvC.Manager().Import(doc); err != nil {
		t.Fatalf("import into c: %v", err)
	}
	conn = dialProtocol(t, srvC.WSURL+"?room=mv&resume=1", protocol.SubprotocolBinary)
	if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryResume(nil, moved.welcome.Token)); err != nil {
		t.Fatal(err)
	}
	copied := &nativeClient{t: t, conn: conn}
	if m := copied.next(3 * time.Second); m.Type != protocol.BinWelcome || !m.Welcome.Resumed {
		t.Fatalf("resume on c: %#x %+v", m.Type, m.Welcome)
	}
	copied.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	waitGameOver(t, copied)
	logC.wait(t)

	// Stopping hands the hooks all that was queued.
	for _, s := range []*arenatest.Server{srvA, srvB, srvC} {
		s.Stop(t)
	}
	if got := logA.all(); len(got) != 0 {
		t.Errorf("a, which the room left, reported %+v", got)
	}
	b, c := logB.all(), logC.all()
	if len(b) != 1 || len(c) != 1 {
		t.Fatalf("b reported %d results, c %d; want 1 each", len(b), len(c))
	}
	res := b[0]
	wantPlayers := []server.ResultPlayer{{ID: alice.welcome.Player, Name: "Alice", Account: "acct-alice"}}
	if res.Room != "mv" || res.Mode != "ledger" || res.Game != 1 || res.Result.Game != 1 || res.Result.Summary != "ended" ||
		fmt.Sprint(res.Players) != fmt.Sprint(wantPlayers) || res.RoomID == "" {
		t.Errorf("b reported %+v; want room mv, mode ledger, game 1, players %+v", res, wantPlayers)
	}
	if c[0].Key() != res.Key() {
		t.Errorf("the copy's result has key %q, the original's %q: a store would keep the game twice", c[0].Key(), res.Key())
	}
}

// TestResultHookThatBlocksStallsNoRoom: a result hook that never returns
// holds up neither the room that reported (its players are told the game
// is over and closed) nor the next ones, nor any other room's ticks;
// results beyond its queue are dropped and counted.
func TestResultHookThatBlocksStallsNoRoom(t *testing.T) {
	t.Parallel()
	l := &ledger{}
	entered := make(chan string, 10)
	release := make(chan struct{})
	hook := func(_ context.Context, res server.ResultInfo) {
		entered <- res.Room
		<-release
	}
	srv := startHooked(t, l, nil, hook, func(c *server.Config) { c.ResultQueue = 1 })
	t.Cleanup(func() { close(release) }) // before the server stops: cleanups run last first

	ticker := dialNative(t, srv.WSURL+"?room=ticker&mode=dots")
	_ = ticker
	for i, name := range []string{"first", "queued", "dropped"} {
		c := dialNative(t, srv.WSURL+"?room="+name+"&mode=ledger")
		c.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
		waitGameOver(t, c)
		if i == 0 {
			select {
			case <-entered: // the hook has the first, and blocks
			case <-time.After(5 * time.Second):
				t.Fatal("the hook was not called within 5s")
			}
		}
	}
	stats := func() room.Stats {
		for _, st := range srv.Manager().Rooms() {
			if st.Name == "ticker" {
				return st
			}
		}
		t.Fatal("the ticker room is gone")
		return room.Stats{}
	}
	from := stats().Ticks
	arenatest.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		if got := stats().Ticks; got < from+10 {
			return fmt.Errorf("the ticker room ran %d ticks while the hook blocked; want 10", got-from)
		}
		return nil
	})
	if got := metric(t, srv, "arena_results_dropped_total"); got != 1 {
		t.Errorf("arena_results_dropped_total %v; want 1", got)
	}
}
