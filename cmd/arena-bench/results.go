package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/progress"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/store"
)

// resultsOpts are the flags of `arena-bench results`.
type resultsOpts struct {
	backends []string
	postgres string
	results  int
	rate     float64
	burst    int
	players  int
	accounts int
	boards   int
	repeats  int
	poll     time.Duration
	timeout  time.Duration
}

// resultsMode is the mode of the benchmark's games: three boards, as
// blasters declares, so that each result feeds boards as well as the
// history and the ratings.
var resultsMode = game.Mode{
	Name: "bench",
	New:  func(game.Config) game.Game { return nil },
	Boards: []game.Board{
		{ID: "bench_kills", Stat: "kills", Operator: "incr", Reset: "weekly"},
		{ID: "bench_wins", Stat: "win", Operator: "incr"},
		{ID: "bench_best", Stat: "score"},
	},
}

// runResults is issue 25's results target: the time from a room's
// room_over (progress.Service.Result, the server's OnResult) to the
// result being written to the history, the ratings and the boards, on
// SQLite on disk and on PostgreSQL, in the same process, the backends
// taking turns; and what Result itself costs the room's goroutine.
func runResults(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arena-bench results", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o resultsOpts
	backends := fs.String("backends", "sqlite,postgres", "stores to measure, in turn: sqlite (a file on disk), postgres")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL of an empty database (default: a throwaway server, as the tests start)")
	fs.IntVar(&o.results, "results", 1500, "results a repeat in the steady stream (at most 100,000; 0: none)")
	fs.Float64Var(&o.rate, "rate", 50, "results a second in the steady stream")
	fs.IntVar(&o.burst, "burst", 1000, "results given at once after the stream (at most 1,024, the writer's queue; 0: none)")
	fs.IntVar(&o.players, "players", 8, "players a result, each with an account")
	fs.IntVar(&o.accounts, "accounts", 2000, "accounts the players are drawn from")
	fs.IntVar(&o.boards, "boards", 3, "boards the mode declares, 0 to 3 (kills incr weekly, wins incr, best score): fewer shows what the boards cost a result")
	fs.IntVar(&o.repeats, "repeats", 2, "repeats, the backends taking turns within each")
	fs.DurationVar(&o.poll, "poll", time.Millisecond, "how often the writer's count is read: the resolution of the times")
	fs.DurationVar(&o.timeout, "timeout", 200*time.Second, "give up after this long")
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
		for _, b := range strings.Split(*backends, ",") {
			if b != store.SQLite && b != store.Postgres {
				return fmt.Errorf("-backends: unknown %q", b)
			}
			o.backends = append(o.backends, b)
		}
		switch {
		case o.results < 0 || o.results > 100_000:
			return fmt.Errorf("-results %d: want 0 to 100,000", o.results)
		case o.results == 0 && o.burst == 0:
			return errors.New("-results 0 -burst 0: nothing to measure")
		case o.rate <= 0 || o.rate > 10_000:
			return fmt.Errorf("-rate %v: want above 0, at most 10,000", o.rate)
		case o.burst < 0 || o.burst > 1024:
			return fmt.Errorf("-burst %d: want 0 to 1,024: more would overflow the writer's queue, and be dropped", o.burst)
		case o.players < 2 || o.players > 100:
			return fmt.Errorf("-players %d: want 2 to 100", o.players)
		case o.accounts < o.players || o.accounts > 1_000_000:
			return fmt.Errorf("-accounts %d: want -players to 1,000,000", o.accounts)
		case o.boards < 0 || o.boards > len(resultsMode.Boards):
			return fmt.Errorf("-boards %d: want 0 to %d", o.boards, len(resultsMode.Boards))
		case o.repeats < 1 || o.repeats > 20:
			return fmt.Errorf("-repeats %d: want 1 to 20", o.repeats)
		case o.poll <= 0:
			return fmt.Errorf("-poll %v: want more than 0", o.poll)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench results:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := benchResults(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "arena-bench results:", err)
		return 1
	}
	return 0
}

// resultsBackend is one store with a progress.Service on it.
type resultsBackend struct {
	name string
	db   *store.DB
	acc  *accounts.Service
	svc  *progress.Service
}

func (b *resultsBackend) close() {
	if b.svc != nil {
		b.svc.Close()
	}
	if b.acc != nil {
		b.acc.Close()
	}
	if b.db != nil {
		b.db.Close()
	}
}

