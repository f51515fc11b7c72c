package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/matchmaker"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
)

// matchBackends are the stores the matchmaker's pool is tested on.
var matchBackends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{store.SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
	{store.Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

// startMatchmaking starts a server of rooms of two with a matchmaker on
// the store at dbURL, whose players sign in with newTestAccounts' tokens.
func startMatchmaking(t *testing.T, dbURL string, more ...func(*server.Config)) *arenatest.Server {
	t.Helper()
	return arenatest.Start(t, arenatest.Options{Config: matchmaking(t, openMatchDB(t, dbURL), more...)})
}

// openMatchDB opens the store at dbURL, with the accounts the tests'
// parties name.
func openMatchDB(t *testing.T, dbURL string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, a := range []string{"acct-ann", "acct-bob", "acct-cy"} {
		if err := db.CreateAccount(ctx, store.Account{ID: a, Name: a, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// matchmaking configures a server (a node) of rooms of two with a
// matchmaker of its own on db.
func matchmaking(t *testing.T, db *store.DB, more ...func(*server.Config)) func(*server.Config) {
	accts := newTestAccounts()
	return func(c *server.Config) {
		c.Accounts = accts
		c.Room.Capacity = 2
		for _, f := range more {
			f(c)
		}
		mm, err := matchmaker.New(matchmaker.Config{DB: db, Modes: c.Modes, Interval: 20 * time.Millisecond, Log: c.Logger,
			Authenticate: func(ctx context.Context, token string) (accounts.Identity, error) {
				id, err := accts.Authenticate(ctx, token)
				return accounts.Identity{Account: id.Account, Name: id.Name}, err
			}})
		if err != nil {
			t.Fatal(err)
		}
		c.Matchmaker = mm
	}
}

// ticketCall sends a request of the tickets API as the bearer of token
// ("" none) and decodes its answer into v; it returns the status.
func ticketCall(t *testing.T, method, url, token, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil && len(data) > 0 {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, data)
		}
	}
	return resp.StatusCode
}

type ticketState struct {
	Code     string
	Ticket   string
	State    string
	WaitedMS *int64 `json:"waited_ms"`
	Window   float64
	Room     string
	URL      string
	Seat     string
}

// matched polls ticket id as token's bearer until it is matched.
func matched(t *testing.T, srv *arenatest.Server, id, token string) ticketState {
	t.Helper()
	var st ticketState
	arenatest.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
		st = ticketState{}
		if code := ticketCall(t, "GET", srv.URL+"/api/matchmake/tickets/"+id, token, "", &st); code != http.StatusOK {
			t.Fatalf("GET ticket: HTTP %d %+v", code, st)
		}
		if st.State != "matched" {
			return fmt.Errorf("ticket %s is %s", id, st.State)
		}
		return nil
	})
	return st
}

// TestMatchmakerTickets: signed-in players queue through the tickets API,
// wait, are matched into one room, and join it with their seats; a
// ticket is read by its players only, cancelled, refused twice; anonymous
// quick-join is as it was. On SQLite and PostgreSQL.
func TestMatchmakerTickets(t *testing.T) {
	for _, b := range matchBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			srv := startMatchmaking(t, b.url(t))
			tickets := srv.URL + "/api/matchmake/tickets"

			var st ticketState
			if code := ticketCall(t, "POST", tickets, "", `{"mode":"tag"}`, &st); code != http.StatusUnauthorized || st.Code != "unauthorized" {
				t.Fatalf("no bearer: HTTP %d %+v", code, st)
			}
			if code := ticketCall(t, "POST", tickets, "tok-made-up", `{"mode":"tag"}`, &st); code != http.StatusUnauthorized {
				t.Fatalf("a made-up bearer: HTTP %d", code)
			}
			for _, c := range []struct {
				body string
				code int
			}{
				{`{"mode":"nope"}`, http.StatusNotFound},
				{`{"mode":"tag","options":{"nope":"1"}}`, http.StatusBadRequest},
				{`{"mode":"tag","party":["acct-nobody"]}`, http.StatusBadRequest},
				{`{"mode":"tag","party":["acct-ann"]}`, http.StatusBadRequest},
				{`{"mode":"tag","rating":50}`, http.StatusBadRequest}, // ratings are the server's
			} {
				if code := ticketCall(t, "POST", tickets, "tok-ann", c.body, &st); code != c.code {
					t.Errorf("%s: HTTP %d %+v; want %d", c.body, code, st, c.code)
				}
			}

			var ann ticketState
			if code := ticketCall(t, "POST", tickets, "tok-ann", `{"mode":"tag"}`, &ann); code != http.StatusCreated || ann.Ticket == "" {
				t.Fatalf("ann's ticket: HTTP %d %+v", code, ann)
			}
			if code := ticketCall(t, "POST", tickets, "tok-ann-2", `{"mode":"tag"}`, &st); code != http.StatusConflict || st.Code != "already_queued" {
				t.Fatalf("ann's second ticket: HTTP %d %+v; want 409", code, st)
			}
			if code := ticketCall(t, "GET", tickets+"/"+ann.Ticket, "tok-ann", "", &st); code != http.StatusOK || st.State != "waiting" || st.WaitedMS == nil || st.Window < 3 {
				t.Fatalf("ann alone: HTTP %d %+v; want waiting", code, st)
			}
			if code := ticketCall(t, "GET", tickets+"/"+ann.Ticket, "tok-bob", "", &st); code != http.StatusNotFound {
				t.Fatalf("bob reads ann's ticket: HTTP %d; want 404", code)
			}
			// POST /api/matchmake with a bearer makes a ticket too.
			var bob ticketState
			if code := ticketCall(t, "POST", srv.URL+"/api/matchmake", "tok-bob", `{"mode":"tag"}`, &bob); code != http.StatusCreated || bob.Ticket == "" {
				t.Fatalf("bob's ticket: HTTP %d %+v", code, bob)
			}
			a, bm := matched(t, srv, ann.Ticket, "tok-ann"), matched(t, srv, bob.Ticket, "tok-bob")
			if a.Room == "" || a.Room != bm.Room || a.Seat == "" || bm.Seat == "" || a.Seat == bm.Seat {
				t.Fatalf("matches %+v and %+v: want one room, two seats", a, bm)
			}
			if code := ticketCall(t, "DELETE", tickets+"/"+ann.Ticket, "tok-ann", "", &st); code != http.StatusNotFound {
				t.Fatalf("cancel a matched ticket: HTTP %d; want 404", code)
			}
			// The room is private: not listed, and quick-join passes it by.
			if listed(t, srv, a.Room) {
				t.Errorf("the matched room %s is listed", a.Room)
			}
			// Both join with their seats, as a private room's players do,
			// and fill the room of two.
			for _, p := range []struct{ token, seat string }{{"tok-ann", a.Seat}, {"tok-bob", bm.Seat}} {
				conn := signInJSON(t, srv, "room="+a.Room+"&seat="+p.seat, p.token, "")
				if w := readJSONWelcome(t, conn); w.Account == nil {
					t.Fatalf("%s joined without its account: %+v", p.token, w)
				}
			}
			conn := dialProtocol(t, srv.WSURL+"?room="+a.Room, protocol.SubprotocolJSON)
			if code, _ := readError(t, conn); code != protocol.CodeRoomFull {
				t.Errorf("a third player in the matched room of two: %s; want room_full", code)
			}

			// Cancel: cy's ticket leaves the pool.
			var cy ticketState
			if code := ticketCall(t, "POST", tickets, "tok-cy", `{"mode":"tag"}`, &cy); code != http.StatusCreated {
				t.Fatalf("cy's ticket: HTTP %d", code)
			}
			if code := ticketCall(t, "DELETE", tickets+"/"+cy.Ticket, "tok-bob", "", nil); code != http.StatusNotFound {
				t.Fatalf("bob cancels cy's ticket: HTTP %d; want 404", code)
			}
			if code := ticketCall(t, "DELETE", tickets+"/"+cy.Ticket, "tok-cy", "", nil); code != http.StatusNoContent {
				t.Fatalf("cy cancels: HTTP %d; want 204", code)
			}
			if code := ticketCall(t, "GET", tickets+"/"+cy.Ticket, "tok-cy", "", &st); code != http.StatusOK || st.State != "cancelled" {
				t.Fatalf("cy's cancelled ticket: HTTP %d %+v", code, st)
			}

			// A party: ann queues with cy; both are matched into one
			// room of two, and cy reads her own seat from ann's ticket.
			var party ticketState
			if code := ticketCall(t, "POST", tickets, "tok-ann", `{"mode":"tag","party":["acct-cy"]}`, &party); code != http.StatusCreated {
				t.Fatalf("ann's party: HTTP %d %+v", code, party)
			}
			pa, pc := matched(t, srv, party.Ticket, "tok-ann"), matched(t, srv, party.Ticket, "tok-cy")
			if pa.Room == a.Room || pa.Room != pc.Room || pa.Seat == pc.Seat || pc.Seat == "" {
				t.Fatalf("the party's matches %+v and %+v: want a new room, a seat each", pa, pc)
			}

			// Anonymous play keeps its quick-join.
			var quick struct{ Room, Mode string }
			if code := postJSON(t, srv.URL+"/api/matchmake", `{"mode":"tag"}`, &quick); code != http.StatusOK || quick.Room == "" || quick.Room == a.Room {
				t.Fatalf("quick-join: HTTP %d %+v", code, quick)
			}
		})
	}
}

