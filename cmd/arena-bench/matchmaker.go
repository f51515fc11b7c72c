package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arena-server/arena/matchmaker"
)

// matchmakerOpts are the flags of `arena-bench matchmaker`.
type matchmakerOpts struct {
	players int
	rates   []float64
	size    int
	seeds   int
	every   time.Duration
	timeout time.Duration
}

// runMatchmaker is issue 25's matchmaker target: players queued over
// time with ratings spread as a real game's (matchmaker.Simulate), matched
// by rating (matchmaker.Match) and first come first served
// (matchmaker.FirstCome) on the very same arrivals, seed by seed, so that
// the two differ by the matcher only. Time is simulated, so the figures
// do not depend on the machine's load; only the matcher's own time a
// round (reported beside them) does.
func runMatchmaker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arena-bench matchmaker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o matchmakerOpts
	fs.IntVar(&o.players, "players", 10_000, "players queued, one ticket each (at most 1,000,000)")
	rates := fs.String("rates", "20,2", "comma-separated arrival rates, players a second (Poisson); each is one table row pair")
	fs.IntVar(&o.size, "size", 4, "players a room seats (matchmaker.DefaultRules)")
	fs.IntVar(&o.seeds, "seeds", 5, "seeds, each a different queue of arrivals and ratings (at most 100)")
	fs.DurationVar(&o.every, "every", 250*time.Millisecond, "the matcher's interval, as a Runner's")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Minute, "give up after this long (between runs)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	err := func() error {
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected arguments %q", fs.Args())
		}
		// Bounded: the largest run allowed takes well under a minute.
		if o.players < o.size || o.players > 1_000_000 {
			return fmt.Errorf("-players %d: want %d to 1,000,000", o.players, o.size)
		}
		if o.size < 2 || o.size > 100 {
			return fmt.Errorf("-size %d: want 2 to 100", o.size)
		}
		if o.seeds < 1 || o.seeds > 100 {
			return fmt.Errorf("-seeds %d: want 1 to 100", o.seeds)
		}
		if o.every <= 0 {
			return fmt.Errorf("-every %v: want more than 0", o.every)
		}
		for _, s := range strings.Split(*rates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || r < 0.01 || r > 10_000 {
				return fmt.Errorf("-rates: %q is not a rate from 0.01 to 10,000 a second", s)
			}
			o.rates = append(o.rates, r)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench matchmaker:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := benchMatchmaker(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "arena-bench matchmaker:", err)
		return 1
	}
	return 0
}

// simRun is one matcher's run on one seed's arrivals.
type simRun struct {
	res    matchmaker.SimResult
	rounds []time.Duration // the matcher's wall time, each interval
	pool   int             // the most tickets waiting at once
}

func benchMatchmaker(ctx context.Context, o matchmakerOpts, stdout, stderr io.Writer) error {
	rules := matchmaker.DefaultRules(o.size)
	fmt.Fprintf(stdout, "# The matchmaker (issue 25): %d players a seed, rooms of %d, %d seeds, matched every %v\n",
		o.players, o.size, o.seeds, o.every)
	fmt.Fprintf(stdout, "Rules: window %.0f points + %.0f a second of wait, at most %.0f. Ratings: mu from a normal of mean 25, deviation 8, clipped to [0, 50].\n",
		rules.WindowBase, rules.WindowRate, rules.WindowMax)
	fmt.Fprintf(stdout, "Machine: %s; load average at the start %s\n\n", machine(), loadavg())
	fmt.Fprintln(stdout, "Medians over the seeds, with their min–max range. Wait: from arrival to the room; spread: the room's highest mu less its lowest.")
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "| arrivals/s | matcher | placed | left | wait p50 s | wait p95 s | spread p50 | spread p95 | pool at most | matcher ms a round, p99 |")
	fmt.Fprintln(stdout, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	matchers := []struct {
		name string
		f    matchmaker.Matcher
	}{{"rating", matchmaker.Match}, {"first-come", matchmaker.FirstCome}}
	type ratios struct{ wait50, wait95, spread50 []float64 }
	for _, rate := range o.rates {
		runs := make([][]simRun, len(matchers))
		var rt ratios
		for seed := 1; seed <= o.seeds; seed++ {
			// Both matchers on one seed's arrivals, one after the other.
			var pair [2]matchmaker.SimResult
			for i, m := range matchers {
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("stopped at %v/s, seed %d: %w", rate, seed, err)
				}
				var r simRun
				timed := func(now time.Time, rules matchmaker.Rules, ts []matchmaker.Ticket, rooms []matchmaker.OpenRoom) []matchmaker.Group {
					r.pool = max(r.pool, len(ts))
					t0 := time.Now()
					g := m.f(now, rules, ts, rooms)
					r.rounds = append(r.rounds, time.Since(t0))
					return g
				}
				t0 := time.Now()
				r.res = matchmaker.Simulate(matchmaker.SimConfig{Players: o.players, Rate: rate, Rules: rules, Every: o.every, Seed: uint64(seed)}, timed)
				fmt.Fprintf(stderr, "arena-bench matchmaker: %v/s seed %d %s: %v (%v)\n", rate, seed, m.name, r.res, time.Since(t0).Round(time.Millisecond))
				runs[i] = append(runs[i], r)
				pair[i] = r.res
			}
			rt.wait50 = append(rt.wait50, ratio(pair[0].MedianWait.Seconds(), pair[1].MedianWait.Seconds()))
			rt.wait95 = append(rt.wait95, ratio(pair[0].P95Wait.Seconds(), pair[1].P95Wait.Seconds()))
			rt.spread50 = append(rt.spread50, ratio(pair[0].MedianSpread, pair[1].MedianSpread))
		}
		for i, m := range matchers {
			var placed, left, w50, w95, s50, s95, pool, p99 []float64
			for _, r := range runs[i] {
				placed = append(placed, float64(r.res.Matched))
				left = append(left, float64(r.res.Unmatched))
				w50 = append(w50, r.res.MedianWait.Seconds())
				w95 = append(w95, r.res.P95Wait.Seconds())
				s50 = append(s50, r.res.MedianSpread)
				s95 = append(s95, r.res.P95Spread)
				pool = append(pool, float64(r.pool))
				slices.Sort(r.rounds)
				p99 = append(p99, ms(quantile(r.rounds, 0.99)))
			}
			fmt.Fprintf(stdout, "| %g | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", rate, m.name,
				spread(placed, "%.0f"), spread(left, "%.0f"), spread(w50, "%.2f"), spread(w95, "%.2f"),
				spread(s50, "%.1f"), spread(s95, "%.1f"), spread(pool, "%.0f"), spread(p99, "%.3f"))
		}
		fmt.Fprintf(stdout, "| %g | rating/first-come | | | %s | %s | %s | | | |\n", rate,
			spread(rt.wait50, "%.2f×"), spread(rt.wait95, "%.2f×"), spread(rt.spread50, "%.2f×"))
	}
	fmt.Fprintf(stdout, "\nLoad average at the end: %s\n", loadavg())
	return nil
}

// ratio is a/b, or 0 where b is 0 (no wait at all).
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
