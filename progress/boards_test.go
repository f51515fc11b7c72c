package progress

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/store"
)

// boardBackends gives each test a fresh database of each kind.
var boardBackends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{store.SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
	{store.Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

// boardModes are a game's modes with boards: a shooter's kills (a Stats
// key, summed over a week), wins (summed) and best score (for ever).
var boardModes = []game.Mode{{
	Name: "shooter",
	New:  func(game.Config) game.Game { return nil },
	Boards: []game.Board{
		{ID: "shooter_kills", Stat: "kills", Operator: "incr", Reset: "weekly"},
		{ID: "shooter_wins", Stat: "win", Operator: "incr"},
		{ID: "shooter_best", Stat: "score"},
	},
}}

// boardsFixture is a Service of boardModes on one backend, its API and
// the admin's, on real sockets, with a clock of its own.
type boardsFixture struct {
	db         *store.DB
	svc        *Service
	api, admin *httptest.Server
	mu         sync.Mutex
	now        time.Time
}

func newBoardsFixture(t *testing.T, dbURL string) *boardsFixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc, err := accounts.New(ctx, accounts.Config{DB: db, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acc.Close)
	svc, err := New(ctx, Config{DB: db, Accounts: acc, Modes: boardModes, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	f := &boardsFixture{db: db, svc: svc, now: time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)} // a Tuesday
	svc.boards.now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	f.api = httptest.NewServer(svc.Handler())
	t.Cleanup(f.api.Close)
	f.admin = httptest.NewServer(svc.AdminHandler())
	t.Cleanup(f.admin.Close)
	for _, id := range []string{"ann", "bob", "cat", "dan"} {
		if err := db.CreateAccount(ctx, store.Account{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], CreatedAt: f.now}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// get fetches a URL of the API, checks its status and decodes its body
// into v (if not nil), returning the body.
func (f *boardsFixture) get(t *testing.T, path string, status int, v any) string {
	t.Helper()
	res, err := http.Get(f.api.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("GET %s: %d %s, want %d", path, res.StatusCode, body, status)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return string(body)
}

type pageJSON struct {
	ID          string      `json:"id"`
	Season      int64       `json:"season"`
	SeasonStart time.Time   `json:"season_start"`
	Entries     []entryJSON `json:"entries"`
	Entry       entryJSON   `json:"entry"`
}

// short prints a page as "rank:account:score ...".
func (p pageJSON) short() string {
	var b strings.Builder
	for i, e := range p.Entries {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d:%s:%d", e.Rank, e.Account, e.Score)
	}
	return b.String()
}

// sorted is short with the entries sorted.
func (p pageJSON) sorted() string {
	f := strings.Fields(p.short())
	slices.Sort(f)
	return strings.Join(f, " ")
}

func TestBoardsAPI(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies = map[string]string{}
	)
	t.Run("backends", func(t *testing.T) {
		for _, b := range boardBackends {
			t.Run(b.name, func(t *testing.T) {
				t.Parallel()
				out := boardsAPI(t, newBoardsFixture(t, b.url(t)))
				mu.Lock()
				bodies[b.name] = out
				mu.Unlock()
			})
		}
	})
	if bodies[store.SQLite] == "" || bodies[store.SQLite] != bodies[store.Postgres] {
		t.Fatalf("the backends answer differently:\nsqlite:\n%s\npostgres:\n%s", bodies[store.SQLite], bodies[store.Postgres])
	}
}

// boardsAPI returns the answers the backends must agree on.
func boardsAPI(t *testing.T, f *boardsFixture) string {
	ctx := context.Background()
	var out strings.Builder
	// Two games end: ann and bob tie for first in the first (both win),
	// cat is a guest's seat in the second (no account: nothing).
	games := []room.Report{
		{Mode: "shooter", Result: game.Result{Standings: []game.Standing{
			{Player: 1, Score: 30, Stats: map[string]int64{"kills": 3}},
			{Player: 2, Score: 30, Stats: map[string]int64{"kills": 5}},
			{Player: 3, Score: 10, Stats: map[string]int64{"kills": 1}},
		}}, Players: []room.ReportPlayer{{ID: 1, Account: "ann"}, {ID: 2, Account: "bob"}, {ID: 3, Account: "cat"}}},
		{Mode: "shooter", Result: game.Result{Standings: []game.Standing{
			{Player: 4, Score: 50, Stats: map[string]int64{"kills": 2}},
			{Player: 1, Score: 20},
			{Player: 9, Score: 10, Stats: map[string]int64{"kills": 9}},
		}}, Players: []room.ReportPlayer{{ID: 1, Account: "ann"}, {ID: 4, Account: "dan"}, {ID: 9}}},
		{Mode: "other", Result: game.Result{Standings: []game.Standing{{Player: 1, Score: 99}}},
			Players: []room.ReportPlayer{{ID: 1, Account: "ann"}}},
	}
	for i, rep := range games {
		if err := f.svc.SubmitScores(ctx, rep, f.now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}

	var list struct {
		Leaderboards []boardJSON `json:"leaderboards"`
	}
	f.get(t, "/api/leaderboards", 200, &list)
	if len(list.Leaderboards) != 3 {
		t.Fatalf("boards %+v", list.Leaderboards)
	}
	kills := list.Leaderboards[1] // by ID: best, kills, wins
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	if kills.ID != "shooter_kills" || kills.Reset != "weekly" || kills.Operator != "incr" || kills.Order != "desc" ||
		kills.Season != monday.UnixMicro() || !kills.SeasonStart.Equal(monday) || kills.NextReset == nil ||
		!kills.NextReset.Equal(monday.AddDate(0, 0, 7)) || kills.CreatedBy != "mode" {
		t.Errorf("kills board %+v", kills)
	}
	if never := list.Leaderboards[2]; never.ID != "shooter_wins" || never.Season != 0 || never.NextReset != nil {
		t.Errorf("wins board %+v", never)
	}

	for _, c := range []struct{ path, want string }{
		{"/api/leaderboards/shooter_kills", "1:bob:5 2:ann:3 3:dan:2 4:cat:1"},
		{"/api/leaderboards/shooter_wins", "1:ann:1 1:bob:1 1:dan:1 4:cat:0"},
		{"/api/leaderboards/shooter_best", "1:dan:50 2:ann:30 2:bob:30 4:cat:10"},
		{"/api/leaderboards/shooter_best?limit=2&offset=2", "2:bob:30 4:cat:10"},
		{"/api/leaderboards/shooter_best?around=bob&limit=3", "2:ann:30 2:bob:30 4:cat:10"},
		{"/api/leaderboards/shooter_best?around=dan&limit=3", "1:dan:50 2:ann:30"},
		{"/api/leaderboards/shooter_kills?season=" + fmt.Sprint(monday.AddDate(0, 0, -7).UnixMicro()), ""},
		{"/api/leaderboards/shooter_kills?season=2026-12-13T23:59:59Z", "1:bob:5 2:ann:3 3:dan:2 4:cat:1"},
	} {
		var p pageJSON
		body := f.get(t, c.path, 200, &p)
		if p.short() != c.want {
			t.Errorf("%s: %s, want %s", c.path, p.short(), c.want)
		}
		out.WriteString(body)
	}
	var p pageJSON
	f.get(t, "/api/leaderboards/shooter_best?limit=1", 200, &p)
	if e := p.Entries[0]; e.Name != "Dan" || !e.UpdatedAt.Equal(f.now.Add(time.Minute)) {
		t.Errorf("top entry %+v", e)
	}
	out.WriteString(f.get(t, "/api/leaderboards/shooter_best/accounts/bob", 200, &p))
	if e := p.Entry; e.Rank != 2 || e.Score != 30 || e.Name != "Bob" || e.Account != "bob" {
		t.Errorf("bob's rank %+v", e)
	}

	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/api/leaderboards/none", 404, "not_found"},
		{"/api/leaderboards/none/accounts/ann", 404, "not_found"},
		{"/api/leaderboards/shooter_best/accounts/nobody", 404, "no_entry"},
		{"/api/leaderboards/shooter_best?around=nobody", 404, "no_entry"},
		{"/api/leaderboards/shooter_best?limit=0", 400, "bad_request"},
		{"/api/leaderboards/shooter_best?limit=101", 400, "bad_request"},
		{"/api/leaderboards/shooter_best?offset=-1", 400, "bad_request"},
		{"/api/leaderboards/shooter_best?around=ann&offset=1", 400, "bad_request"},
		{"/api/leaderboards/shooter_best?season=yesterday", 400, "bad_request"},
	} {
		var e struct{ Code, Message string }
		f.get(t, c.path, c.status, &e)
		if e.Code != c.code || e.Message == "" {
			t.Errorf("%s: %+v, want code %s", c.path, e, c.code)
		}
	}

	// The admin creates a board; a game submits to it.
	post := func(body string, status int) string {
		t.Helper()
		res, err := http.Post(f.admin.URL+"/admin/api/leaderboards", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != status {
			t.Fatalf("POST %s: %d %s, want %d", body, res.StatusCode, b, status)
		}
		return string(b)
	}
	var created boardJSON
	if err := json.Unmarshal([]byte(post(`{"id":"race","order":"asc","reset":"daily"}`, 201)), &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != "race" || created.Order != "asc" || created.Operator != "best" || created.CreatedBy != "admin" ||
		!created.SeasonStart.Equal(time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("created %+v", created)
	}
	post(`{"id":"race","order":"asc"}`, 409)
	post(`{"id":"shooter_best"}`, 409)
	for _, bad := range []string{`{"id":"Bad"}`, `{"id":"x","order":"up"}`, `{"id":"x","reset":"fortnightly"}`,
		`{"id":"x","extra":1}`, `{"id":"x","ID":"y"}`, `{"id":"x"} {}`, `[]`} {
		post(bad, 400)
	}
	for i, who := range []string{"ann", "bob", "ann"} {
		if err := f.svc.Submit(ctx, "race", who, int64(60-i*5), f.now); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Submit(ctx, "none", "ann", 1, f.now); err == nil {
		t.Error("a submission to no board went through")
	}
	f.get(t, "/api/leaderboards/race", 200, &p)
	if p.short() != "1:ann:50 2:bob:55" {
		t.Errorf("race: %s", p.short())
	}
	return out.String()
}

// TestBoardsSeasonReset submits to a daily board from many goroutines
// while the clock crosses midnight: each submission counts once, in the
// season of its own time, and the past season stays readable.
func TestBoardsSeasonReset(t *testing.T) {
	for _, b := range boardBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newBoardsFixture(t, b.url(t))
			ctx := context.Background()
			post, err := http.Post(f.admin.URL+"/admin/api/leaderboards", "application/json",
				strings.NewReader(`{"id":"daily_wins","operator":"incr","reset":"daily"}`))
			if err != nil || post.StatusCode != 201 {
				t.Fatalf("create: %v %v", post, err)
			}
			post.Body.Close()
			midnight := time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)
			const per = 40
			var wg sync.WaitGroup
			errs := make(chan error, 4*per)
			for _, who := range []string{"ann", "bob", "cat", "dan"} {
				for i := 0; i < per; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						// Made at a time around midnight; written now,
						// whenever now is.
						errs <- f.svc.Submit(ctx, "daily_wins", who, 1, midnight.Add(time.Duration(i-per/2)*time.Microsecond))
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			f.mu.Lock()
			f.now = midnight.Add(time.Hour)
			f.mu.Unlock()
			var p pageJSON
			f.get(t, "/api/leaderboards/daily_wins", 200, &p)
			// All tie, in the order their last submissions happened to
			// be written: the set is what counts.
			if p.sorted() != "1:ann:20 1:bob:20 1:cat:20 1:dan:20" || !p.SeasonStart.Equal(midnight) {
				t.Errorf("the new day: %s from %s", p.short(), p.SeasonStart)
			}
			f.get(t, "/api/leaderboards/daily_wins?season="+fmt.Sprint(midnight.Add(-24*time.Hour).UnixMicro()), 200, &p)
			if p.sorted() != "1:ann:20 1:bob:20 1:cat:20 1:dan:20" {
				t.Errorf("the day before: %s", p.short())
			}
		})
	}
}

func TestBoardsDeclaredOnce(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "arena.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc, err := accounts.New(ctx, accounts.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	two := []game.Mode{boardModes[0], boardModes[0]}
	two[1].Name = "again"
	if _, err := New(ctx, Config{DB: db, Accounts: acc, Modes: two}); err == nil || !strings.Contains(err.Error(), "both declare") {
		t.Fatalf("two modes declaring one board: %v", err)
	}
	// Started again, a mode's boards are brought up to date.
	for i := 0; i < 2; i++ {
		s, err := New(ctx, Config{DB: db, Accounts: acc, Modes: boardModes})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// TestBoardsStoreDown: with the store gone, the API answers 503
// unavailable, and says when to try again.
func TestBoardsStoreDown(t *testing.T) {
	f := newBoardsFixture(t, boardBackends[0].url(t))
	f.db.Close()
	for _, path := range []string{"/api/leaderboards", "/api/leaderboards/shooter_best", "/api/leaderboards/shooter_best/accounts/ann"} {
		res, err := http.Get(f.api.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Code string }
		json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != 503 || e.Code != "unavailable" || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %+v", path, res.StatusCode, e)
		}
	}
}
