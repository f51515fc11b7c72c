package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// testAccounts is an Authenticator for tests: the identity or the error
// of each token it knows. Any other token is not valid.
type testAccounts struct {
	mu     sync.Mutex
	tokens map[string]server.Identity
	errs   map[string]error
	calls  int
}

func newTestAccounts() *testAccounts {
	return &testAccounts{
		tokens: map[string]server.Identity{
			"tok-ann": {Account: "acct-ann", Name: "Ann"},
			"tok-bob": {Account: "acct-bob", Name: "Bob"},
			"tok-cy":  {Account: "acct-cy", Name: "Cy"},
			// A second token of ann's: another device's.
			"tok-ann-2": {Account: "acct-ann", Name: "Ann"},
		},
		errs: map[string]error{
			"tok-banned": fmt.Errorf("%w until 2027-01-01: cheating", server.ErrBanned),
			"tok-down":   server.ErrAuthUnavailable,
			"tok-slow":   nil, // answers when its context ends
		},
	}
}

func (a *testAccounts) Authenticate(ctx context.Context, token string) (server.Identity, error) {
	a.mu.Lock()
	a.calls++
	id, ok := a.tokens[token]
	err, bad := a.errs[token]
	a.mu.Unlock()
	switch {
	case ok:
		return id, nil
	case token == "tok-slow":
		<-ctx.Done()
		return server.Identity{}, ctx.Err()
	case bad:
		return server.Identity{}, err
	}
	return server.Identity{}, errors.New("token signature is invalid")
}

func (a *testAccounts) callCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// startAccounts starts a server of the ledger and dots modes whose joins
// may sign in with accts' tokens.
func startAccounts(t *testing.T, l *ledger, accts *testAccounts, more func(*server.Config)) *arenatest.Server {
	return startHooked(t, l, nil, nil, func(c *server.Config) {
		c.Accounts = accts
		if more != nil {
			more(c)
		}
	})
}

// signInJSON opens an arena.v1.json connection with ?auth=1 and query,
// sends the auth message first (with a resume token if resume is set),
// and returns the connection.
func signInJSON(t *testing.T, srv *arenatest.Server, query, token, resume string) *websocket.Conn {
	t.Helper()
	conn := dialProtocol(t, srv.WSURL+"?auth=1&"+query, protocol.SubprotocolJSON)
	msg := map[string]string{"t": "auth", "token": token}
	if resume != "" {
		msg["resume"] = resume
	}
	if err := conn.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
	return conn
}

// jsonWelcome is what a test reads of a JSON welcome.
type jsonWelcome struct {
	T       string
	ID      uint32
	Resumed bool
	Token   string
	Account *struct{ ID, Name string }
}

func readJSONWelcome(t *testing.T, conn *websocket.Conn) jsonWelcome {
	t.Helper()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the welcome: %v", err)
		}
		var w jsonWelcome
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatal(err)
		}
		switch w.T {
		case "welcome":
			return w
		case "error":
			t.Fatalf("instead of a welcome: %s", data)
		}
	}
}

