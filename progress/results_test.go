package progress

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/rating"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/store"
)

// backends gives each test a fresh database of each kind, as the store's
// tests do: an SQLite file and a database on a real PostgreSQL server.
var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{store.SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
	{store.Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

// each runs f on every backend, in parallel.
func each(t *testing.T, f func(t *testing.T, dbURL string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.url(t))
		})
	}
}

// within bounds every wait of these tests: a result is written within a
// second of room_over (the target); a loaded machine gets five.
const within = 5 * time.Second

func openDB(t *testing.T, dbURL string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newService starts a Service on db, closed when the test ends.
func newService(t *testing.T, db *store.DB, modes ...game.Mode) *Service {
	t.Helper()
	ctx := context.Background()
	acc, err := accounts.New(ctx, accounts.Config{DB: db, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acc.Close)
	s, err := New(ctx, Config{DB: db, Accounts: acc, Modes: modes, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func addAccounts(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := db.CreateAccount(context.Background(), store.Account{ID: id, Name: "Name-" + id, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// player is a standing and the report's player behind it.
type player struct {
	id      game.PlayerID
	account string
	score   int64
	team    int
}

// report is a finished game of the room "r", its players best first.
func report(mode, roomID string, n int, ps ...player) room.Report {
	rep := room.Report{Room: "r", Mode: mode, RoomID: roomID, Game: n, Result: game.Result{Summary: "done", Game: n}}
	for _, p := range ps {
		rep.Result.Standings = append(rep.Result.Standings, game.Standing{Player: p.id, Name: fmt.Sprint("p", p.id), Score: p.score, Team: p.team})
		rep.Players = append(rep.Players, room.ReportPlayer{ID: p.id, Name: fmt.Sprint("p", p.id), Account: p.account})
	}
	return rep
}

// waitMatch waits for the match of key to be written.
func waitMatch(t *testing.T, db *store.DB, key string) store.Match {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := db.Match(context.Background(), key)
		if err == nil {
			return m
		}
		if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("match %s not written within %v: %v", key, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForIn(t, within, what, cond)
}

func waitForIn(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ratingOf(t *testing.T, db *store.DB, mode, acct string) store.Rating {
	t.Helper()
	rs, err := db.RatingsFor(context.Background(), mode, []string{acct})
	if err != nil {
		t.Fatal(err)
	}
	return rs[acct]
}

// near compares ratings to well within what a float64 sum keeps.
func near(a store.Rating, b rating.Rating) bool {
	d := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	return d(a.Mu, b.Mu) && d(a.Sigma, b.Sigma)
}

func TestResultWrittenAndRatedFreeForAll(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "a", "b", "c")
		s := newService(t, db)
		// b and c tie (equal scores): places 1 2 2 4, and the guest is
		// fourth, rated from the default and stored as nobody.
		rep := report("ffa", "id1", 1,
			player{id: 3, account: "a", score: 9},
			player{id: 1, account: "b", score: 5},
			player{id: 2, account: "c", score: 5},
			player{id: 4, score: 1})
		rep.Result.Standings[0].Stats = map[string]int64{"kills": 4}
		rep.Players = append(rep.Players, room.ReportPlayer{ID: 9, Name: "quitter", Account: "a", Left: true})
		s.Result(rep)
		m := waitMatch(t, db, "r/id1/1")
		if m.Mode != "ffa" || m.Guests != 1 || len(m.Players) != 3 || m.Summary != "done" || m.Ended.IsZero() {
			t.Fatalf("match %+v", m)
		}
		places := map[string]int{}
		for _, p := range m.Players {
			places[p.Account] = p.Standing
		}
		if places["a"] != 1 || places["b"] != 2 || places["c"] != 2 || m.Players[0].Stats["kills"] != 4 {
			t.Fatalf("places %v, players %+v", places, m.Players)
		}
		d := rating.Default()
		want := rating.Rate([][]rating.Rating{{d}, {d}, {d}, {d}}, []int{1, 2, 2, 4})
		for i, a := range []string{"a", "b", "c"} {
			if r := ratingOf(t, db, "ffa", a); !near(r, want[i][0]) || r.Games != 1 {
				t.Fatalf("%s: %+v, want %+v", a, r, want[i][0])
			}
		}
		// A second game rates from the first's ratings.
		a, b := ratingOf(t, db, "ffa", "a"), ratingOf(t, db, "ffa", "b")
		s.Result(report("ffa", "id1", 2, player{id: 1, account: "b", score: 3}, player{id: 3, account: "a", score: 2}))
		waitMatch(t, db, "r/id1/2")
		want = rating.Rate([][]rating.Rating{{{Mu: b.Mu, Sigma: b.Sigma}}, {{Mu: a.Mu, Sigma: a.Sigma}}}, []int{1, 2})
		if r := ratingOf(t, db, "ffa", "b"); !near(r, want[0][0]) || r.Games != 2 {
			t.Fatalf("b after two: %+v, want %+v", r, want[0][0])
		}
		// Written counts a result once its transaction is done, a moment
		// after the match can be read.
		arenatest.Eventually(t, within, 10*time.Millisecond, func() error {
			if st := s.ResultStats(); st.Written != 2 || st.Dropped != 0 || st.Duplicates != 0 {
				return fmt.Errorf("stats %+v", st)
			}
			return nil
		})
	})
}

func TestResultRatedByTeams(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "a", "b", "c")
		s := newService(t, db)
		// Team 2 is first by its best player; its second player, a guest,
		// is below team 1's first. Teammates share their team's place.
		s.Result(report("teams", "id", 1,
			player{id: 1, account: "a", score: 10, team: 2},
			player{id: 2, account: "b", score: 7, team: 1},
			player{id: 3, score: 5, team: 2},
			player{id: 4, account: "c", score: 1, team: 1}))
		m := waitMatch(t, db, "r/id/1")
		for _, p := range m.Players {
			if want := map[string]int{"a": 1, "b": 2, "c": 2}[p.Account]; p.Standing != want {
				t.Fatalf("%s placed %d, want %d", p.Account, p.Standing, want)
			}
		}
		d := rating.Default()
		want := rating.Rate([][]rating.Rating{{d, d}, {d, d}}, []int{1, 2})
		for acct, w := range map[string]rating.Rating{"a": want[0][0], "b": want[1][0], "c": want[1][1]} {
			if r := ratingOf(t, db, "teams", acct); !near(r, w) {
				t.Fatalf("%s: %+v, want %+v", acct, r, w)
			}
		}
	})
}

func TestResultOfOneSideRatesNobody(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "a", "b")
		s := newService(t, db)
		s.Result(report("coop", "id", 1, player{id: 1, account: "a", score: 3, team: 1}, player{id: 2, account: "b", score: 1, team: 1}))
		m := waitMatch(t, db, "r/id/1")
		if len(m.Players) != 2 || m.Players[1].Standing != 1 {
			t.Fatalf("%+v", m.Players)
		}
		if rs, _ := db.Ratings(context.Background(), "a"); len(rs) != 0 {
			t.Fatalf("a game of one side rated: %+v", rs)
		}
	})
}

// A room moved to another node, or restored from a checkpoint, reports its
// game again under the same key, to another node's Service: one match.
func TestResultOnceFromTwoNodes(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db1 := openDB(t, u)
		addAccounts(t, db1, "a", "b")
		db2 := openDB(t, u)
		s1, s2 := newService(t, db1), newService(t, db2)
		rep := report("duel", "moved", 1, player{id: 1, account: "a", score: 2}, player{id: 2, account: "b", score: 1})
		var wg sync.WaitGroup
		for _, s := range []*Service{s1, s2, s1} {
			wg.Add(1)
			go func() { defer wg.Done(); s.Result(rep) }()
		}
		wg.Wait()
		waitFor(t, "all three deliveries handled", func() bool {
			a, b := s1.ResultStats(), s2.ResultStats()
			return a.Written+a.Duplicates+b.Written+b.Duplicates == 3
		})
		if a, b := s1.ResultStats(), s2.ResultStats(); a.Written+b.Written != 1 {
			t.Fatalf("written %d + %d times", a.Written, b.Written)
		}
		if r := ratingOf(t, db1, "duel", "a"); r.Games != 1 {
			t.Fatalf("a rated %d times", r.Games)
		}
	})
}

