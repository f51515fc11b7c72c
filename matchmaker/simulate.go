package matchmaker

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Matcher is a matching function: Match, or FirstCome to compare with.
type Matcher func(now time.Time, rules Rules, tickets []Ticket, rooms []OpenRoom) []Group

// SimConfig is a simulated queue.
type SimConfig struct {
	Players int           // how many players queue, one ticket each
	Rate    float64       // players arriving a second, on average (Poisson)
	Rules   Rules         // the mode's
	Every   time.Duration // the matcher's interval; default 250 ms
	// Ratings are drawn from a normal of mean Mu and deviation Sigma,
	// clipped to [0, 2 Mu]: a real game's spread of skill. Defaults 25
	// and 8.
	Mu, Sigma float64
	Seed      uint64
}

// SimResult is what a simulated queue measured.
type SimResult struct {
	Matched, Unmatched int           // players placed, and left in the pool at the end
	Rooms              int           // rooms formed
	MedianWait         time.Duration // of the players matched
	P95Wait            time.Duration
	MedianSpread       float64 // the median of the rooms' rating spreads (highest mu less lowest)
	P95Spread          float64
}

func (r SimResult) String() string {
	return fmt.Sprintf("%d players in %d rooms (%d left): wait median %v p95 %v; rating spread in a room median %.1f p95 %.1f",
		r.Matched, r.Rooms, r.Unmatched, r.MedianWait.Round(time.Millisecond), r.P95Wait.Round(time.Millisecond), r.MedianSpread, r.P95Spread)
}

// Simulate queues cfg.Players players arriving at random (a Poisson
// process of cfg.Rate a second), with ratings spread as a real game's,
// runs match every cfg.Every on the pool as a Runner would, and measures
// the waits and the rating spread of the rooms. The same seed gives the
// same arrivals whatever the matcher, so that two are compared on one
// queue. Time is simulated: it runs in milliseconds.
func Simulate(cfg SimConfig, match Matcher) SimResult {
	if cfg.Every <= 0 {
		cfg.Every = 250 * time.Millisecond
	}
	if cfg.Mu == 0 {
		cfg.Mu, cfg.Sigma = 25, 8
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	start := time.Unix(0, 0)
	arrivals := make([]Ticket, cfg.Players)
	at := start
	for i := range arrivals {
		at = at.Add(time.Duration(rng.ExpFloat64() / cfg.Rate * float64(time.Second)))
		mu := min(max(rng.NormFloat64()*cfg.Sigma+cfg.Mu, 0), 2*cfg.Mu)
		arrivals[i] = Ticket{ID: fmt.Sprint(i), Account: fmt.Sprint(i), Rating: Rating{Mu: mu, Sigma: 25.0 / 3}, Created: at}
	}
	var (
		pool    []Ticket
		waits   []time.Duration
		spreads []float64
		res     SimResult
	)
	next := 0
	// After the last arrival the pool drains as windows widen; whatever
	// is left after a further WindowMax's worth of waiting can never fill
	// a room (fewer than Size).
	drain := time.Duration((cfg.Rules.WindowMax-cfg.Rules.WindowBase)/math.Max(cfg.Rules.WindowRate, 1e-9)*float64(time.Second)) + 10*time.Second
	for now := start; next < len(arrivals) || (len(pool) > 0 && now.Sub(arrivals[len(arrivals)-1].Created) < drain); now = now.Add(cfg.Every) {
		for next < len(arrivals) && !arrivals[next].Created.After(now) {
			pool = append(pool, arrivals[next])
			next++
		}
		groups := match(now, cfg.Rules, pool, nil)
		taken := map[string]bool{}
		for _, g := range groups {
			res.Rooms++
			spreads = append(spreads, g.Spread())
			for _, t := range g.Tickets {
				if taken[t.ID] {
					panic("matchmaker: a ticket matched twice") // the matcher's one promise
				}
				taken[t.ID] = true
				waits = append(waits, now.Sub(t.Created))
				res.Matched += t.Players()
			}
		}
		pool = slices.DeleteFunc(pool, func(t Ticket) bool { return taken[t.ID] })
	}
	res.Unmatched = len(pool)
	slices.Sort(waits)
	slices.Sort(spreads)
	res.MedianWait, res.P95Wait = quantile(waits, 0.5), quantile(waits, 0.95)
	res.MedianSpread, res.P95Spread = quantile(spreads, 0.5), quantile(spreads, 0.95)
	return res
}

// quantile is the q-quantile of sorted values (nearest rank).
func quantile[T any](sorted []T, q float64) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	return sorted[min(len(sorted)-1, int(math.Ceil(q*float64(len(sorted))))-1)]
}