// TestSignInInEveryProtocol: a player signs in after the handshake, with
// its access token in the first message of any of the three protocols,
// and plays as its account: the welcome (init) tells it, its account's
// name replaces ?name=, and the game and the result see the account.
func TestSignInInEveryProtocol(t *testing.T) {
	t.Parallel()
	l := &ledger{}
	accts := newTestAccounts()
	results := newResultLog()
	srv := startHooked(t, l, nil, results.hook, func(c *server.Config) { c.Accounts = accts })

	js := signInJSON(t, srv, "room=club&mode=ledger&name=Mallory", "tok-ann", "")
	w := readJSONWelcome(t, js)
	if w.Account == nil || w.Account.ID != "acct-ann" || w.Account.Name != "Ann" {
		t.Errorf("JSON welcome's account %+v; want acct-ann, Ann", w.Account)
	}

	bin := dialProtocol(t, srv.WSURL+"?auth=1&room=club", protocol.SubprotocolBinary)
	if err := bin.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryAuth(nil, "tok-bob", "")); err != nil {
		t.Fatal(err)
	}
	bw := readBinary(t, bin)
	if bw.Type != protocol.BinWelcome || bw.Welcome.Account != (protocol.Account{ID: "acct-bob", Name: "Bob"}) {
		t.Errorf("binary welcome %#x %+v; want account acct-bob, Bob", bw.Type, bw.Welcome.Account)
	}

	seed := arenatest.Dial(t, srv.WSURL+"?auth=1&room=club&name=Mallory", nil)
	seed.Send(`{"type":"auth","token":"tok-cy"}`)
	init := seed.Init()
	if acct, _ := init.Raw["account"].(map[string]any); acct["id"] != "acct-cy" || acct["name"] != "Cy" {
		t.Errorf("seed init's account %v; want acct-cy, Cy", init.Raw["account"])
	}

	guest := dialNative(t, srv.WSURL+"?room=club&name=Dee")
	if guest.welcome.Account != (protocol.Account{}) {
		t.Errorf("a guest's welcome has account %+v", guest.welcome.Account)
	}
	got := l.joined()
	want := fmt.Sprint([]game.Player{
		{ID: game.PlayerID(w.ID), Name: "Ann", Account: "acct-ann"},
		{ID: bw.Welcome.Player, Name: "Bob", Account: "acct-bob"},
		{ID: parseID(init.ID), Name: "Cy", Account: "acct-cy"},
		{ID: guest.welcome.Player, Name: "Dee"},
	})
	for i := range got {
		got[i].Options = game.Options{}
	}
	if fmt.Sprint(got) != want {
		t.Errorf("the game was given %v; want %v", got, want)
	}

	// A checkpoint keeps the accounts, and the result carries them.
	doc, err := srv.Manager().Export(context.Background(), "club")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"acct-ann", "acct-bob", "acct-cy"} {
		if !strings.Contains(string(doc), `"account":"`+a+`"`) {
			t.Errorf("the room's document does not keep %s", a)
		}
	}
	guest.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	results.wait(t)
	accounts := map[string]bool{}
	for _, p := range results.all()[0].Players {
		accounts[p.Account] = true
	}
	if !accounts["acct-ann"] || !accounts["acct-bob"] || !accounts["acct-cy"] || !accounts[""] {
		t.Errorf("the result's players %+v; want ann's, bob's and cy's accounts and a guest", results.all()[0].Players)
	}
}