// outage cuts a Service off from its store and brings it back: for
// Postgres, a TCP proxy in front of the server that drops every
// connection and refuses new ones; for SQLite, another connection that
// holds the file's write lock, so that every write times out busy.
type outage struct {
	down, up func()
}

// openWithOutage opens the store at u through what can cut it off.
func openWithOutage(t *testing.T, u string) (*store.DB, outage) {
	t.Helper()
	if strings.HasPrefix(u, "sqlite:") {
		db := openDB(t, u)
		locker, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(u, "sqlite:")+"?_pragma=busy_timeout(100)")
		if err != nil {
			t.Fatal(err)
		}
		locker.SetMaxOpenConns(1)
		t.Cleanup(func() { locker.Close() })
		var tx *sql.Tx
		return db, outage{
			down: func() {
				var err error
				if tx, err = locker.Begin(); err == nil {
					_, err = tx.Exec(`INSERT INTO store_meta (key, value) VALUES ('outage', 'on')`)
				}
				if err != nil {
					t.Fatalf("taking the write lock: %v", err)
				}
			},
			up: func() { tx.Rollback() },
		}
	}
	p := newProxy(t, u)
	pu, _ := url.Parse(u)
	pu.Host = p.addr
	db := openDB(t, pu.String())
	return db, outage{down: p.stop, up: p.start}
}

