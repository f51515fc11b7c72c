package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/game"
)

// TestLeaderboard runs the leaderboards' contract against every backend,
// and checks that both rank a board of ties identically.
func TestLeaderboard(t *testing.T) {
	var (
		mu    sync.Mutex
		pages = map[string]string{} // backend → the ties' pages, printed
	)
	t.Run("backends", func(t *testing.T) {
		for _, b := range backends {
			t.Run(b.name, func(t *testing.T) {
				t.Parallel()
				open := func(t *testing.T) *DB {
					db, err := Open(context.Background(), b.url(t))
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					return db
				}
				out := leaderboardContract(t, open)
				mu.Lock()
				pages[b.name] = out
				mu.Unlock()
			})
		}
	})
	if pages[SQLite] == "" || pages[SQLite] != pages[Postgres] {
		t.Fatalf("the backends rank ties differently:\nsqlite:\n%s\npostgres:\n%s", pages[SQLite], pages[Postgres])
	}
}

// nameOf is an account's name in these tests: unique, where IDs that
// differ only in case would make names that clash.
func nameOf(id string) string { return fmt.Sprintf("name-%x", id) }

func addAccounts(t testing.TB, db *DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := db.CreateAccount(context.Background(), account(id, nameOf(id), "", t0)); err != nil {
			t.Fatal(err)
		}
	}
}

