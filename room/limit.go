package room

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedAddrs bounds the addresses whose room creations are tracked at
// once. Past it, a new address may not create rooms until idle ones are
// forgotten: the map cannot grow without bound.
const maxTrackedAddrs = 1 << 16

// addrLimiter holds a rate limiter per address and forgets addresses idle
// long enough for their limiter to be full again, which is no different
// from a fresh one.
type addrLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	addrs     map[string]*rate.Limiter
	lastSweep time.Time
}

func newAddrLimiter(limit rate.Limit, burst int) *addrLimiter {
	return &addrLimiter{limit: limit, burst: burst, addrs: make(map[string]*rate.Limiter)}
}

// allow reports whether addr may act now; take false only looks, keeping
// the token.
func (l *addrLimiter) allow(addr string, take bool) bool {
	if l == nil || addr == "" {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	lim, ok := l.addrs[addr]
	if !ok {
		if len(l.addrs) >= maxTrackedAddrs {
			return false
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.addrs[addr] = lim
	}
	if !take {
		return lim.TokensAt(now) >= 1
	}
	return lim.AllowN(now, 1)
}

// sweep forgets idle addresses, at most once a minute or when the map is
// full. The caller holds l.mu.
func (l *addrLimiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute && len(l.addrs) < maxTrackedAddrs {
		return
	}
	l.lastSweep = now
	for addr, lim := range l.addrs {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.addrs, addr)
		}
	}
}