// bottyGame plays dots, with bots filling the seats its players leave
// empty once FillBots gave it a size; bots counts them.
type bottyGame struct {
	*dots.Dots
	size, players int
	bots          *atomic.Int64
}

var _ game.BotFiller = (*bottyGame)(nil)

func (g *bottyGame) FillBots(size int) { g.size = size; g.count() }

func (g *bottyGame) count() { g.bots.Store(int64(max(0, g.size-g.players))) }

func (g *bottyGame) Join(p game.Player) error {
	if err := g.Dots.Join(p); err != nil {
		return err
	}
	g.players++
	g.count()
	return nil
}

func (g *bottyGame) Leave(id game.PlayerID) {
	g.Dots.Leave(id)
	g.players--
	g.count()
}

// TestMatchmakerBots: a mode with BotsAfter starts a room short of
// players for a player who waited that long, with a bot in the other
// seat; a player who queues next is backfilled into it, and takes the
// bot's seat as it joins.
func TestMatchmakerBots(t *testing.T) {
	t.Parallel()
	var bots atomic.Int64
	botty := game.Mode{Name: "botty", MaxPlayers: 2, BotsAfter: 300 * time.Millisecond,
		New: func(cfg game.Config) game.Game { return &bottyGame{Dots: dots.New(cfg), bots: &bots} }}
	srv := startMatchmaking(t, matchBackends[0].url(t), func(c *server.Config) { c.Modes = append(c.Modes, botty) })
	tickets := srv.URL + "/api/matchmake/tickets"
	var ann ticketState
	if code := ticketCall(t, "POST", tickets, "tok-ann", `{"mode":"botty"}`, &ann); code != http.StatusCreated {
		t.Fatalf("ann's ticket: HTTP %d %+v", code, ann)
	}
	a := matched(t, srv, ann.Ticket, "tok-ann")
	readJSONWelcome(t, signInJSON(t, srv, "room="+a.Room+"&seat="+a.Seat, "tok-ann", ""))
	if n := bots.Load(); n != 1 {
		t.Fatalf("ann's room of two has %d bots; want 1", n)
	}
	var bob ticketState
	if code := ticketCall(t, "POST", tickets, "tok-bob", `{"mode":"botty"}`, &bob); code != http.StatusCreated {
		t.Fatalf("bob's ticket: HTTP %d %+v", code, bob)
	}
	b := matched(t, srv, bob.Ticket, "tok-bob")
	if b.Room != a.Room {
		t.Fatalf("bob went to %s; want ann's room %s, where a bot holds a seat", b.Room, a.Room)
	}
	readJSONWelcome(t, signInJSON(t, srv, "room="+b.Room+"&seat="+b.Seat, "tok-bob", ""))
	if n := bots.Load(); n != 0 {
		t.Fatalf("after bob joined, %d bots; want none", n)
	}
}