// leaderboardContract returns the pages of a board of ties, printed, for
// TestLeaderboard to compare across backends.
func leaderboardContract(t *testing.T, open func(t *testing.T) *DB) string {
	ctx := context.Background()
	desc := Board{ID: "kills", Order: "desc", Operator: "best", Reset: "never", CreatedAt: t0}

	t.Run("boards", func(t *testing.T) {
		db := open(t)
		if err := db.EnsureBoard(ctx, desc); err != nil {
			t.Fatal(err)
		}
		changed := desc
		changed.Operator, changed.Reset = "incr", "daily"
		if err := db.EnsureBoard(ctx, changed); err != nil {
			t.Fatal(err)
		}
		admin := Board{ID: "speedrun", Order: "asc", Operator: "best", Reset: "0 12 * * 5", CreatedAt: t0}
		if err := db.CreateBoard(ctx, admin); err != nil {
			t.Fatal(err)
		}
		mustErr(t, "create an existing board", db.CreateBoard(ctx, admin), ErrBoardExists)
		mustErr(t, "a mode declaring the admin's board", db.EnsureBoard(ctx, Board{ID: "speedrun", Order: "desc", Operator: "best", Reset: "never"}), ErrBoardExists)
		bs, err := db.Boards(ctx)
		if err != nil {
			t.Fatal(err)
		}
		changed.CreatedBy, admin.CreatedBy = "mode", "admin"
		changed.CreatedAt, admin.CreatedAt = stored(t0), stored(t0)
		if want := []Board{changed, admin}; !reflect.DeepEqual(bs, want) {
			t.Fatalf("boards %+v, want %+v", bs, want)
		}
		if b, err := db.BoardByID(ctx, "speedrun"); err != nil || b != admin {
			t.Fatalf("board speedrun: %+v, %v", b, err)
		}
		_, err = db.BoardByID(ctx, "none")
		mustErr(t, "an unknown board", err, ErrNotFound)
		if err := db.CreateBoard(ctx, Board{ID: "x", Order: "up", Operator: "best", Reset: "never"}); err == nil {
			t.Fatal("a board with order up was created")
		}
	})

	t.Run("operators", func(t *testing.T) {
		db := open(t)
		addAccounts(t, db, "a", "b")
		for _, c := range []struct {
			order, op string
			subs      []int64
			want      int64
		}{
			{"desc", "best", []int64{5, 9, 3}, 9},
			{"asc", "best", []int64{5, 9, 3}, 3},
			{"desc", "set", []int64{5, 9, 3}, 3},
			{"asc", "set", []int64{5, 9, 3}, 3},
			{"desc", "incr", []int64{5, 9, -3}, 11},
			{"asc", "incr", []int64{5, 9, -3}, 11},
		} {
			b := Board{ID: c.order + "-" + c.op, Order: c.order, Operator: c.op, Reset: "never", CreatedAt: t0}
			if err := db.EnsureBoard(ctx, b); err != nil {
				t.Fatal(err)
			}
			for i, s := range c.subs {
				if err := db.Submit(ctx, b, 0, "a", s, t0.Add(time.Duration(i)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			// b's score sits just beside a's final one: it ranks
			// after a on the board's order.
			other := c.want - 1
			if c.order == "asc" {
				other = c.want + 1
			}
			if err := db.Submit(ctx, b, 0, "b", other, t0); err != nil {
				t.Fatal(err)
			}
			e, err := db.Rank(ctx, b.ID, 0, "a")
			if err != nil || e.Score != c.want || e.Rank != 1 || e.Name != nameOf("a") {
				t.Errorf("%s %s: %+v, %v; want score %d, rank 1", c.order, c.op, e, err, c.want)
			}
			if e, err := db.Rank(ctx, b.ID, 0, "b"); err != nil || e.Rank != 2 {
				t.Errorf("%s %s: b %+v, %v; want rank 2", c.order, c.op, e, err)
			}
		}
		b := Board{ID: "desc-best", Order: "desc", Operator: "best", Reset: "never"}
		mustErr(t, "an unknown account", db.Submit(ctx, b, 0, "nobody", 1, t0), ErrNotFound)
		mustErr(t, "an unknown board", db.Submit(ctx, Board{ID: "none", Order: "desc", Operator: "set"}, 0, "a", 1, t0), ErrNotFound)
		mustErr(t, "the smallest int64", db.Submit(ctx, b, 0, "a", math.MinInt64, t0), ErrScore)
		if err := db.Submit(ctx, b, 0, "a", math.MaxInt64, t0); err != nil {
			t.Fatal(err)
		}
		_, err := db.Rank(ctx, b.ID, 0, "nobody")
		mustErr(t, "the rank of no entry", err, ErrNotFound)
		_, err = db.Around(ctx, b.ID, 0, "nobody", 5)
		mustErr(t, "around no entry", err, ErrNotFound)

		// A best board that turns from desc to asc ranks its entries
		// the other way.
		b.Order = "asc"
		if err := db.EnsureBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
		if e, err := db.Rank(ctx, b.ID, 0, "b"); err != nil || e.Rank != 1 {
			t.Errorf("after turning to asc, b: %+v, %v; want rank 1", e, err)
		}
	})

	t.Run("seasons are apart and kept", func(t *testing.T) {
		db := open(t)
		addAccounts(t, db, "a", "b")
		b := Board{ID: "daily", Order: "desc", Operator: "incr", Reset: "daily", CreatedAt: t0}
		if err := db.EnsureBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
		for s, subs := range map[int64][]int64{1: {1, 2}, 2: {10}} {
			for _, v := range subs {
				if err := db.Submit(ctx, b, s, "a", v, t0); err != nil {
					t.Fatal(err)
				}
			}
		}
		for s, want := range map[int64]int64{1: 3, 2: 10} {
			if e, err := db.Rank(ctx, b.ID, s, "a"); err != nil || e.Score != want {
				t.Errorf("season %d: %+v, %v; want %d", s, e, err, want)
			}
		}
		if es, err := db.Top(ctx, b.ID, 3, 10, 0); err != nil || len(es) != 0 {
			t.Errorf("an empty season: %+v, %v", es, err)
		}
	})

	t.Run("a reset loses no submission made across it", func(t *testing.T) {
		db := open(t)
		const players, each = 8, 25
		ids := make([]string, players)
		for i := range ids {
			ids[i] = fmt.Sprintf("p%d", i)
		}
		addAccounts(t, db, ids...)
		decl := game.Board{ID: "wins", Operator: "incr", Reset: "daily"}.Normalized()
		b := Board{ID: decl.ID, Order: decl.Order, Operator: decl.Operator, Reset: decl.Reset, CreatedAt: t0}
		if err := db.EnsureBoard(ctx, b); err != nil {
			t.Fatal(err)
		}
		reset, err := game.ParseReset(b.Reset)
		if err != nil {
			t.Fatal(err)
		}
		// A fake clock around midnight: submission j of each player is
		// made at midnight + (j - each/2) ms, half before, half after,
		// one at midnight itself, all at once.
		midnight := time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		errs := make(chan error, players*each)
		for _, id := range ids {
			for j := 0; j < each; j++ {
				wg.Add(1)
				go func(id string, at time.Time) {
					defer wg.Done()
					errs <- db.Submit(ctx, b, micro(reset.Season(at)), id, 1, at)
				}(id, midnight.Add(time.Duration(j-each/2)*time.Millisecond))
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		before, after := int64(each/2), int64(each-each/2) // midnight starts the new day
		for season, want := range map[time.Time]int64{midnight.Add(-24 * time.Hour): before, midnight: after} {
			es, err := db.Top(ctx, b.ID, micro(season), 100, 0)
			if err != nil || len(es) != players {
				t.Fatalf("season %s: %d entries, %v", season, len(es), err)
			}
			for _, e := range es {
				if e.Score != want || e.Rank != 1 {
					t.Errorf("season %s: %+v, want score %d rank 1", season, e, want)
				}
			}
		}
	})

	t.Run("results submitted at once, in any order, all count", func(t *testing.T) {
		db := open(t)
		ids := []string{"s0", "s1", "s2", "s3", "s4", "s5"}
		addAccounts(t, db, ids...)
		boards := []Board{
			{ID: "wins", Order: "desc", Operator: "incr", Reset: "never", CreatedAt: t0},
			{ID: "kills", Order: "desc", Operator: "incr", Reset: "never", CreatedAt: t0},
		}
		for _, b := range boards {
			if err := db.EnsureBoard(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		const games = 24
		var wg sync.WaitGroup
		errs := make(chan error, games)
		for g := 0; g < games; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				// Each game's players in another order, scores that move
				// the entries' buckets.
				rng := rand.New(rand.NewPCG(uint64(g), 9))
				var subs []Submission
				for _, i := range rng.Perm(len(ids)) {
					for _, b := range boards {
						subs = append(subs, Submission{Board: b, Account: ids[i], Score: 1 << (8 * rng.IntN(3)), At: t0})
					}
				}
				errs <- db.SubmitAll(ctx, subs)
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range boards {
			es, err := db.Top(ctx, b.ID, 0, 10, 0)
			if err != nil || len(es) != len(ids) {
				t.Fatalf("%s: %+v, %v", b.ID, es, err)
			}
			for _, e := range es {
				var better int64
				for _, o := range es {
					if o.Score > e.Score {
						better++
					}
				}
				if e.Rank != better+1 {
					t.Errorf("%s: %+v, want rank %d", b.ID, e, better+1)
				}
			}
		}
	})

	t.Run("ranks from the counts match a count of the entries", func(t *testing.T) {
		// Scores over the whole int64 range, changed by set and incr,
		// some accounts deleted: every rank is 1 plus the entries
		// strictly better, as a count of them here says.
		db := open(t)
		rng := rand.New(rand.NewPCG(5, 6))
		const n = 60
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("r%02d", i)
		}
		addAccounts(t, db, ids...)
		scales := []int64{1, 1 << 8, 1 << 20, 1 << 40, math.MaxInt64}
		draw := func() int64 {
			sc := scales[rng.IntN(len(scales))]
			if sc == math.MaxInt64 {
				return rng.Int64() - rng.Int64N(math.MaxInt64) // both signs, far apart
			}
			return rng.Int64N(2*sc) - sc
		}
		for _, order := range []string{"desc", "asc"} {
			set := Board{ID: "set-" + order, Order: order, Operator: "set", Reset: "never", CreatedAt: t0}
			incr := Board{ID: "incr-" + order, Order: order, Operator: "incr", Reset: "never", CreatedAt: t0}
			for _, b := range []Board{set, incr} {
				if err := db.EnsureBoard(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			for round := 0; round < 3; round++ {
				for _, id := range ids {
					v := draw()
					if err := db.Submit(ctx, set, 0, id, v, t0); err != nil {
						t.Fatal(err)
					}
					if err := db.Submit(ctx, incr, 0, id, v/4, t0); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if err := db.DeleteAccount(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAccount(ctx, ids[1]); err != nil {
			t.Fatal(err)
		}
		for _, board := range []string{"set-desc", "set-asc", "incr-desc", "incr-asc"} {
			all, err := db.Top(ctx, board, 0, 100, 0)
			if err != nil || len(all) != n-2 {
				t.Fatalf("%s: %d entries, %v", board, len(all), err)
			}
			for _, e := range all {
				var better int64
				for _, o := range all {
					if (strings.HasSuffix(board, "desc") && o.Score > e.Score) || (strings.HasSuffix(board, "asc") && o.Score < e.Score) {
						better++
					}
				}
				if e.Rank != better+1 {
					t.Fatalf("%s: %+v, want rank %d", board, e, better+1)
				}
				if r, err := db.Rank(ctx, board, 0, e.Account); err != nil || r != e {
					t.Fatalf("%s: Rank %+v, %v; want %+v", board, r, err, e)
				}
			}
		}
	})

	var printed string
	t.Run("ties", func(t *testing.T) {
		db := open(t)
		printed = tiesContract(t, db)
	})
	return printed
}

// tiesContract fills a board with ties of score and of time and checks
// every page against a ranking made here, returning the pages printed.
func tiesContract(t *testing.T, db *DB) string {
	ctx := context.Background()
	b := Board{ID: "ties", Order: "desc", Operator: "set", Reset: "never", CreatedAt: t0}
	if err := db.EnsureBoard(ctx, b); err != nil {
		t.Fatal(err)
	}
	type sub struct {
		id    string
		score int64
		at    int // seconds after t0
	}
	// Scores tie in threes and fours; within a tie, times tie too, and
	// the account IDs (mixed case and punctuation, which collations order
	// differently from bytes) break them.
	var subs []sub
	ids := []string{"b", "A", "a", "_z", "Z-1", "z_1", "10", "9", "é", "bb", "B", "a-b", "ab"}
	for i, id := range ids {
		subs = append(subs, sub{id, int64(10 - i/4*3), i % 2})
	}
	for _, s := range subs {
		addAccounts(t, db, s.id)
		if err := db.Submit(ctx, b, 0, s.id, s.score, t0.Add(time.Duration(s.at)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// The reference: by score, higher first, then earlier, then ID bytes;
	// competition ranks.
	sort.Slice(subs, func(i, j int) bool {
		a, b := subs[i], subs[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.at != b.at {
			return a.at < b.at
		}
		return a.id < b.id
	})
	want := make([]Entry, len(subs))
	for i, s := range subs {
		want[i] = Entry{Account: s.id, Name: nameOf(s.id), Score: s.score, Rank: int64(i + 1),
			UpdatedAt: stored(t0.Add(time.Duration(s.at) * time.Second))}
		if i > 0 && s.score == subs[i-1].score {
			want[i].Rank = want[i-1].Rank
		}
	}
	var out string
	for limit := 1; limit <= len(want)+1; limit++ {
		for offset := 0; offset <= len(want); offset++ {
			got, err := db.Top(ctx, b.ID, 0, limit, offset)
			if err != nil {
				t.Fatal(err)
			}
			w := want[min(offset, len(want)):min(offset+limit, len(want))]
			if len(got) != len(w) || (len(w) > 0 && !reflect.DeepEqual(got, w)) {
				t.Fatalf("Top(%d, %d) = %+v, want %+v", limit, offset, got, w)
			}
			out += fmt.Sprintf("top %d %d: %v\n", limit, offset, got)
		}
	}
	for i, e := range want {
		got, err := db.Rank(ctx, b.ID, 0, e.Account)
		if err != nil || got != e {
			t.Fatalf("Rank(%s) = %+v, %v; want %+v", e.Account, got, err, e)
		}
		for n := 1; n <= 6; n++ {
			got, err := db.Around(ctx, b.ID, 0, e.Account, n)
			if err != nil {
				t.Fatal(err)
			}
			from := max(i-(n-1)/2, 0)
			w := want[from:min(i+1+n-1-(n-1)/2, len(want))]
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("Around(%s, %d) = %+v, want %+v", e.Account, n, got, w)
			}
			out += fmt.Sprintf("around %s %d: %v\n", e.Account, n, got)
		}
	}
	return out
}
