package matchmaker

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

var t0 = time.Unix(1_000_000, 0)

func ticket(id string, mu float64, waited time.Duration, party ...string) Ticket {
	return Ticket{ID: id, Account: id, Mode: "m", Party: party, Rating: Rating{Mu: mu, Sigma: 8}, Created: t0.Add(-waited)}
}

func ids(g Group) []string {
	var out []string
	for _, t := range g.Tickets {
		out = append(out, t.ID)
	}
	slices.Sort(out)
	return out
}

func TestMatchmakerWindowWidensWithWait(t *testing.T) {
	rules := Rules{Size: 2, WindowBase: 2, WindowRate: 1, WindowMax: 10}
	if w := rules.Window(0); w != 2 {
		t.Fatalf("window at once: %v, want 2", w)
	}
	if w := rules.Window(3 * time.Second); w != 5 {
		t.Fatalf("window after 3 s: %v, want 5", w)
	}
	if w := rules.Window(time.Hour); w != 10 {
		t.Fatalf("window after an hour: %v, want the cap 10", w)
	}
	// 6 points apart: neither accepts the other at once, nor when only
	// one has waited; both have after 4 s.
	for _, c := range []struct {
		waitA, waitB time.Duration
		match        bool
	}{
		{0, 0, false},
		{10 * time.Second, 0, false},
		{4 * time.Second, 4 * time.Second, true},
	} {
		got := Match(t0, rules, []Ticket{ticket("a", 20, c.waitA), ticket("b", 26, c.waitB)}, nil)
		if (len(got) == 1) != c.match {
			t.Errorf("waits %v and %v: %d groups, want a match %v", c.waitA, c.waitB, len(got), c.match)
		}
	}
}

func TestMatchmakerGroupsNearestRatings(t *testing.T) {
	rules := Rules{Size: 2, WindowBase: 50, WindowMax: 50}
	// Four players, two levels: the oldest (a, 10) is paired with its
	// nearest (c, 11), not the next to come (b, 40).
	got := Match(t0, rules, []Ticket{ticket("a", 10, 4*time.Second), ticket("b", 40, 3*time.Second), ticket("c", 11, 2*time.Second), ticket("d", 41, time.Second)}, nil)
	if len(got) != 2 || !slices.Equal(ids(got[0]), []string{"a", "c"}) || !slices.Equal(ids(got[1]), []string{"b", "d"}) {
		t.Fatalf("groups %v", got)
	}
}

func TestMatchmakerPartiesStayTogether(t *testing.T) {
	rules := Rules{Size: 4, Teams: 2, WindowBase: 50, WindowMax: 50}
	// A party of two, and singles: the party must be one team; a party of
	// three fits no team of two and waits.
	tickets := []Ticket{
		ticket("p", 25, 5*time.Second, "p2"),
		ticket("big", 25, 9*time.Second, "b2", "b3"),
		ticket("s1", 24, time.Second), ticket("s2", 26, time.Second),
	}
	got := Match(t0, rules, tickets, nil)
	if len(got) != 1 {
		t.Fatalf("%d groups, want 1: %v", len(got), got)
	}
	g := got[0]
	if !slices.Equal(ids(g), []string{"p", "s1", "s2"}) {
		t.Fatalf("group %v, want p's party and the two singles", ids(g))
	}
	team := map[string]int{}
	for i, tk := range g.Tickets {
		team[tk.ID] = g.Teams[i]
	}
	if team["p"] == team["s1"] || team["s1"] != team["s2"] || team["p"] == 0 {
		t.Fatalf("teams %v: the party is one team, the singles the other", team)
	}
}

func TestMatchmakerBackfillsFirst(t *testing.T) {
	rules := Rules{Size: 2, WindowBase: 5, WindowMax: 5}
	open := []OpenRoom{{Name: "far", Free: 1, Mu: 45}, {Name: "near", Free: 1, Mu: 21}}
	// a and b could make a new room of their own; a goes to the open
	// room near its rating instead, and b, alone, waits.
	got := Match(t0, rules, []Ticket{ticket("a", 20, 2*time.Second), ticket("b", 22, time.Second)}, open)
	if len(got) != 1 || got[0].Room != "near" || !slices.Equal(ids(got[0]), []string{"a"}) {
		t.Fatalf("groups %+v, want a in room near", got)
	}
	// A room with teams takes a party where a team has its seats.
	rules = Rules{Size: 4, Teams: 2, WindowBase: 5, WindowMax: 5}
	open = []OpenRoom{{Name: "r", Free: 2, TeamFree: []int{1, 1}, Mu: 20}, {Name: "q", Free: 2, TeamFree: []int{0, 2}, Mu: 20}}
	got = Match(t0, rules, []Ticket{ticket("p", 20, time.Second, "p2")}, open)
	if len(got) != 1 || got[0].Room != "q" || got[0].Teams[0] != 2 {
		t.Fatalf("groups %+v, want the party in q's team 2", got)
	}
}