// proxy forwards TCP connections to a Postgres server, until stopped.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, dbURL string) *proxy {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: u.Host}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatalf("proxy: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close(); c.Close() }()
			go func() { io.Copy(c, s); s.Close(); c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// With the store down, games go on: results wait in the queue, tried again
// and again, and are written once each when it returns.
func TestResultWaitsForTheStore(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db, out := openWithOutage(t, u)
		addAccounts(t, db, "a", "b")
		s := newService(t, db)
		out.down()
		const n = 5
		for i := range n {
			start := time.Now()
			s.Result(report("duel", "down", i+1, player{id: 1, account: "a", score: 2}, player{id: 2, account: "b", score: 1}))
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Result took %v with the store down: it must not wait", d)
			}
		}
		// The SQLite writer waits out its busy timeout (5 s) before it
		// fails: give it that and a retry.
		deadline := time.Now().Add(3 * within)
		for s.ResultStats().Retries == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the writer did not retry")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if st := s.ResultStats(); st.Written != 0 || st.Queued < n-1 {
			t.Fatalf("with the store down: %+v", st)
		}
		out.up()
		deadline = time.Now().Add(3 * within)
		for s.ResultStats().Written != n {
			if time.Now().After(deadline) {
				t.Fatalf("after the store came back: %+v", s.ResultStats())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if r := ratingOf(t, db, "duel", "a"); r.Games != n {
			t.Fatalf("a rated %d times, want %d", r.Games, n)
		}
		if st := s.ResultStats(); st.Dropped != 0 || st.Duplicates != 0 {
			t.Fatalf("%+v", st)
		}
	})
}

// What overflows the queue is counted, and Result still never waits.
func TestResultOverflowIsCounted(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db, out := openWithOutage(t, u)
		s := newService(t, db)
		out.down()
		const extra = 10
		start := time.Now()
		for i := range resultQueue + extra {
			s.Result(report("duel", "flood", i+1, player{id: 1, score: 1}, player{id: 2}))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%d results took %v to queue", resultQueue+extra, d)
		}
		// The writer holds one of them, taken off the queue, or not yet.
		if d := s.ResultStats().Dropped; d != extra && d != extra-1 {
			t.Fatalf("dropped %d, want %d or %d", d, extra, extra-1)
		}
		out.up()
		// A full queue is a thousand transactions: on a loaded machine
		// shared with other tests, many seconds.
		waitForIn(t, time.Minute, "the queue written", func() bool {
			st := s.ResultStats()
			return st.Written+st.Dropped == resultQueue+extra
		})
	})
}

// afterMatch hooks (the leaderboards) run once a match is new, never for a
// duplicate, and are tried again until they succeed.
func TestResultAfterMatchHooks(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		s := newService(t, db)
		var (
			mu    sync.Mutex
			calls []string
			fails = 2
		)
		s.res.afterMatch = append(s.res.afterMatch, func(_ context.Context, rep room.Report) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, rep.Key())
			if fails > 0 {
				fails--
				return errors.New("boards down")
			}
			return nil
		})
		rep := report("duel", "h", 1, player{id: 1, score: 1}, player{id: 2})
		s.Result(rep)
		s.Result(rep)
		waitFor(t, "both handled", func() bool {
			st := s.ResultStats()
			return st.Written == 1 && st.Duplicates == 1
		})
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != 3 {
			t.Fatalf("hook calls %v, want 3 (two failures, one success)", calls)
		}
	})
}

