package store

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// TestMatches runs the match history and ratings contract (store/matches.go)
// against every backend.
func TestMatches(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			matchesContract(t, func(t *testing.T) (*DB, string) {
				u := b.url(t)
				db, err := Open(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db, u
			})
		})
	}
}

// plusOne is a Rater that adds 1 to every rated account's mu, from 25 for
// one with no rating yet: what it read shows in what it wrote.
func plusOne(current map[string]Rating) map[string]Rating {
	next := map[string]Rating{}
	for a, r := range current {
		if r.Games == 0 {
			r.Mu, r.Sigma = 25, 8
		}
		r.Mu++
		next[a] = r
	}
	return next
}

func match(key string, ended time.Time, players ...MatchPlayer) Match {
	return Match{Key: key, Mode: "duel", Room: "r1", Game: 1, Started: ended.Add(-time.Minute), Ended: ended, Summary: "a won", Players: players}
}

func matchesContract(t *testing.T, open func(t *testing.T) (*DB, string)) {
	ctx := context.Background()
	withAccounts := func(t *testing.T, ids ...string) (*DB, string) {
		db, u := open(t)
		for _, id := range ids {
			must(t, db.CreateAccount(ctx, account(id, "n-"+id, "", t0)))
		}
		return db, u
	}
	rating := func(t *testing.T, db *DB, acct, mode string) Rating {
		t.Helper()
		rs, err := db.RatingsFor(ctx, mode, []string{acct})
		must(t, err)
		return rs[acct]
	}

	t.Run("a match is written with its players, guests counted, and read back", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b")
		m := match("r1/x/1", t0,
			MatchPlayer{Account: "a", Player: 2, Name: "Ann", Standing: 1, Score: 10, Team: 1, Stats: map[string]int64{"kills": 3}},
			MatchPlayer{Account: "b", Player: 1, Name: "Bob", Standing: 2, Score: 5},
			MatchPlayer{Account: "stranger", Player: 3, Name: "Sam", Standing: 3}, // an ID the store does not know
			MatchPlayer{Account: "a", Player: 4, Name: "Ann again", Standing: 4},  // a second tab: not a second row
		)
		m.Guests = 2
		already, err := db.RecordMatch(ctx, m, plusOne)
		if err != nil || already {
			t.Fatalf("RecordMatch = %v, %v", already, err)
		}
		got, err := db.Match(ctx, "r1/x/1")
		must(t, err)
		want := m
		want.Started, want.Ended, want.Guests = stored(m.Started), stored(m.Ended), 3
		want.Players = m.Players[:2]
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Match = %+v\nwant %+v", got, want)
		}
		if r := rating(t, db, "a", "duel"); r.Mu != 26 || r.Games != 1 {
			t.Fatalf("a's rating %+v", r)
		}
		if rs, err := db.Ratings(ctx, "stranger"); err != nil || len(rs) != 0 {
			t.Fatalf("a stranger's ratings %+v, %v", rs, err)
		}
		if _, err := db.Match(ctx, "nope"); err == nil {
			t.Fatal("an unknown match was found")
		}
	})

	t.Run("the same key twice is one match, rated once", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b")
		m := match("k", t0, MatchPlayer{Account: "a", Player: 1, Standing: 1}, MatchPlayer{Account: "b", Player: 2, Standing: 2})
		if already, err := db.RecordMatch(ctx, m, plusOne); err != nil || already {
			t.Fatalf("first: %v, %v", already, err)
		}
		// Delivered again, with other contents (a room restored from an
		// older checkpoint would not differ, but the key alone decides).
		m2 := m
		m2.Summary, m2.Players = "other", m.Players[:1]
		if already, err := db.RecordMatch(ctx, m2, plusOne); err != nil || !already {
			t.Fatalf("second: %v, %v", already, err)
		}
		if got, _ := db.Match(ctx, "k"); got.Summary != "a won" || len(got.Players) != 2 {
			t.Fatalf("the second delivery wrote: %+v", got)
		}
		if r := rating(t, db, "a", "duel"); r.Mu != 26 || r.Games != 1 {
			t.Fatalf("rated twice: %+v", r)
		}
	})

	t.Run("concurrent duplicates write one match and rate once", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b")
		m := match("dup", t0, MatchPlayer{Account: "a", Player: 1, Standing: 1}, MatchPlayer{Account: "b", Player: 2, Standing: 2})
		const n = 8
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			fresh int
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				already, err := db.RecordMatch(ctx, m, plusOne)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if !already {
					fresh++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if fresh != 1 {
			t.Fatalf("%d of %d deliveries wrote the match", fresh, n)
		}
		for _, a := range []string{"a", "b"} {
			if r := rating(t, db, a, "duel"); r.Mu != 26 || r.Games != 1 {
				t.Fatalf("%s: %+v", a, r)
			}
		}
	})

	t.Run("concurrent matches sharing a player lose no rating update", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b", "c")
		const n = 10
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// a plays every match, b and c every other: the locks are
				// taken in two orders unless the store orders them.
				other := []string{"b", "c"}[i%2]
				ps := []MatchPlayer{{Account: other, Player: 1, Standing: 1}, {Account: "a", Player: 2, Standing: 2}}
				if _, err := db.RecordMatch(ctx, match(fmt.Sprint("m", i), t0.Add(time.Duration(i)*time.Second), ps...), plusOne); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if r := rating(t, db, "a", "duel"); r.Mu != 25+n || r.Games != n {
			t.Fatalf("a after %d matches: %+v", n, r)
		}
		if r := rating(t, db, "b", "duel"); r.Games != n/2 {
			t.Fatalf("b: %+v", r)
		}
	})

	t.Run("a write that failed is written once when the store is back", func(t *testing.T) {
		db, u := withAccounts(t, "a")
		m := match("retry", t0, MatchPlayer{Account: "a", Player: 1, Standing: 1})
		db.Close()
		if _, err := db.RecordMatch(ctx, m, plusOne); err == nil {
			t.Fatal("a closed store wrote")
		}
		again, err := Open(ctx, u)
		must(t, err)
		defer again.Close()
		for i, want := range []bool{false, true} {
			if already, err := again.RecordMatch(ctx, m, plusOne); err != nil || already != want {
				t.Fatalf("try %d: %v, %v", i, already, err)
			}
		}
		if r := rating(t, again, "a", "duel"); r.Games != 1 {
			t.Fatalf("%+v", r)
		}
	})

	t.Run("a rater may leave an account out, and a nil rater rates nobody", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b")
		onlyA := func(cur map[string]Rating) map[string]Rating {
			next := plusOne(cur)
			delete(next, "b")
			return next
		}
		ps := []MatchPlayer{{Account: "a", Player: 1, Standing: 1}, {Account: "b", Player: 2, Standing: 2}}
		_, err := db.RecordMatch(ctx, match("m1", t0, ps...), onlyA)
		must(t, err)
		_, err = db.RecordMatch(ctx, match("m2", t0, ps...), nil)
		must(t, err)
		rs, err := db.RatingsFor(ctx, "duel", []string{"a", "b", "zz"})
		must(t, err)
		if len(rs) != 1 || rs["a"].Games != 1 {
			t.Fatalf("RatingsFor = %+v", rs)
		}
		if rs, err := db.Ratings(ctx, "b"); err != nil || len(rs) != 0 {
			t.Fatalf("b, left out, has ratings %+v, %v", rs, err)
		}
	})

	t.Run("ratings are per mode; players with no standing are not rated", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b")
		m := match("m1", t0, MatchPlayer{Account: "a", Player: 1, Standing: 1}, MatchPlayer{Account: "b", Player: 2})
		_, err := db.RecordMatch(ctx, m, plusOne)
		must(t, err)
		m = match("m2", t0, MatchPlayer{Account: "a", Player: 1, Standing: 1})
		m.Mode = "ffa"
		_, err = db.RecordMatch(ctx, m, plusOne)
		must(t, err)
		rs, err := db.Ratings(ctx, "a")
		must(t, err)
		if len(rs) != 2 || rs[0].Mode != "duel" || rs[1].Mode != "ffa" || rs[0].Updated != stored(t0) {
			t.Fatalf("Ratings(a) = %+v", rs)
		}
		if rs, _ := db.Ratings(ctx, "b"); len(rs) != 0 {
			t.Fatalf("b, with no standing, was rated: %+v", rs)
		}
	})

	t.Run("an account's matches page newest first", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b")
		const n = 7
		for i := range n {
			ps := []MatchPlayer{{Account: "a", Player: 1, Standing: 1}}
			if i%2 == 0 {
				ps = append(ps, MatchPlayer{Account: "b", Player: 2, Standing: 2})
			}
			// Two matches end at each instant: the key breaks the tie.
			_, err := db.RecordMatch(ctx, match(fmt.Sprint("m", i), t0.Add(time.Duration(i/2)*time.Second), ps...), nil)
			must(t, err)
		}
		var (
			keys   []string
			cursor MatchCursor
		)
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("paging does not end")
			}
			ms, next, err := db.MatchesOf(ctx, "a", cursor, 3)
			must(t, err)
			for _, m := range ms {
				keys = append(keys, m.Key)
				if len(m.Players) == 0 || m.Players[0].Account != "a" {
					t.Fatalf("match %s players %+v", m.Key, m.Players)
				}
			}
			if next == (MatchCursor{}) {
				break
			}
			cursor = next
		}
		want := []string{"m6", "m5", "m4", "m3", "m2", "m1", "m0"}
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("pages: %v, want %v", keys, want)
		}
		ms, _, err := db.MatchesOf(ctx, "b", MatchCursor{}, 100)
		must(t, err)
		if len(ms) != 4 || len(ms[0].Players) != 2 || ms[0].Players[1].Account != "b" {
			t.Fatalf("b's matches %+v", ms)
		}
		if ms, next, err := db.MatchesOf(ctx, "nobody", MatchCursor{}, 10); err != nil || len(ms) != 0 || next != (MatchCursor{}) {
			t.Fatalf("nobody's matches %+v, %v, %v", ms, next, err)
		}
	})

	t.Run("a deleted account's history and ratings go with it", func(t *testing.T) {
		db, _ := withAccounts(t, "a", "b")
		ps := []MatchPlayer{{Account: "a", Player: 1, Standing: 1}, {Account: "b", Player: 2, Standing: 2}}
		_, err := db.RecordMatch(ctx, match("m", t0, ps...), plusOne)
		must(t, err)
		must(t, db.DeleteAccount(ctx, "a"))
		m, err := db.Match(ctx, "m")
		must(t, err)
		if len(m.Players) != 1 || m.Players[0].Account != "b" {
			t.Fatalf("after a's deletion: %+v", m.Players)
		}
		if rs, _ := db.RatingsFor(ctx, "duel", []string{"a", "b"}); len(rs) != 1 {
			t.Fatalf("ratings %+v", rs)
		}
	})
}