func TestMatchmakerBotsAfterWait(t *testing.T) {
	rules := Rules{Size: 4, WindowBase: 5, WindowMax: 5, BotsAfter: 10 * time.Second}
	if got := Match(t0, rules, []Ticket{ticket("a", 20, 9*time.Second)}, nil); len(got) != 0 {
		t.Fatalf("before BotsAfter: %v", got)
	}
	got := Match(t0, rules, []Ticket{ticket("a", 20, 10*time.Second), ticket("b", 21, time.Second)}, nil)
	if len(got) != 1 || got[0].Bots != 2 || len(got[0].Tickets) != 2 {
		t.Fatalf("after BotsAfter: %+v, want a and b with 2 bots", got)
	}
}

func TestMatchmakerNeverMatchesATicketTwice(t *testing.T) {
	rules := Rules{Size: 3, Teams: 0, WindowBase: 10, WindowRate: 1, WindowMax: 40}
	var tickets []Ticket
	for i := range 200 {
		var party []string
		if i%7 == 0 {
			party = []string{fmt.Sprint("x", i)}
		}
		tickets = append(tickets, ticket(fmt.Sprint(i), float64(i%50), time.Duration(i)*100*time.Millisecond, party...))
	}
	open := []OpenRoom{{Name: "o1", Free: 2, Mu: 10}, {Name: "o2", Free: 1, Mu: 30}}
	seen := map[string]bool{}
	for _, g := range Match(t0, rules, tickets, open) {
		n := g.Bots
		for _, tk := range g.Tickets {
			if seen[tk.ID] {
				t.Fatalf("ticket %s matched twice", tk.ID)
			}
			seen[tk.ID] = true
			n += tk.Players()
		}
		if g.Room == "" && n != rules.Size {
			t.Fatalf("new room of %d players, want %d", n, rules.Size)
		}
	}
	if len(seen) < 150 {
		t.Fatalf("only %d of 200 tickets matched", len(seen))
	}
}

func TestMatchmakerPoolKey(t *testing.T) {
	a := PoolKey("m", map[string]string{"x": "1", "y": "2"})
	b := PoolKey("m", map[string]string{"y": "2", "x": "1"})
	if a != b || a == PoolKey("m", nil) || PoolKey("m", nil) != PoolKey("m", map[string]string{}) {
		t.Fatalf("pool keys %q %q", a, b)
	}
}

// TestMatchmakerSimulation runs the simulation: 10,000 players,
// matched by rating and first-come on the same arrivals. The rating
// matcher must give rooms of far closer players, at some cost in wait.
func TestMatchmakerSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	for _, rate := range []float64{20, 2} {
		cfg := SimConfig{Players: 10_000, Rate: rate, Rules: DefaultRules(4), Seed: 1}
		rated := Simulate(cfg, Match)
		first := Simulate(cfg, FirstCome)
		t.Logf("%v players/s, rating: %v", rate, rated)
		t.Logf("%v players/s, first-come: %v", rate, first)
		if rated.MedianSpread >= first.MedianSpread/2 {
			t.Errorf("rating matcher's median spread %.1f, first-come's %.1f: want under half", rated.MedianSpread, first.MedianSpread)
		}
		if rated.Matched < 9_990 || first.Matched < 9_990 {
			t.Errorf("matched %d and %d of 10,000", rated.Matched, first.Matched)
		}
	}
}

// BenchmarkMatch is one run of the matcher over a pool of 10,000 tickets
// that have waited up to a minute: what the one node holding the lease
// spends each interval at that size.
func BenchmarkMatch(b *testing.B) {
	rules := DefaultRules(4)
	var tickets []Ticket
	for i := range 10_000 {
		tickets = append(tickets, ticket(fmt.Sprint(i), float64((i*7919)%5000)/100, time.Duration(i%60)*time.Second))
	}
	b.ReportAllocs()
	for b.Loop() {
		Match(t0, rules, tickets, nil)
	}
}
