// Package matchmaker groups players who queue for a mode into rooms of
// players of their level. Tickets (a player, or a party that plays
// together) wait in a pool per mode and room options; every Interval a
// matcher sorts the pool by rating and forms rooms of tickets whose
// ratings lie within each other's window, a window that widens the longer
// a ticket waits, so that nobody waits for ever for a perfect match. Open
// seats of rooms it made earlier are filled first (backfill), and each
// player is handed a seat held in its room, as a redirect between the
// nodes of a cluster is.
//
// Ratings come from the store (the ratings the server computes from
// finished games), never from the client.
//
// # Where the pool lives
//
// The pool lives in the store's database (table matchmaker_tickets,
// migration 00006), not in a NATS JetStream KV bucket. A cluster's nodes
// share one PostgreSQL already, and the pool needs what a database does
// well and a KV bucket does not: one statement that takes a ticket only if
// it still waits (UPDATE … WHERE state = 'waiting'), in a transaction that
// takes every ticket of a room or none, so that no ticket is matched twice
// whatever runs the matcher; a scan of the waiting tickets of a mode; and
// a unique index that keeps one waiting ticket per account. A KV bucket
// would give per-key compare-and-set only, and a room's tickets would be
// taken one by one, with undo on a conflict. Standalone arena (SQLite) is
// the same code on one node. One node at a time runs the matcher, by a
// lease (a row with a holder and an expiry, renewed each run): two
// matchers would only race for the same tickets and split the pool. The
// lease is an optimisation, not the guarantee: the conditional update is.
//
// The node holding the lease makes the rooms it matches on itself, and
// each ticket names that node's URL: a player joins there with its seat,
// from whichever node it queued on. Backfill fills the rooms the matcher
// made on its own node; when the lease moves, the rooms the last holder
// made are no longer backfilled (they play on, short).
//
// A mode may start a room short of players for a ticket that waited
// Rules.BotsAfter (game.Mode.BotsAfter), its game playing bots in the
// seats left (game.BotFiller); a player backfilled into the room takes a
// bot's seat.
//
// A party is a list of accounts that the ticket's player names; they are
// not asked. Each reads its own seat from the ticket, and an account
// waits in one ticket at a time.
//
// One run over 10,000 waiting tickets takes about 16 ms (BenchmarkMatch),
// well inside the 250 ms interval.
//
// The matcher itself (Match) is plain logic over a slice of tickets, with
// no I/O, so that it is tested, and simulated (Simulate), without a
// database.
package matchmaker

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// Rating is a player's skill: the mean and the uncertainty of the
// Weng-Lin (OpenSkill) rating the server keeps per account and mode.
type Rating struct{ Mu, Sigma float64 }

// DefaultRating is the rating of a player who has none yet: mu 25, sigma
// 25/3, OpenSkill's defaults.
func DefaultRating() Rating { return Rating{Mu: 25, Sigma: 25.0 / 3} }

// PartyRating is the rating a party is matched by: the mean of its
// players' mus, and the root mean square of their sigmas.
func PartyRating(rs []Rating) Rating {
	if len(rs) == 0 {
		return DefaultRating()
	}
	var mu, s2 float64
	for _, r := range rs {
		mu += r.Mu
		s2 += r.Sigma * r.Sigma
	}
	n := float64(len(rs))
	return Rating{Mu: mu / n, Sigma: math.Sqrt(s2 / n)}
}

// Ticket is a player, or a party, waiting to be matched.
type Ticket struct {
	ID      string
	Account string // who queued it; a member of its party
	Mode    string
	Options map[string]string // room options; nil: the mode's defaults
	// Party are the other accounts that play with Account, in one room
	// and one team.
	Party   []string
	Rating  Rating // the party's (PartyRating), from the store
	Created time.Time
}

// Players is how many seats the ticket takes.
func (t Ticket) Players() int { return 1 + len(t.Party) }

// Accounts are the ticket's players, Account first.
func (t Ticket) Accounts() []string { return append([]string{t.Account}, t.Party...) }

// PoolKey names the pool of a mode and room options: tickets of one pool
// play in the same rooms.
func PoolKey(mode string, options map[string]string) string {
	var b strings.Builder
	b.WriteString(mode)
	for _, k := range slices.Sorted(maps.Keys(options)) {
		b.WriteString("\x00" + k + "=" + options[k])
	}
	return b.String()
}

// Rules are how a mode is matched.
type Rules struct {
	// Size is how many players a room seats: the mode's MaxPlayers, or
	// the room capacity.
	Size int
	// Teams, if more than 1, splits a room into that many teams of
	// Size/Teams; a party plays in one.
	Teams int
	// A ticket accepts a ticket or a room whose rating lies within
	// WindowBase + WindowRate × its wait in seconds of its own, and at
	// most WindowMax from it. Mus are in rating points (mu 25, sigma 25/3
	// for a new player).
	WindowBase, WindowRate, WindowMax float64
	// BotsAfter, if set, starts a room short of Size for a ticket that
	// waited that long, with the seats left to the mode's bots
	// (Group.Bots).
	BotsAfter time.Duration
}

