package addrlimit

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

func TestLimitsEachAddressAndForgetsIdleOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(1, 2, 100) // a second per token, two at once
		if l.Wait("a") != 0 || !l.Allow("a") || !l.Allow("a") {
			t.Fatal("the burst was refused")
		}
		if l.Wait("a") == 0 || l.Allow("a") {
			t.Fatal("past the burst, allowed")
		}
		if !l.Allow("b") {
			t.Fatal("another address was limited by the first one's use")
		}
		// Long idle, both buckets are full again: the next sweep forgets
		// them, and a forgotten address starts afresh.
		time.Sleep(2 * time.Minute)
		l.Allow("c")
		if n := l.Len(); n != 1 {
			t.Errorf("%d addresses tracked after the idle ones were swept; want 1", n)
		}
		if !l.Allow("a") || !l.Allow("a") {
			t.Error("a forgotten address did not start with a full burst")
		}
	})
}

func TestIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxAddrs, burst = 1000, 5
		l := New(1, burst, maxAddrs)
		for i := range maxAddrs {
			l.Allow("10.0." + strconv.Itoa(i))
		}
		if l.Len() != maxAddrs {
			t.Fatalf("%d addresses remembered; want %d", l.Len(), maxAddrs)
		}
		// Past the bound, new addresses share one bucket.
		for i := range burst {
			if l.Wait("new") > 0 {
				t.Fatalf("blocked after %d shared actions; want %d allowed", i, burst)
			}
			l.Allow("new-" + strconv.Itoa(i))
		}
		if l.Len() > maxAddrs {
			t.Errorf("%d addresses remembered; want at most %d", l.Len(), maxAddrs)
		}
		if l.Wait("another") == 0 {
			t.Error("addresses past the bound are not limited")
		}
		// Once the remembered ones have refilled, they are forgotten.
		time.Sleep(time.Hour)
		l.Allow("fresh")
		if l.Len() != 1 || l.Wait("10.0.1") > 0 {
			t.Errorf("after a sweep %d addresses remembered; want only the fresh one", l.Len())
		}
	})
}