// TestAuthPolicies: -auth required refuses a join that does not sign in,
// in every protocol, with the final code auth_required and a text that
// says what to do; optional seats guests; off refuses ?auth=1. A mode's
// own policy overrides the server's, and the server refuses to start with
// a policy it cannot hold.
func TestAuthPolicies(t *testing.T) {
	t.Parallel()
	accts := newTestAccounts()
	wantRequired := "sign in to play here: connect with ?auth=1 and send your access token in an auth message first"

	required := startAccounts(t, &ledger{}, accts, func(c *server.Config) { c.AuthPolicy = game.AuthRequired })
	for _, proto := range []string{protocol.SubprotocolJSON, protocol.SubprotocolBinary, ""} {
		conn := dialProtocol(t, required.WSURL+"?room=r", proto)
		code, text, closed := refusal(t, conn)
		if code != protocol.CodeAuthRequired || text != wantRequired || closed.Code != websocket.ClosePolicyViolation || closed.Text != wantRequired {
			t.Errorf("%q without signing in: %s %q, closed %d %q; want auth_required, 1008", proto, code, text, closed.Code, closed.Text)
		}
	}
	if w := readJSONWelcome(t, signInJSON(t, required, "room=r", "tok-ann", "")); w.Account == nil {
		t.Error("a player who signed in has no account")
	}
	// A spectator signs in too.
	conn := dialProtocol(t, required.WSURL+"?room=r&spectate=1", protocol.SubprotocolJSON)
	if code, _, _ := refusal(t, conn); code != protocol.CodeAuthRequired {
		t.Errorf("a spectator that did not sign in: %s; want auth_required", code)
	}
	if w := readJSONWelcome(t, signInJSON(t, required, "room=r&spectate=1", "tok-bob", "")); w.Account == nil || w.Account.ID != "acct-bob" {
		t.Errorf("a spectator who signed in: account %+v", w.Account)
	}

	optional := startAccounts(t, &ledger{}, accts, nil)
	if c := dialNative(t, optional.WSURL+"?room=r"); c.welcome.Account != (protocol.Account{}) {
		t.Errorf("a guest on an optional server: account %+v", c.welcome.Account)
	}

	for name, srv := range map[string]*arenatest.Server{
		"off":         startAccounts(t, &ledger{}, accts, func(c *server.Config) { c.AuthPolicy = game.AuthOff }),
		"no accounts": startAccounts(t, &ledger{}, nil, func(c *server.Config) { c.Accounts = nil }),
	} {
		code, text, closed := refusal(t, signInJSON(t, srv, "room=r", "tok-ann", ""))
		if code != protocol.CodeBadRequest || text != "accounts are off on this server" || closed.Code != websocket.ClosePolicyViolation {
			t.Errorf("%s, ?auth=1: %s %q, closed %d; want bad_request, 1008", name, code, text, closed.Code)
		}
	}

	// Per mode: ranked requires accounts on an optional server, casual
	// has them off on a server that requires them.
	ranked, casual := dots.Mode, dots.Mode
	ranked.Name, ranked.Auth = "ranked", game.AuthRequired
	casual.Name, casual.Auth = "casual", game.AuthOff
	mixed := startAccounts(t, &ledger{}, accts, func(c *server.Config) {
		c.AuthPolicy = game.AuthRequired
		c.Modes = []game.Mode{dots.Mode, ranked, casual}
	})
	// GET /api/modes says which modes need a sign-in.
	resp, err := http.Get(mixed.URL + "/api/modes")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Modes []server.ModeInfo }
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	policies := map[string]game.AuthPolicy{}
	for _, m := range list.Modes {
		policies[m.Name] = m.Auth
	}
	if policies["dots"] != game.AuthRequired || policies["ranked"] != game.AuthRequired || policies["casual"] != game.AuthOff {
		t.Errorf("GET /api/modes says %v", policies)
	}
	for _, tc := range []struct {
		query, token, code string
	}{
		{"room=d&mode=dots", "", protocol.CodeAuthRequired},
		{"room=d", "", protocol.CodeAuthRequired},
		{"room=rk&mode=ranked", "", protocol.CodeAuthRequired},
		{"room=cs&mode=casual", "tok-ann", protocol.CodeBadRequest},
		{"room=rk&mode=ranked", "tok-ann", ""},
		{"room=cs&mode=casual", "", ""},
		{"room=cs", "", ""}, // the room's mode decides
		{"mode=casual", "", ""},
	} {
		var conn *websocket.Conn
		if tc.token != "" {
			conn = signInJSON(t, mixed, tc.query, tc.token, "")
		} else {
			conn = dialProtocol(t, mixed.WSURL+"?"+tc.query, protocol.SubprotocolJSON)
		}
		if tc.code == "" {
			readJSONWelcome(t, conn)
			continue
		}
		if code, text, _ := refusal(t, conn); code != tc.code {
			t.Errorf("%s (token %q): %s %q; want %s", tc.query, tc.token, code, text, tc.code)
		}
	}

	for _, tc := range []struct {
		name string
		cfg  func(*server.Config)
	}{
		{"required without accounts", func(c *server.Config) { c.AuthPolicy = game.AuthRequired }},
		{"a mode that requires accounts, without them", func(c *server.Config) { c.Modes = []game.Mode{ranked} }},
		{"no such policy", func(c *server.Config) { c.AuthPolicy = "maybe"; c.Accounts = accts }},
		{"a mode of no such policy", func(c *server.Config) { m := dots.Mode; m.Auth = "maybe"; c.Modes = []game.Mode{m} }},
	} {
		cfg := server.DefaultConfig()
		cfg.Modes = []game.Mode{dots.Mode}
		tc.cfg(&cfg)
		if _, err := server.New(cfg); err == nil {
			t.Errorf("%s: the server started", tc.name)
		}
	}
}

