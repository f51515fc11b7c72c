package accounts

import (
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/arena-server/arena/internal/addrlimit"
)

// Limit is a token bucket: Burst actions at once, then one every Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// Limits throttles the API. Per address, every request of a kind spends a
// token; per account (the lowercased email, or the account ID for a
// password change), only failed password checks do, so that a player who
// knows their password is not slowed by their own sign-ins, while a guess
// at one account's password is slowed from any number of addresses.
type Limits struct {
	Login, Register, Refresh, Guest, External Limit // per address
	Account                                   Limit // failed password checks per account
}

// The defaults let a household or a school behind one address play
// (a page makes a guest, and refreshes every 15 minutes), and make
// guessing slow: 10 wrong passwords, then one a minute per account.
var defaultLimits = Limits{
	Login:    Limit{Burst: 20, Every: 3 * time.Second},
	Register: Limit{Burst: 10, Every: 30 * time.Second},
	Refresh:  Limit{Burst: 60, Every: time.Second},
	Guest:    Limit{Burst: 30, Every: 5 * time.Second},
	External: Limit{Burst: 60, Every: time.Second},
	Account:  Limit{Burst: 10, Every: time.Minute},
}

func (l Limits) withDefaults() Limits {
	fill := func(l *Limit, d Limit) {
		if l.Burst <= 0 {
			l.Burst = d.Burst
		}
		if l.Every <= 0 {
			l.Every = d.Every
		}
	}
	fill(&l.Login, defaultLimits.Login)
	fill(&l.Register, defaultLimits.Register)
	fill(&l.Refresh, defaultLimits.Refresh)
	fill(&l.Guest, defaultLimits.Guest)
	fill(&l.External, defaultLimits.External)
	fill(&l.Account, defaultLimits.Account)
	return l
}

// maxTracked bounds the addresses (or accounts) each limiter remembers.
const maxTracked = 100_000

type limiters struct {
	login, register, refresh, guest, external, account *addrlimit.Limiter
}

func newLimiters(l Limits) limiters {
	mk := func(l Limit) *addrlimit.Limiter {
		return addrlimit.New(rate.Every(l.Every), l.Burst, maxTracked)
	}
	return limiters{
		login: mk(l.Login), register: mk(l.Register), refresh: mk(l.Refresh),
		guest: mk(l.Guest), external: mk(l.External), account: mk(l.Account),
	}
}

// retryAfter is the Retry-After of a limiter's key, in whole seconds, at
// least one.
func retryAfter(l *addrlimit.Limiter, key string) int {
	return max(1, int(math.Ceil(l.Wait(key).Seconds())))
}
