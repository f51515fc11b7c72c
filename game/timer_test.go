package game

import (
	"testing"
	"time"
)

func TestTimer(t *testing.T) {
	for _, tc := range []struct {
		d     time.Duration
		rate  int
		fires int // on this tick, counting from 1
	}{
		{3 * time.Second, 20, 60},
		{50 * time.Millisecond, 20, 1},
		{51 * time.Millisecond, 20, 2}, // rounds up: never early
		{0, 20, 1},                     // at least one tick
		{-time.Second, 20, 1},
		{time.Second, 1, 1},
		{1500 * time.Millisecond, 60, 90},
	} {
		tm := After(tc.d, tc.rate)
		if got, want := tm.Left(tc.rate), time.Duration(tc.fires)*time.Second/time.Duration(tc.rate); got != want {
			t.Errorf("After(%v, %d).Left = %v; want %v", tc.d, tc.rate, got, want)
		}
		fired := 0
		for tick := 1; tick <= tc.fires+5; tick++ {
			if !tm.Running() && fired == 0 {
				t.Fatalf("After(%v, %d) stopped before firing, at tick %d", tc.d, tc.rate, tick)
			}
			if tm.Tick() {
				if fired != 0 {
					t.Fatalf("After(%v, %d) fired twice", tc.d, tc.rate)
				}
				fired = tick
			}
		}
		if fired != tc.fires || tm.Running() {
			t.Errorf("After(%v, %d) fired on tick %d (running after: %v); want tick %d, then stopped", tc.d, tc.rate, fired, tm.Running(), tc.fires)
		}
	}
	var zero Timer
	if zero.Running() || zero.Tick() {
		t.Error("the zero Timer runs or fires")
	}
	tm := After(time.Second, 20)
	tm.Stop()
	if tm.Running() || tm.Tick() || tm.Left(20) != 0 {
		t.Error("a stopped timer runs, fires or has time left")
	}
}

func TestTimerTicksRoundTrip(t *testing.T) {
	a := After(1500*time.Millisecond, 20)
	a.Tick()
	b := AfterTicks(a.Ticks())
	if a.Ticks() != 29 || b != a {
		t.Fatalf("Ticks %d, restored %+v; want 29 and the same timer", a.Ticks(), b)
	}
	for a.Running() {
		if a.Tick() != b.Tick() {
			t.Fatal("the restored timer fires on another tick")
		}
	}
	if b.Running() || AfterTicks(0).Running() || AfterTicks(-3).Running() {
		t.Error("a timer of no ticks left runs")
	}
}