// TestBadSignIns: a token that is not valid is refused with auth_failed,
// which is not final (refresh, then join again); a banned account with
// banned, final, close 4003 and the ban's text; accounts that cannot
// answer with a retry later. The auth message must be first, and come
// in time; one that comes later is answered, and ignored.
func TestBadSignIns(t *testing.T) {
	t.Parallel()
	accts := newTestAccounts()
	srv := startAccounts(t, &ledger{}, accts, func(c *server.Config) { c.HandshakeTimeout = time.Second })
	for _, tc := range []struct {
		token, code, text string
		close             int
	}{
		{"tok-forged", protocol.CodeAuthFailed, "the access token is not valid or has expired: refresh it and join again", websocket.ClosePolicyViolation},
		{"tok-banned", protocol.CodeBanned, "this account is banned until 2027-01-01: cheating", server.CloseBanned},
		{"tok-down", protocol.CodeServerError, "accounts are unavailable right now; try again shortly", websocket.CloseTryAgainLater},
		{"tok-slow", protocol.CodeServerError, "accounts are unavailable right now; try again shortly", websocket.CloseTryAgainLater},
	} {
		code, text, closed := refusal(t, signInJSON(t, srv, "room=r", tc.token, ""))
		if code != tc.code || text != tc.text || closed.Code != tc.close || closed.Text != tc.text {
			t.Errorf("%s: %s %q, closed %d %q; want %s %q, %d", tc.token, code, text, closed.Code, closed.Text, tc.code, tc.text, tc.close)
		}
	}
	seed := arenatest.Dial(t, srv.WSURL+"?auth=1&room=r", nil)
	seed.Send(`{"type":"auth","token":"tok-banned"}`)
	if m, err := seed.Read(3 * time.Second); err != nil || m.Type != "error" || m.Code != protocol.CodeBanned {
		t.Errorf("a banned seed client: %+v, %v; want a banned error", m, err)
	}
	if ce := seed.WaitClose(3 * time.Second); ce.Code != server.CloseBanned {
		t.Errorf("a banned seed client closed with %d", ce.Code)
	}

	// Not first: an input before the auth message.
	conn := dialProtocol(t, srv.WSURL+"?auth=1&room=r", protocol.SubprotocolJSON)
	if err := conn.WriteJSON(map[string]any{"t": "input", "seq": 1, "buttons": 0}); err != nil {
		t.Fatal(err)
	}
	if code, text, closed := refusal(t, conn); code != protocol.CodeBadRequest || text != "a connection opened with ?auth=1 must send auth first" || closed.Code != websocket.ClosePolicyViolation {
		t.Errorf("input first: %s %q %d", code, text, closed.Code)
	}
	// None in time.
	conn = dialProtocol(t, srv.WSURL+"?auth=1&room=r", protocol.SubprotocolJSON)
	if code, text, _ := refusal(t, conn); code != protocol.CodeBadRequest || text != "no auth message within 1s" {
		t.Errorf("no auth message: %s %q", code, text)
	}
	// Later, without ?auth=1: answered, ignored, and the player stays a
	// guest.
	c := dialNative(t, srv.WSURL+"?room=r")
	c.send(protocol.AppendBinaryAuth(nil, "tok-ann", ""))
	for {
		m := c.next(3 * time.Second)
		if m.Type == protocol.BinError {
			if m.Code != protocol.CodeUnexpectedAuth {
				t.Errorf("a late auth message: %s; want unexpected_auth", m.Code)
			}
			break
		}
	}
	c.send(protocol.AppendBinaryPing(nil, 9))
	for m := c.next(3 * time.Second); m.Type != protocol.BinPong; m = c.next(3 * time.Second) {
	}
}

