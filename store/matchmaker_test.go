package store

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"
)

// TestMatchmakerStore runs the pool's storage on both backends: a ticket
// a account waiting, all-or-nothing matches, cancel, expiry, the lease.
func TestMatchmakerStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := Open(ctx, b.url(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			now := time.Now().UTC().Truncate(time.Microsecond)
			tk := func(id, account string) MatchTicket {
				return MatchTicket{ID: id, Account: account, Pool: "m", Mode: "m", Options: map[string]string{"x": "1"}, Party: []string{"p-" + account},
					Mu: 25, Sigma: 8, Created: now, Expires: now.Add(time.Minute)}
			}
			for _, id := range []string{"a", "b", "c"} {
				if err := db.AddTicket(ctx, tk(id, id)); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.AddTicket(ctx, tk("a2", "a")); !errors.Is(err, ErrAlreadyQueued) {
				t.Fatalf("a second waiting ticket of one account: %v, want ErrAlreadyQueued", err)
			}
			got, err := db.Ticket(ctx, "a")
			if err != nil || got.State != TicketWaiting || got.Options["x"] != "1" || got.Party[0] != "p-a" || !got.Created.Equal(now) {
				t.Fatalf("ticket a: %+v, %v", got, err)
			}
			// c is cancelled; a match of a and c takes neither.
			if err := db.CancelTicket(ctx, "c", "someone else", now); !errors.Is(err, ErrNotFound) {
				t.Fatalf("cancel of another's ticket: %v", err)
			}
			if err := db.CancelTicket(ctx, "c", "c", now); err != nil {
				t.Fatal(err)
			}
			seats := map[string]string{"a": "s1"}
			if err := db.MatchTickets(ctx, []TicketMatch{{ID: "a", Room: "r", Seats: seats}, {ID: "c", Room: "r"}}, now); !errors.Is(err, ErrTicketTaken) {
				t.Fatalf("a match with a cancelled ticket: %v, want ErrTicketTaken", err)
			}
			if got, _ := db.Ticket(ctx, "a"); got.State != TicketWaiting {
				t.Fatalf("a after a failed match: %s, want waiting", got.State)
			}
			// Two matchers race for a and b: exactly one wins.
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Go(func() {
					errs[i] = db.MatchTickets(ctx, []TicketMatch{{ID: "a", Room: "r", URL: "u", Seats: seats, Team: 1}, {ID: "b", Room: "r"}}, now)
				})
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("two matchers of one pair: %v and %v, want one to win", errs[0], errs[1])
			}
			got, _ = db.Ticket(ctx, "a")
			if got.State != TicketMatched || got.Room != "r" || got.URL != "u" || !maps.Equal(got.Seats, seats) || got.Team != 1 {
				t.Fatalf("a matched: %+v", got)
			}
			if w, err := db.WaitingTickets(ctx, now); err != nil || len(w) != 0 {
				t.Fatalf("waiting: %v, %v, want none", w, err)
			}
			// Expiry: a ticket past its time leaves the pool, and later
			// the table.
			if err := db.AddTicket(ctx, tk("d", "a")); err != nil {
				t.Fatal(err)
			}
			if w, _ := db.WaitingTickets(ctx, now); len(w) != 1 {
				t.Fatalf("waiting: %v, want d", w)
			}
			later := now.Add(2 * time.Minute)
			if err := db.ExpireTickets(ctx, later, now); err != nil {
				t.Fatal(err)
			}
			if got, _ := db.Ticket(ctx, "d"); got.State != TicketExpired {
				t.Fatalf("d: %s, want expired", got.State)
			}
			if err := db.ExpireTickets(ctx, later, later.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Ticket(ctx, "d"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("d after it was forgotten: %v", err)
			}
			// The lease: one holder until it lapses.
			for _, c := range []struct {
				holder string
				at     time.Time
				want   bool
			}{{"n1", now, true}, {"n2", now, false}, {"n1", now.Add(time.Second), true}, {"n2", now.Add(5 * time.Second), false}, {"n2", now.Add(7 * time.Second), true}} {
				got, err := db.Lease(ctx, "matcher", c.holder, c.at, 5*time.Second)
				if err != nil || got != c.want {
					t.Fatalf("lease for %s at +%v: %v, %v; want %v", c.holder, c.at.Sub(now), got, err, c.want)
				}
			}
		})
	}
}