// DefaultRules are the rules of a mode of size players that sets none:
// within 3 points at once, a point more for each second of wait, and any
// rating (60 points span every rating there is) after 57 s.
func DefaultRules(size int) Rules {
	return Rules{Size: size, WindowBase: 3, WindowRate: 1, WindowMax: 60}
}

// Window is how far a ticket that waited wait accepts ratings from its
// own.
func (r Rules) Window(wait time.Duration) float64 {
	return min(r.WindowBase+r.WindowRate*max(wait, 0).Seconds(), r.WindowMax)
}

// OpenRoom is a room the matchmaker made earlier that has seats free.
type OpenRoom struct {
	Name string
	// Free is how many players it can still seat; TeamFree, in a mode
	// with teams, how many each team can (Free is then their sum).
	Free     int
	TeamFree []int
	// Mu is the mean rating of its players.
	Mu float64
}

// Group is a room's worth of tickets the matcher put together.
type Group struct {
	// Room is the open room the tickets fill; "" is a new room.
	Room    string
	Tickets []Ticket
	// Teams gives each ticket its team, 1 to Rules.Teams, in a mode with
	// teams; nil otherwise.
	Teams []int
	// Bots is how many seats of a new room are left for bots.
	Bots int
}

// Spread is the rating spread of the group's tickets: the highest mu less
// the lowest.
func (g Group) Spread() float64 {
	if len(g.Tickets) == 0 {
		return 0
	}
	lo, hi := g.Tickets[0].Rating.Mu, g.Tickets[0].Rating.Mu
	for _, t := range g.Tickets[1:] {
		lo, hi = min(lo, t.Rating.Mu), max(hi, t.Rating.Mu)
	}
	return hi - lo
}

// Match groups the tickets of one pool at now: first into the open rooms
// (backfill), then into new rooms of rules.Size. A ticket is in at most
// one group; a ticket left out waits for the next run. Tickets are taken
// the longest-waiting first, each with the tickets nearest its rating
// that both accept it and are accepted by it.
func Match(now time.Time, rules Rules, tickets []Ticket, rooms []OpenRoom) []Group {
	if rules.Size <= 0 {
		return nil
	}
	teamSize := rules.Size
	if rules.Teams > 1 {
		teamSize = rules.Size / rules.Teams
	}
	// byWait orders the matching; byMu is where each looks for company.
	byWait := make([]int, 0, len(tickets))
	for i, t := range tickets {
		if t.Players() <= teamSize { // a party too big never fits: it waits until it expires
			byWait = append(byWait, i)
		}
	}
	slices.SortStableFunc(byWait, func(a, b int) int {
		return cmp.Or(tickets[a].Created.Compare(tickets[b].Created), strings.Compare(tickets[a].ID, tickets[b].ID))
	})
	byMu := slices.Clone(byWait)
	slices.SortStableFunc(byMu, func(a, b int) int { return cmp.Compare(tickets[a].Rating.Mu, tickets[b].Rating.Mu) })
	pos := make(map[int]int, len(byMu)) // ticket → its place in byMu
	for p, i := range byMu {
		pos[i] = p
	}
	window := make([]float64, len(tickets))
	for i, t := range tickets {
		window[i] = rules.Window(now.Sub(t.Created))
	}
	used := make([]bool, len(tickets))
	var groups []Group

	// Backfill first: a room already playing is short of players now, a
	// new room only once it fills.
	rooms = slices.Clone(rooms)
	backfill := map[string]int{} // room → its group
	for _, i := range byWait {
		t := tickets[i]
		best, bestTeam, bestDist := -1, 0, math.Inf(1)
		for ri, r := range rooms {
			d := math.Abs(r.Mu - t.Rating.Mu)
			if r.Free < t.Players() || d > window[i] || d >= bestDist {
				continue
			}
			team := 0
			if rules.Teams > 1 {
				if team = roomTeam(r, t.Players()); team == 0 {
					continue
				}
			}
			best, bestTeam, bestDist = ri, team, d
		}
		if best < 0 {
			continue
		}
		used[i] = true
		r := &rooms[best]
		r.Free -= t.Players()
		if bestTeam > 0 {
			r.TeamFree = slices.Clone(r.TeamFree)
			r.TeamFree[bestTeam-1] -= t.Players()
		}
		gi, ok := backfill[r.Name]
		if !ok {
			gi = len(groups)
			backfill[r.Name] = gi
			groups = append(groups, Group{Room: r.Name})
		}
		groups[gi].Tickets = append(groups[gi].Tickets, t)
		if bestTeam > 0 {
			groups[gi].Teams = append(groups[gi].Teams, bestTeam)
		}
	}

	// New rooms: each ticket, the longest-waiting first, gathers the
	// tickets nearest its rating, outward from it in byMu, that it and
	// they accept, until the room is full.
	for _, i := range byWait {
		if used[i] {
			continue
		}
		a := tickets[i]
		members := []int{i}
		players := a.Players()
		lo, hi := pos[i]-1, pos[i]+1
		for players < rules.Size {
			// The nearer of the next candidates below and above.
			for lo >= 0 && used[byMu[lo]] {
				lo--
			}
			for hi < len(byMu) && used[byMu[hi]] {
				hi++
			}
			if lo < 0 && hi >= len(byMu) {
				break
			}
			var j int
			var d float64
			if hi >= len(byMu) || (lo >= 0 && a.Rating.Mu-tickets[byMu[lo]].Rating.Mu <= tickets[byMu[hi]].Rating.Mu-a.Rating.Mu) {
				j, d = byMu[lo], a.Rating.Mu-tickets[byMu[lo]].Rating.Mu
				lo--
			} else {
				j, d = byMu[hi], tickets[byMu[hi]].Rating.Mu-a.Rating.Mu
				hi++
			}
			if d > window[i] {
				break // sorted: every one further out is further still
			}
			if d > window[j] || players+tickets[j].Players() > rules.Size {
				continue
			}
			if rules.Teams > 1 && assignTeams(tickets, append(members, j), rules.Teams, teamSize) == nil {
				continue
			}
			members = append(members, j)
			players += tickets[j].Players()
		}
		bots := 0
		if players < rules.Size {
			if rules.BotsAfter <= 0 || now.Sub(a.Created) < rules.BotsAfter {
				continue
			}
			bots = rules.Size - players
		}
		g := Group{Bots: bots}
		for _, m := range members {
			used[m] = true
			g.Tickets = append(g.Tickets, tickets[m])
		}
		if rules.Teams > 1 {
			g.Teams = assignTeams(tickets, members, rules.Teams, teamSize)
		}
		groups = append(groups, g)
	}
	return groups
}