// TestSignInResumesAndTakesOver: the auth message may carry a resume
// token: the player resumes as its account. A second device of the
// account, without any token, takes the seat over: the same player, and
// the first device closed with 4001.
func TestSignInResumesAndTakesOver(t *testing.T) {
	t.Parallel()
	srv := startAccounts(t, &ledger{}, newTestAccounts(), nil)
	first := signInJSON(t, srv, "room=r", "tok-ann", "")
	w := readJSONWelcome(t, first)
	_ = first.NetConn().Close() // the network drops

	again := signInJSON(t, srv, "room=r", "tok-ann", w.Token)
	w2 := readJSONWelcome(t, again)
	if !w2.Resumed || w2.ID != w.ID || w2.Token == w.Token || w2.Account == nil || w2.Account.ID != "acct-ann" {
		t.Fatalf("resume in the auth message: %+v; want player %d resumed as acct-ann", w2, w.ID)
	}

	laptop := signInJSON(t, srv, "room=r", "tok-ann-2", "")
	w3 := readJSONWelcome(t, laptop)
	if !w3.Resumed || w3.ID != w.ID || w3.Token == w2.Token {
		t.Errorf("the second device: %+v; want player %d, resumed, a token of its own", w3, w.ID)
	}
	for {
		_ = again.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, _, err := again.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != server.CloseTakenOver {
				t.Errorf("the first device closed with %d %q; want 4001", ce.Code, ce.Text)
			}
			break
		}
		if err != nil {
			t.Fatalf("the first device: %v", err)
		}
	}
	if n := srv.Rooms()[0].Players; n != 1 {
		t.Errorf("%d players; want the account's one", n)
	}
}

