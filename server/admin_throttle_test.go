package server

import (
	"strconv"
	"testing"
	"time"
)

// The throttle remembers at most adminMaxAddrs addresses: refilled ones
// are forgotten, and addresses past the bound share one limiter, so a
// flood of addresses costs bounded memory and still meets a limit.
func TestAuthThrottleIsBounded(t *testing.T) {
	a := newAuthThrottle()
	for i := range adminMaxAddrs {
		a.fail("10.0." + strconv.Itoa(i))
	}
	if len(a.addrs) != adminMaxAddrs {
		t.Fatalf("%d addresses remembered; want %d", len(a.addrs), adminMaxAddrs)
	}
	for i := range adminFailureBurst {
		if a.blocked("new") > 0 {
			t.Fatalf("blocked after %d shared failures; want %d allowed", i, adminFailureBurst)
		}
		a.fail("new-" + strconv.Itoa(i))
	}
	if len(a.addrs) > adminMaxAddrs {
		t.Errorf("%d addresses remembered; want at most %d", len(a.addrs), adminMaxAddrs)
	}
	if a.blocked("another") == 0 {
		t.Error("addresses past the bound are not limited")
	}
	for _, e := range a.addrs {
		e.last = time.Now().Add(-time.Hour)
	}
	a.fail("fresh")
	if len(a.addrs) != 1 || a.blocked("10.0.1") > 0 {
		t.Errorf("after a sweep %d addresses remembered; want only the fresh one", len(a.addrs))
	}
}

func TestThrottleKey(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":            "127.0.0.1",
		"2001:db8::1":          "2001:db8::/64",
		"2001:db8::ffff:1:2:3": "2001:db8::/64",
		"not an ip":            "not an ip",
	} {
		if got := throttleKey(in); got != want {
			t.Errorf("throttleKey(%q) = %q; want %q", in, got, want)
		}
	}
}
