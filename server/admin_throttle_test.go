package server

import "testing"

// How the throttle bounds its memory is tested with internal/addrlimit.

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
