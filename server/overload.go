package server

import (
	"context"
	"math"
	rtmetrics "runtime/metrics"
	"sync/atomic"
	"time"
)

// overload tells when the process has no CPU to spare, so that the server
// refuses new players rather than let everyone's game slow down. Past its
// capacity a box used to collapse: at 5,000 players on two cores every
// update arrived late and the slowest players got 5 a second. Its signal
// is the Go scheduler's own: how long goroutines that are ready to run wait
// for a CPU. On a box with room to spare that is microseconds; when rooms
// and readers queue for the CPU it is milliseconds, and a room's 50 ms tick
// starts late. It is cheap to read (one runtime/metrics sample a period),
// and it sees every cause, the game's own work included.
type overload struct {
	limit  time.Duration // the 90th percentile above which the box is full
	period time.Duration

	busy atomic.Bool
	p90  atomic.Int64 // of the last period, in nanoseconds
}

// schedLatencies is the runtime's histogram of how long runnable
// goroutines waited to be scheduled.
const schedLatencies = "/sched/latencies:seconds"

// minSchedEvents is how many schedulings a period needs for its percentile
// to say anything. The runtime times one scheduling in eight, and a CPU
// full of busy goroutines switches seldom: 20 a second were timed with
// sixteen spinning on two cores.
const minSchedEvents = 10

func newOverload(limit, period time.Duration) *overload {
	return &overload{limit: limit, period: period}
}

// run samples until ctx is done.
func (o *overload) run(ctx context.Context) {
	sample := []rtmetrics.Sample{{Name: schedLatencies}}
	rtmetrics.Read(sample)
	prev := append([]uint64(nil), sample[0].Value.Float64Histogram().Counts...)
	t := time.NewTicker(o.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rtmetrics.Read(sample)
		h := sample[0].Value.Float64Histogram()
		p90, n := percentile(h.Buckets, h.Counts, prev, 0.9)
		copy(prev, h.Counts)
		if n < minSchedEvents {
			continue
		}
		o.observe(p90)
	}
}

// observe takes one period's 90th percentile. The box is full above the
// limit and has room again below half of it, so that it does not flap at
// the edge.
func (o *overload) observe(p90 time.Duration) {
	o.p90.Store(int64(p90))
	switch {
	case p90 > o.limit:
		o.busy.Store(true)
	case p90 < o.limit/2:
		o.busy.Store(false)
	}
}

// full reports whether new players should be refused.
func (o *overload) full() bool { return o != nil && o.busy.Load() }

// percentile returns the q-th quantile of the histogram's counts since
// prev (the upper bound of its bucket), and how many events that covers.
func percentile(buckets []float64, counts, prev []uint64, q float64) (time.Duration, uint64) {
	var total uint64
	for i := range counts {
		total += counts[i] - prev[i]
	}
	if total == 0 {
		return 0, 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i := range counts {
		seen += counts[i] - prev[i]
		if seen >= want {
			upper := buckets[i+1]
			if math.IsInf(upper, 1) {
				upper = buckets[i]
			}
			return time.Duration(upper * float64(time.Second)), total
		}
	}
	return time.Duration(buckets[len(buckets)-1] * float64(time.Second)), total
}