// roomTeam is the team (1-based) of an open room that has n seats free,
// the emptiest such; 0 if none has.
func roomTeam(r OpenRoom, n int) int {
	best := 0
	for t, free := range r.TeamFree {
		if free >= n && (best == 0 || free > r.TeamFree[best-1]) {
			best = t + 1
		}
	}
	return best
}

// assignTeams splits the tickets members into teams teams of at most
// size players, a party in one team, and returns each member's team
// (1-based), or nil if they do not fit. The largest parties go first,
// each to the team of the lowest rating total that has room, so that
// teams come out near even; the search backtracks when that fails, and
// members are few (a room's worth).
func assignTeams(tickets []Ticket, members []int, teams, size int) []int {
	order := slices.Clone(members)
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(tickets[b].Players(), tickets[a].Players()), cmp.Compare(tickets[b].Rating.Mu, tickets[a].Rating.Mu))
	})
	seats := make([]int, teams)
	sum := make([]float64, teams)
	team := map[int]int{}
	var place func(k int) bool
	place = func(k int) bool {
		if k == len(order) {
			return true
		}
		m := order[k]
		n := tickets[m].Players()
		try := make([]int, teams)
		for t := range try {
			try[t] = t
		}
		slices.SortStableFunc(try, func(a, b int) int { return cmp.Compare(sum[a], sum[b]) })
		for _, t := range try {
			if seats[t]+n > size {
				continue
			}
			seats[t] += n
			sum[t] += tickets[m].Rating.Mu * float64(n)
			team[m] = t + 1
			if place(k + 1) {
				return true
			}
			seats[t] -= n
			sum[t] -= tickets[m].Rating.Mu * float64(n)
		}
		return false
	}
	if !place(0) {
		return nil
	}
	out := make([]int, len(members))
	for k, m := range members {
		out[k] = team[m]
	}
	return out
}

// FirstCome is the matcher Match is measured against: it groups tickets
// in the order they came, whatever their ratings, as a queue without
// ratings does. Open rooms are not used.
func FirstCome(now time.Time, rules Rules, tickets []Ticket, _ []OpenRoom) []Group {
	order := slices.Clone(tickets)
	slices.SortStableFunc(order, func(a, b Ticket) int { return a.Created.Compare(b.Created) })
	var groups []Group
	var g Group
	players := 0
	for _, t := range order {
		if players+t.Players() > rules.Size {
			continue // waits for a room with space for it
		}
		g.Tickets = append(g.Tickets, t)
		if players += t.Players(); players == rules.Size {
			groups = append(groups, g)
			g, players = Group{}, 0
		}
	}
	return groups
}
