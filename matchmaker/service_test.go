package matchmaker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/store"
)

// testModes: the matchmaker reads a mode's name and room options only.
var testModes = []game.Mode{{Name: "duel"}}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{store.SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
	{store.Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

func openDB(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fakeSeater seats groups in rooms it names, and remembers which tickets
// each room got.
type fakeSeater struct {
	name  string
	size  int
	mu    sync.Mutex
	rooms map[string][]string // room → ticket IDs
}

func (f *fakeSeater) Rules(string) (Rules, error) { return DefaultRules(f.size), nil }
func (f *fakeSeater) OpenRooms(string, map[string]string) []OpenRoom {
	return nil
}

func (f *fakeSeater) Seat(_ context.Context, _ string, _ map[string]string, g Group) (Placement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rooms == nil {
		f.rooms = map[string][]string{}
	}
	name := fmt.Sprintf("%s-%d", f.name, len(f.rooms))
	var seats []string
	for _, t := range g.Tickets {
		f.rooms[name] = append(f.rooms[name], t.ID)
		for range t.Accounts() {
			seats = append(seats, fmt.Sprintf("seat-%d", len(seats)))
		}
	}
	return Placement{Room: name, URL: "http://" + f.name, Seats: seats}, nil
}

func (f *fakeSeater) placed() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for k, v := range f.rooms {
		out[k] = v
	}
	return out
}

func noAuth(context.Context, string) (accounts.Identity, error) { return accounts.Identity{}, nil }

// waitFor polls cond until it is true, or fails the test after total.
func waitFor(t *testing.T, total time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(total)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMatchmakerTwoMatchers: two nodes' matchers on one database. One
// holds the lease and matches; when it stops, the other takes over. Every
// ticket is matched once, into a room one of them seated it in.
func TestMatchmakerTwoMatchers(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, b.url(t))
			newService := func(holder string) *Service {
				// The lease lasts 4 intervals: 400 ms, which a loaded
				// machine's -race run renews in time (at 10 ms, a 40 ms
				// lease lapsed under load, and the other node took over
				// before the first had matched).
				s, err := New(Config{DB: db, Authenticate: noAuth, Modes: testModes, Holder: holder, Interval: 100 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			s1, s2 := newService("n1"), newService("n2")
			f1, f2 := &fakeSeater{name: "n1", size: 2}, &fakeSeater{name: "n2", size: 2}
			ctx := context.Background()
			var ids []string
			queue := func(n int) {
				for range n {
					tk, err := s1.CreateTicket(ctx, accounts.Identity{Account: fmt.Sprint("acct-", len(ids))}, "", nil, nil)
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, tk.ID)
				}
			}
			// n1 takes the lease first; then both run.
			if err := s1.Step(ctx, f1); err != nil {
				t.Fatal(err)
			}
			ctx1, stop1 := context.WithCancel(ctx)
			ctx2, stop2 := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { s1.Run(ctx1, f1) })
			wg.Go(func() { s2.Run(ctx2, f2) })
			defer func() { stop1(); stop2(); wg.Wait() }()

			matchedAll := func() bool {
				w, err := db.WaitingTickets(ctx, time.Now())
				return err == nil && len(w) == 0
			}
			queue(20)
			waitFor(t, 10*time.Second, "n1 to match the first tickets", matchedAll)
			stop1()
			queue(20)
			waitFor(t, 10*time.Second, "n2 to match the rest", matchedAll)

			placed := f1.placed()
			for k, v := range f2.placed() {
				placed[k] = v
			}
			if len(f1.placed()) == 0 || len(f2.placed()) == 0 {
				t.Errorf("rooms seated by n1 %d, by n2 %d: want both, one after the other", len(f1.placed()), len(f2.placed()))
			}
			perRoom := map[string]int{}
			for _, id := range ids {
				tk, err := db.Ticket(ctx, id)
				if err != nil || tk.State != store.TicketMatched {
					t.Fatalf("ticket %s: %+v %v", id, tk, err)
				}
				perRoom[tk.Room]++
				found := false
				for _, got := range placed[tk.Room] {
					found = found || got == id
				}
				if !found || tk.Seats[tk.Account] == "" {
					t.Fatalf("ticket %s is in room %s, which was not seated with it: %v", id, tk.Room, placed[tk.Room])
				}
			}
			for r, n := range perRoom {
				if n != 2 {
					t.Errorf("room %s holds %d tickets, want 2", r, n)
				}
			}
		})
	}
}

type fixedRatings map[string]Rating

func (f fixedRatings) Ratings(_ context.Context, _ string, accts []string) (map[string]Rating, error) {
	out := map[string]Rating{}
	for _, a := range accts {
		if r, ok := f[a]; ok {
			out[a] = r
		}
	}
	return out, nil
}

// TestMatchmakerRatingsAndExpiry: a ticket's rating is its party's, from
// the store (the default for an account with none); a ticket nobody
// matches expires after its TTL.
func TestMatchmakerRatingsAndExpiry(t *testing.T) {
	db := openDB(t, backends[0].url(t))
	ctx := context.Background()
	for _, a := range []string{"ann", "bob"} {
		if err := db.CreateAccount(ctx, store.Account{ID: a, Name: a, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	s, err := New(Config{DB: db, Authenticate: noAuth, Modes: testModes, TicketTTL: time.Minute,
		Ratings: fixedRatings{"ann": {Mu: 35, Sigma: 3}}, Now: func() time.Time { return *now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := s.CreateTicket(ctx, accounts.Identity{Account: "ann"}, "", nil, []string{"bob"})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Mu != 30 { // (35 + 25) / 2: bob has no rating yet
		t.Errorf("the party's mu %v, want 30", tk.Mu)
	}
	if _, err := s.CreateTicket(ctx, accounts.Identity{Account: "cy"}, "", nil, []string{"cy"}); err == nil {
		t.Error("a party of oneself was queued")
	}
	// bob is in ann's party: he cannot queue alone as well. Should two
	// requests race past that check (the ticket is put in the store
	// here as if), the matcher leaves the younger ticket out: bob alone,
	// ann's party and dee would fill a room of four, with bob twice.
	if _, err := s.CreateTicket(ctx, accounts.Identity{Account: "bob"}, "", nil, nil); !errors.Is(err, store.ErrAlreadyQueued) {
		t.Errorf("bob queues alone while in ann's party: %v; want ErrAlreadyQueued", err)
	}
	for _, a := range []string{"bob", "dee"} {
		if err := db.AddTicket(ctx, store.MatchTicket{ID: "solo-" + a, Account: a, Pool: tk.Pool, Mode: tk.Mode, Mu: 25, Sigma: 8,
			Created: start.Add(time.Second), Expires: start.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	f := &fakeSeater{name: "n", size: 4}
	if err := s.Step(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Ticket(ctx, tk.ID); got.State != store.TicketWaiting || len(f.placed()) != 0 {
		t.Fatalf("ann's party: %s, rooms %v; want waiting, none", got.State, f.placed())
	}
	later := start.Add(time.Minute + time.Second)
	now.Store(&later)
	if err := s.Step(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Ticket(ctx, tk.ID); got.State != store.TicketExpired {
		t.Fatalf("after its TTL: %s, want expired", got.State)
	}
}
