// Package addrlimit keeps a rate limiter per client address, for limits
// such as room creations or failed logins that must hold per address
// without letting the addresses themselves grow memory without bound.
package addrlimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds a token bucket per address. It remembers at most a fixed
// number of addresses; new addresses past that share one bucket, and
// addresses whose bucket has refilled are forgotten, since a fresh bucket
// is no different. A nil *Limiter allows everything.
type Limiter struct {
	limit    rate.Limit
	burst    int
	maxAddrs int

	mu        sync.Mutex
	addrs     map[string]*rate.Limiter
	overflow  *rate.Limiter // shared by addresses past maxAddrs
	lastSweep time.Time
}

// New returns a limiter that allows each address burst actions at once and
// limit a second in the long run, and remembers at most maxAddrs addresses.
func New(limit rate.Limit, burst, maxAddrs int) *Limiter {
	return &Limiter{
		limit:    limit,
		burst:    burst,
		maxAddrs: maxAddrs,
		addrs:    make(map[string]*rate.Limiter),
		overflow: rate.NewLimiter(limit, burst),
	}
}

// Allow spends one of addr's tokens and reports whether it had one.
func (l *Limiter) Allow(addr string) bool {
	if l == nil {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bucket(addr, now).AllowN(now, 1)
}

// Wait reports how long addr must wait for a token, without spending one:
// zero if it may act now.
func (l *Limiter) Wait(addr string) time.Duration {
	if l == nil {
		return 0
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.bucket(addr, now).TokensAt(now)
	if t >= 1 {
		return 0
	}
	return time.Duration((1 - t) / float64(l.limit) * float64(time.Second))
}

// Len is how many addresses are remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}

// bucket returns addr's bucket, making one if there is room. The caller
// holds l.mu.
func (l *Limiter) bucket(addr string, now time.Time) *rate.Limiter {
	if b, ok := l.addrs[addr]; ok {
		return b
	}
	l.sweep(now)
	if len(l.addrs) >= l.maxAddrs {
		return l.overflow
	}
	b := rate.NewLimiter(l.limit, l.burst)
	l.addrs[addr] = b
	return b
}

// sweep forgets addresses whose bucket is full again, at most once a
// minute unless the map is full. The caller holds l.mu.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Minute && len(l.addrs) < l.maxAddrs {
		return
	}
	l.lastSweep = now
	for addr, b := range l.addrs {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.addrs, addr)
		}
	}
}