func openResultsBackend(ctx context.Context, name, dbURL string, o resultsOpts) (*resultsBackend, error) {
	b := &resultsBackend{name: name}
	var err error
	if b.db, err = store.Open(ctx, dbURL); err != nil {
		return nil, err
	}
	// The services log every retry and drop; the benchmark counts them
	// from ResultStats instead.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if b.acc, err = accounts.New(ctx, accounts.Config{DB: b.db, Log: quiet}); err != nil {
		b.close()
		return nil, err
	}
	mode := resultsMode
	mode.Boards = mode.Boards[:o.boards]
	if b.svc, err = progress.New(ctx, progress.Config{DB: b.db, Accounts: b.acc, Modes: []game.Mode{mode}, Log: quiet}); err != nil {
		b.close()
		return nil, err
	}
	now := time.Now()
	for i := range o.accounts {
		if err := b.db.CreateAccount(ctx, store.Account{ID: accountID(i), Name: fmt.Sprint("Player ", i), CreatedAt: now}); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

func accountID(i int) string { return fmt.Sprintf("bench-%06d", i) }

// phaseResult is what one phase measured on one backend.
type phaseResult struct {
	written []time.Duration // from Result to written, each result
	calls   []time.Duration // Result's own time, each call
	stats   progress.ResultStats
	took    time.Duration // from the first Result to the last written
}

func benchResults(ctx context.Context, o resultsOpts, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "arena-bench-results-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var bes []*resultsBackend
	defer func() {
		for _, b := range bes {
			b.close()
		}
		if pgServer != nil {
			pgServer.Stop()
			pgServer = nil
		}
	}()
	for _, name := range o.backends {
		dbURL := "sqlite:" + filepath.Join(dir, "arena.db")
		if name == store.Postgres {
			if dbURL, err = postgresURL(ctx, o.postgres, stderr); err != nil {
				return err
			}
		}
		t0 := time.Now()
		b, err := openResultsBackend(ctx, name, dbURL, o)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		bes = append(bes, b)
		fmt.Fprintf(stderr, "arena-bench results: %s ready with %d accounts in %v\n", name, o.accounts, time.Since(t0).Round(time.Millisecond))
	}

	fmt.Fprintf(stdout, "# Results written (issue 25): %d results a repeat at %g/s, then a burst of %d; %d players a result, each with an account (of %d); %d boards; %d repeats\n",
		o.results, o.rate, o.burst, o.players, o.accounts, o.boards, o.repeats)
	fmt.Fprintf(stdout, "Machine: %s; load average at the start %s\n\n", machine(), loadavg())

	type phase struct {
		name string
		n    int
		gap  time.Duration
	}
	var phases []phase
	if o.results > 0 {
		phases = append(phases, phase{fmt.Sprintf("%g/s", o.rate), o.results, time.Duration(float64(time.Second) / o.rate)})
	}
	if o.burst > 0 {
		phases = append(phases, phase{fmt.Sprintf("burst of %d", o.burst), o.burst, 0})
	}
	// got[phase][backend] are the repeats' results.
	got := make([][][]phaseResult, len(phases))
	for p := range phases {
		got[p] = make([][]phaseResult, len(bes))
	}
	rng := rand.New(rand.NewPCG(25, 1))
	for rep := range o.repeats {
		for p, ph := range phases {
			for i, b := range bes {
				if err := ctx.Err(); err != nil {
					return err
				}
				r, err := b.stream(ctx, rng, fmt.Sprintf("r%d-p%d", rep, p), ph.n, ph.gap, o)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", b.name, ph.name, err)
				}
				fmt.Fprintf(stderr, "arena-bench results: repeat %d, %s, %s: p50 %v p99 %v max %v, all in %v; %+v\n", rep+1, ph.name, b.name,
					quantile(r.written, 0.5), quantile(r.written, 0.99), r.written[len(r.written)-1], r.took.Round(time.Millisecond), r.stats)
				got[p][i] = append(got[p][i], r)
			}
		}
	}

	fmt.Fprintf(stdout, "From Result (room_over) to the match, its ratings and its boards' scores committed, ms: medians over the repeats, with their min–max range. Resolution %v.\n\n", o.poll)
	fmt.Fprintln(stdout, "| backend | results | written p50 ms | written p99 ms | written max ms | all written in s | results/s written | written | dropped | retries |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	var calls []time.Duration
	for p, ph := range phases {
		for i, b := range bes {
			var p50, p99, mx, took, rate, written, dropped, retries []float64
			for _, r := range got[p][i] {
				p50 = append(p50, ms(quantile(r.written, 0.5)))
				p99 = append(p99, ms(quantile(r.written, 0.99)))
				mx = append(mx, ms(r.written[len(r.written)-1]))
				took = append(took, r.took.Seconds())
				rate = append(rate, float64(len(r.written))/r.took.Seconds())
				written = append(written, float64(len(r.written)))
				dropped = append(dropped, float64(r.stats.Dropped))
				retries = append(retries, float64(r.stats.Retries))
				calls = append(calls, r.calls...)
			}
			fmt.Fprintf(stdout, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b.name, ph.name,
				spread(p50, "%.2f"), spread(p99, "%.2f"), spread(mx, "%.1f"), spread(took, "%.2f"), spread(rate, "%.0f"),
				spread(written, "%.0f"), spread(dropped, "%.0f"), spread(retries, "%.0f"))
		}
	}
	slices.Sort(calls)
	fmt.Fprintf(stdout, "\nResult's own time, what the room's goroutine spends on a finished game (%d calls, every backend and phase): p50 %.1f µs, p99 %.1f µs, max %.1f µs\n",
		len(calls), us(quantile(calls, 0.5)), us(quantile(calls, 0.99)), us(calls[len(calls)-1]))
	fmt.Fprintf(stdout, "\nLoad average at the end: %s\n", loadavg())
	return nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// stream gives the Service n results, gap apart (0: all at once), and
// times each from its Result to its being written. The writer writes in
// the order given, one at a time, and counts a result Written once its
// match, ratings and boards are committed (and whatever follows the
// match has run), so the k-th increase of the count since the start is
// the k-th result: the count is read every o.poll rather than each match
// looked up, which would itself load the store being measured. (A result
// dropped would shift that mapping: drops are in the table, and none
// should occur below the queue's bound.) The last result is then read
// back with store.Match, to be sure.
func (b *resultsBackend) stream(ctx context.Context, rng *rand.Rand, tag string, n int, gap time.Duration, o resultsOpts) (phaseResult, error) {
	before := b.svc.ResultStats()
	if before.Queued != 0 {
		return phaseResult{}, fmt.Errorf("%d results still queued from before", before.Queued)
	}
	reps := make([]room.Report, n)
	for i := range reps {
		reps[i] = benchReport(rng, fmt.Sprintf("%s-%d", tag, i), o)
	}
	// given[i] is when result i was given, in ns since base (monotonic),
	// set before its Result call: the poller may see it written before
	// that call returns.
	base := time.Now()
	given := make([]atomic.Int64, n)
	at := func(i int) time.Time { return base.Add(time.Duration(given[i].Load())) }
	calls := make([]time.Duration, n)
	done := make(chan struct{})
	go func() {
		// The stream, open loop: each result at its time, late or not.
		defer close(done)
		start := time.Now()
		for i := range reps {
			if gap > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
			}
			reps[i].Ended = time.Now()
			t0 := time.Now()
			given[i].Store(int64(t0.Sub(base)))
			b.svc.Result(reps[i])
			calls[i] = time.Since(t0)
		}
	}()
	var r phaseResult
	r.calls = calls
	r.written = make([]time.Duration, 0, n)
	var doneAt time.Time
	tick := time.NewTicker(o.poll)
	defer tick.Stop()
	streaming := true
	for {
		st := b.svc.ResultStats()
		now := time.Now()
		k := int(st.Written - before.Written)
		if streaming {
			select {
			case <-done:
				streaming = false
			default:
			}
		}
		for len(r.written) < k {
			r.written = append(r.written, now.Sub(at(len(r.written))))
			doneAt = now
		}
		lost := st.Dropped - before.Dropped + st.Duplicates - before.Duplicates
		if !streaming && len(r.written)+int(lost) >= n {
			r.stats = st
			r.stats.Written -= before.Written
			r.stats.Dropped -= before.Dropped
			r.stats.Duplicates -= before.Duplicates
			r.stats.Retries -= before.Retries
			break
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("%d of %d written: %w", len(r.written), n, ctx.Err())
		case <-tick.C:
		}
	}
	if len(r.written) == 0 {
		return r, fmt.Errorf("none of %d written: %+v", n, r.stats)
	}
	r.took = doneAt.Sub(at(0))
	if _, err := b.db.Match(ctx, reps[len(r.written)-1].Key()); err != nil {
		return r, fmt.Errorf("the last result counted written is not in the history: %w", err)
	}
	slices.Sort(r.written)
	slices.Sort(r.calls)
	return r, nil
}

// benchReport is a finished game of o.players players, each with a
// different account, best first, with the stats the boards take.
func benchReport(rng *rand.Rand, id string, o resultsOpts) room.Report {
	rep := room.Report{Room: "bench", Mode: resultsMode.Name, RoomID: id, Game: 1,
		Result: game.Result{Summary: "over", Game: 1}, Started: time.Now().Add(-3 * time.Minute)}
	seen := map[int]bool{}
	for p := range o.players {
		a := rng.IntN(o.accounts)
		for seen[a] {
			a = rng.IntN(o.accounts)
		}
		seen[a] = true
		win := int64(0)
		if p == 0 {
			win = 1
		}
		id := game.PlayerID(p + 1)
		rep.Result.Standings = append(rep.Result.Standings, game.Standing{Player: id, Score: int64(100 * (o.players - p)),
			Stats: map[string]int64{"kills": int64(rng.IntN(30)), "win": win}})
		rep.Players = append(rep.Players, room.ReportPlayer{ID: id, Name: fmt.Sprint("Player ", a), Account: accountID(a)})
	}
	return rep
}
