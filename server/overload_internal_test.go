package server

import (
	"math"
	"testing"
	"time"
)

func TestPercentileOfAPeriod(t *testing.T) {
	buckets := []float64{math.Inf(-1), 0.001, 0.010, 0.100, math.Inf(1)}
	prev := []uint64{0, 50, 10, 0}
	counts := []uint64{0, 150, 30, 5} // this period: 100 under 10 ms, 20 under 100 ms, 5 above
	p90, n := percentile(buckets, counts, prev, 0.9)
	if n != 125 || p90 != 100*time.Millisecond {
		t.Errorf("p90 %v of %d; want 100ms of 125", p90, n)
	}
	if p50, _ := percentile(buckets, counts, prev, 0.5); p50 != 10*time.Millisecond {
		t.Errorf("p50 %v; want 10ms", p50)
	}
	if p, n := percentile(buckets, prev, prev, 0.9); p != 0 || n != 0 {
		t.Errorf("an empty period: %v of %d", p, n)
	}
	// The last bucket has no upper bound: its lower one stands in.
	if p, _ := percentile(buckets, []uint64{0, 50, 10, 100}, prev, 0.9); p != 100*time.Millisecond {
		t.Errorf("p90 in the open bucket: %v", p)
	}
}

func TestOverloadHysteresis(t *testing.T) {
	o := newOverload(20*time.Millisecond, time.Second)
	for _, step := range []struct {
		p90  time.Duration
		full bool
	}{
		{time.Millisecond, false},
		{30 * time.Millisecond, true},
		{15 * time.Millisecond, true}, // under the limit, not yet under half of it
		{9 * time.Millisecond, false},
		{15 * time.Millisecond, false},
	} {
		o.observe(step.p90)
		if o.full() != step.full {
			t.Fatalf("after a period at %v: full %v; want %v", step.p90, o.full(), step.full)
		}
	}
	var none *overload
	if none.full() {
		t.Error("no guard: full")
	}
}
