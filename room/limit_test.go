package room

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestAddrLimiterLimitsEachAddressAndForgetsIdleOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAddrLimiter(1, 2) // a second per token, two at once
		if !l.allow("a", false) || !l.allow("a", true) || !l.allow("a", true) {
			t.Fatal("the burst was refused")
		}
		if l.allow("a", false) || l.allow("a", true) {
			t.Fatal("past the burst, allowed")
		}
		if !l.allow("b", true) {
			t.Fatal("another address was limited by the first one's use")
		}
		// Long idle, both limiters are full again: the next sweep forgets
		// them, and a forgotten address starts afresh.
		time.Sleep(2 * time.Minute)
		l.allow("c", true)
		l.mu.Lock()
		n := len(l.addrs)
		l.mu.Unlock()
		if n != 1 {
			t.Errorf("%d addresses tracked after the idle ones were swept; want 1", n)
		}
		if !l.allow("a", true) || !l.allow("a", true) {
			t.Error("a forgotten address did not start with a full burst")
		}
	})
}