// TestCloseAccount: a ban closes every live connection of the account,
// players and spectators, with the error banned and close 4003, and takes
// its seats out of the rooms for good, away ones too: a token of the
// account resumes nobody after it. Other accounts play on. A sign-out
// everywhere closes with signed_out and 4004.
func TestCloseAccount(t *testing.T) {
	t.Parallel()
	srv := startAccounts(t, &ledger{}, newTestAccounts(), nil)
	player := signInJSON(t, srv, "room=r", "tok-ann", "")
	readJSONWelcome(t, player)
	watcher := signInJSON(t, srv, "room=r&spectate=1", "tok-ann-2", "")
	readJSONWelcome(t, watcher)
	away := signInJSON(t, srv, "room=other", "tok-ann", "")
	awayWelcome := readJSONWelcome(t, away)
	_ = away.NetConn().Close()
	bob := signInJSON(t, srv, "room=r", "tok-bob", "")
	readJSONWelcome(t, bob)
	cy := signInJSON(t, srv, "room=r", "tok-cy", "")
	readJSONWelcome(t, cy)
	arenatest.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, r := range srv.Rooms() {
			if r.Name == "other" && r.Players == 1 {
				return nil
			}
		}
		return errors.New("ann's other player is not seated")
	})

	srv.CloseAccount("acct-ann", fmt.Errorf("%w until 2027-01-01: cheating", server.ErrBanned))
	for name, conn := range map[string]*websocket.Conn{"player": player, "spectator": watcher} {
		code, text := readUntilError(t, conn)
		_, _, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if code != protocol.CodeBanned || !errors.As(err, &ce) || ce.Code != server.CloseBanned || !strings.Contains(ce.Text, "cheating") {
			t.Errorf("ann's %s: %s %q, then %v; want banned and 4003 with the reason", name, code, text, err)
		}
	}
	// Her away seat went too: its token resumes nobody.
	again := dialProtocol(t, srv.WSURL+"?room=other&resume=1", protocol.SubprotocolJSON)
	if err := again.WriteJSON(map[string]string{"t": "resume", "token": awayWelcome.Token}); err != nil {
		t.Fatal(err)
	}
	if w := readJSONWelcome(t, again); w.Resumed || w.ID == awayWelcome.ID || w.Account != nil {
		t.Errorf("ann's away seat resumed after the ban: %+v", w)
	}

	srv.CloseAccount("acct-cy", server.ErrSignedOut)
	code, _ := readUntilError(t, cy)
	_, _, err := cy.ReadMessage()
	var ce *websocket.CloseError
	if code != protocol.CodeSignedOut || !errors.As(err, &ce) || ce.Code != server.CloseSignedOut {
		t.Errorf("cy after signing out everywhere: %s, %v; want signed_out and 4004", code, err)
	}

	// Bob plays on.
	if err := bob.WriteJSON(map[string]any{"t": "ping", "time": 5}); err != nil {
		t.Fatal(err)
	}
	for {
		_ = bob.SetReadDeadline(time.Now().Add(3 * time.Second))
		var m struct{ T string }
		if err := bob.ReadJSON(&m); err != nil {
			t.Fatalf("bob: %v", err)
		}
		if m.T == "pong" {
			break
		}
	}
	// The rooms hear of it through their inboxes.
	arenatest.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		for _, r := range srv.Rooms() {
			if r.Name == "r" && (r.Players != 1 || r.Spectators != 0) {
				return fmt.Errorf("room r: %d players, %d spectators; want bob alone", r.Players, r.Spectators)
			}
		}
		return nil
	})
}

// readUntilError reads until an error message, skipping welcomes and
// snapshots.
func readUntilError(t *testing.T, conn *websocket.Conn) (code, message string) {
	t.Helper()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for an error: %v", err)
		}
		var m struct{ T, Code, Message string }
		if json.Unmarshal(data, &m) == nil && m.T == "error" {
			return m.Code, m.Message
		}
	}
}

// TestARelayKeepsTheAccount: a seed client that signs in on a node that
// does not run its room is relayed to the node that does, which checks
// the token itself: the client plays there as its account.
func TestARelayKeepsTheAccount(t *testing.T) {
	accts := newTestAccounts()
	nodes := arenatest.StartCluster(t, natstest.Start(t), 2, func(c *server.Config) { c.Accounts = accts })
	a, b := nodes[0], nodes[1]
	owner, to := joinFollowing(t, a.URL, "room=castle&mode=tag")
	if to != "" || owner.Welcome.Room != "castle" {
		t.Fatalf("the room's first player went to %q", to)
	}
	before := accts.callCount()
	seed := arenatest.Dial(t, b.WSURL+"?auth=1&room=castle&name=Mallory", nil)
	seed.Send(`{"type":"auth","token":"tok-ann"}`)
	init := seed.Init()
	if acct, _ := init.Raw["account"].(map[string]any); init.Room != "castle" || acct["id"] != "acct-ann" || acct["name"] != "Ann" {
		t.Fatalf("relayed init %+v; want room castle, account acct-ann", init.Raw)
	}
	if len(b.Rooms()) != 0 {
		t.Errorf("b runs %+v; want no room: it only relays", b.Rooms())
	}
	if n := accts.callCount() - before; n != 2 {
		t.Errorf("the token was checked %d times; want twice, on each node", n)
	}
	// A banned token is refused by the node it reaches.
	banned := arenatest.Dial(t, b.WSURL+"?auth=1&room=castle", nil)
	banned.Send(`{"type":"auth","token":"tok-banned"}`)
	if ce := banned.WaitClose(5 * time.Second); ce.Code != server.CloseBanned {
		t.Errorf("a banned relay: close %d", ce.Code)
	}
}