// Close writes what is queued when the store takes it, and a result given
// after Close is dropped, counted, not waited for.
func TestResultClose(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		s := newService(t, db)
		for i := range 20 {
			s.Result(report("duel", "c", i+1, player{id: 1, score: 1}, player{id: 2}))
		}
		s.Close()
		if st := s.ResultStats(); st.Written != 20 {
			t.Fatalf("after Close: %+v", st)
		}
		s.Result(report("duel", "c", 99, player{id: 1}))
		if st := s.ResultStats(); st.Dropped != 1 {
			t.Fatalf("after a late result: %+v", st)
		}
		s.Close() // again: a no-op
	})
}

// A write the store refuses for what it holds is given up after a few
// tries, counted and logged, and the results behind it go on; a game's
// text that Postgres's text cannot hold (NUL) is cleaned, not refused.
func TestResultRefusedIsGivenUp(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "a")
		s := newService(t, db)
		tries := 0
		s.res.afterMatch = append(s.res.afterMatch, func(ctx context.Context, rep room.Report) error {
			if rep.Game != 1 {
				return nil
			}
			tries++
			// A NOT NULL constraint: refused by both backends, every time.
			_, err := db.SQL.ExecContext(ctx, `INSERT INTO accounts (id, name, name_key, created_at) VALUES ('x', NULL, 'x', 0)`)
			return err
		})
		s.Result(report("duel", "p", 1, player{id: 1, account: "a", score: 1}, player{id: 2}))
		rep := report("duel", "p", 2, player{id: 1, account: "a", score: 1}, player{id: 2})
		rep.Result.Summary = "nul\x00 here"
		rep.Result.Standings[0].Name = "A\x00nn"
		rep.Result.Standings[0].Stats = map[string]int64{"k\x00": 1}
		s.Result(rep)
		m := waitMatch(t, db, "r/p/2")
		if m.Summary != "nul here" || m.Players[0].Name != "Ann" || m.Players[0].Stats["k"] != 1 {
			t.Fatalf("NUL not cleaned: %+v", m)
		}
		waitFor(t, "the refused hook given up", func() bool { return s.ResultStats().Dropped == 1 })
		if tries != refusals {
			t.Fatalf("the refused hook was tried %d times, want %d", tries, refusals)
		}
	})
}

// A new match feeds its mode's leaderboards once, in its own transaction:
// a second delivery of its key (a room moved or restored, a retry)
// submits nothing, so an incr board counts each win once.
func TestResultFeedsTheBoardsOnce(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "a", "b")
		mode := game.Mode{Name: "duel", New: func(game.Config) game.Game { return nil },
			Boards: []game.Board{{ID: "duel_wins", Stat: "win", Operator: "incr"}, {ID: "duel_kills", Stat: "kills", Operator: "incr"}}}
		s := newService(t, db, mode)
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		for _, game := range []int{1, 1, 2} {
			// "stranger" is an account the store does not know (a
			// program's own user ID): no entry, and nothing held up.
			rep := report("duel", "b", game, player{id: 1, account: "a", score: 2}, player{id: 2, account: "b", score: 1},
				player{id: 3, account: "stranger"})
			rep.Result.Standings[0].Stats = map[string]int64{"kills": 3}
			s.Result(rep)
		}
		waitFor(t, "three deliveries handled", func() bool {
			st := s.ResultStats()
			return st.Written == 2 && st.Duplicates == 1
		})
		for board, want := range map[string]string{"duel_wins": "1:a:2 2:b:0", "duel_kills": "1:a:6"} {
			var page pageJSON
			if code := get(t, srv.URL, "/api/leaderboards/"+board, &page); code != 200 || page.short() != want {
				t.Fatalf("%s: %d %s, want %s", board, code, page.short(), want)
			}
		}
	})
}

// Leaderboard scores the store refuses cost the result only those scores:
// the match and its ratings are written without them.
func TestResultWithRefusedScoresKeepsTheMatch(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "a", "b")
		mode := game.Mode{Name: "duel", New: func(game.Config) game.Game { return nil },
			Boards: []game.Board{{ID: "duel_best", Stat: "score"}}}
		s := newService(t, db, mode)
		// The lowest int64 is no board's score (store.ErrScore).
		s.Result(report("duel", "x", 1, player{id: 1, account: "a", score: 1}, player{id: 2, account: "b", score: math.MinInt64}))
		waitMatch(t, db, "r/x/1")
		if r := ratingOf(t, db, "duel", "b"); r.Games != 1 {
			t.Fatalf("b's rating %+v", r)
		}
		if st := s.ResultStats(); st.Dropped != 0 {
			t.Fatalf("%+v", st)
		}
	})
}