// TestMatchmakerInACluster: two nodes share the pool in one PostgreSQL.
// Players queue on either; the node that holds the matcher's lease
// matches them into a room of its own, and each joins it there, at the
// URL and with the seat its ticket gives.
func TestMatchmakerInACluster(t *testing.T) {
	t.Parallel()
	db := openMatchDB(t, pgtest.DB(t))
	nodes := arenatest.StartCluster(t, natstest.Start(t), 2, matchmaking(t, db))
	var ann, bob ticketState
	if code := ticketCall(t, "POST", nodes[0].URL+"/api/matchmake/tickets", "tok-ann", `{"mode":"tag"}`, &ann); code != http.StatusCreated {
		t.Fatalf("ann's ticket on a: HTTP %d %+v", code, ann)
	}
	if code := ticketCall(t, "POST", nodes[1].URL+"/api/matchmake/tickets", "tok-bob", `{"mode":"tag"}`, &bob); code != http.StatusCreated {
		t.Fatalf("bob's ticket on b: HTTP %d %+v", code, bob)
	}
	// Each reads its ticket through the other node: the pool is shared.
	a, b := matched(t, nodes[1], ann.Ticket, "tok-ann"), matched(t, nodes[0], bob.Ticket, "tok-bob")
	if a.Room == "" || a.Room != b.Room || a.URL == "" || a.URL != b.URL {
		t.Fatalf("matches %+v and %+v: want one room, at one node's URL", a, b)
	}
	var host *arenatest.Server
	for _, n := range nodes {
		if strings.TrimSuffix(n.URL, "/") == strings.TrimSuffix(a.URL, "/") {
			host = n
		}
	}
	if host == nil {
		t.Fatalf("the match's URL %s is no node's", a.URL)
	}
	for _, p := range []struct{ token, seat string }{{"tok-ann", a.Seat}, {"tok-bob", b.Seat}} {
		if w := readJSONWelcome(t, signInJSON(t, host, "room="+a.Room+"&seat="+p.seat, p.token, "")); w.Account == nil {
			t.Fatalf("%s joined without its account", p.token)
		}
	}
}