// TestARelayedSignedInClientFollowsItsRoom: on a cluster that requires
// accounts, a seed client that signed in and is relayed to its room's
// node follows the room when it moves: the relay resumes it on the new
// node with its resume token alone (its access token may have expired by
// then), and it stays its account's player.
func TestARelayedSignedInClientFollowsItsRoom(t *testing.T) {
	accts := newTestAccounts()
	nodes := arenatest.StartCluster(t, natstest.Start(t), 2, func(c *server.Config) {
		c.Accounts, c.AuthPolicy = accts, game.AuthRequired
	})
	a, b := nodes[0], nodes[1]
	host := dialProtocol(t, a.WSURL+"?auth=1&room=keep&mode=tag", protocol.SubprotocolJSON)
	if err := host.WriteJSON(map[string]string{"t": "auth", "token": "tok-bob"}); err != nil {
		t.Fatal(err)
	}
	readJSONWelcome(t, host)
	seed := arenatest.Dial(t, b.WSURL+"?auth=1&room=keep", nil)
	seed.Send(`{"type":"auth","token":"tok-ann"}`)
	init := seed.Init()
	if acct, _ := init.Raw["account"].(map[string]any); init.Room != "keep" || acct["id"] != "acct-ann" {
		t.Fatalf("relayed init %+v; want keep as acct-ann", init.Raw)
	}
	stopped := make(chan struct{})
	go func() { defer close(stopped); a.Stop(t) }()
	again := seed.WaitFor(10*time.Second, "the init of the resume on the room's new node", func(m *arenatest.Message) bool {
		return m.Type == "init"
	})
	<-stopped
	if acct, _ := again.Raw["account"].(map[string]any); again.ID != init.ID || acct["id"] != "acct-ann" {
		t.Errorf("after the move: init %+v; want player %s as acct-ann", again.Raw, init.ID)
	}
	if rooms := b.Rooms(); len(rooms) != 1 || rooms[0].Name != "keep" {
		t.Errorf("b runs %+v; want keep, moved there", rooms)
	}
}

// TestTheJoinHookSeesTheAccount: a join hook still runs for a player who
// signed in, and sees its account; an Identity it returns without an
// account keeps the one signed in, one with an account replaces it.
func TestTheJoinHookSeesTheAccount(t *testing.T) {
	t.Parallel()
	l := &ledger{}
	var mu sync.Mutex
	var seen []string
	hook := func(_ context.Context, _ *http.Request, join server.JoinInfo) (server.Identity, error) {
		mu.Lock()
		seen = append(seen, join.Account+"/"+join.Name)
		mu.Unlock()
		if join.Account == "acct-bob" {
			return server.Identity{Account: "studio-bob"}, nil
		}
		return server.Identity{}, nil
	}
	srv := startHooked(t, l, hook, nil, func(c *server.Config) { c.Accounts = newTestAccounts() })
	ann := readJSONWelcome(t, signInJSON(t, srv, "room=h&mode=ledger&name=Mallory", "tok-ann", ""))
	bob := readJSONWelcome(t, signInJSON(t, srv, "room=h", "tok-bob", ""))
	guest := dialNative(t, srv.WSURL+"?room=h&name=Dee")
	mu.Lock()
	got := strings.Join(seen, " ")
	mu.Unlock()
	if got != "acct-ann/Ann acct-bob/Bob /Dee" {
		t.Errorf("the hook saw %s", got)
	}
	if ann.Account == nil || ann.Account.ID != "acct-ann" || bob.Account == nil || bob.Account.ID != "studio-bob" || guest.welcome.Account != (protocol.Account{}) {
		t.Errorf("accounts: ann %+v, bob %+v, guest %+v", ann.Account, bob.Account, guest.welcome.Account)
	}
}
