// Package rating computes Weng-Lin Bayesian skill ratings: the Plackett-Luce
// model of Weng & Lin (2011), "A Bayesian Approximation Method for Online
// Ranking", JMLR 12:267-300, Algorithm 4, the model openskill uses by default.
//
// It is written here because no Go implementation of it is kept up to date.
// The update and its constants follow openskill.py (vivekjoshy/openskill.py,
// openskill/models/weng_lin/plackett_luce.py) and openskill.js
// (philihp/openskill.js, src/models/plackett-luce.ts and src/rate.ts), whose
// test suites assert parity with each other; rating_test.go checks this
// package against the expected numbers of both.
//
// The package is math only: no I/O, no state, safe for concurrent use.
package rating

import (
	"errors"
	"fmt"
	"math"
)

// The constants of openskill's defaults. A player starts at mu 25 with
// sigma 25/3, so that Ordinal (mu - 3 sigma) starts at 0; beta, the spread of
// one game's performance around skill, is half the starting sigma; kappa is
// the smallest factor one game may multiply a variance by, so that it stays
// positive (Weng & Lin's kappa, which openskill sets to 0.0001).
const (
	DefaultMu    = 25.0
	DefaultSigma = DefaultMu / 3
	DefaultBeta  = DefaultSigma / 2
	DefaultKappa = 0.0001

	// ReferenceTau is openskill's default tau (25/300): before each game,
	// sqrt(sigma^2 + tau^2) replaces sigma, so that a player's rating can keep
	// moving after many games. The package-level Rate uses tau 0 (sigma only
	// ever shrinks); a Model with Tau: ReferenceTau rates exactly as
	// openskill's rate() does with its defaults.
	ReferenceTau = DefaultMu / 300

	// MaxValue bounds |Mu| and Sigma: beyond it the squares and sums the
	// update takes could overflow a float64. Real ratings are well inside.
	MaxValue = 1e100
)

// Rating is a belief about a player's skill: a normal distribution with mean
// Mu and standard deviation Sigma.
type Rating struct{ Mu, Sigma float64 }

// Default is a new player's rating: mu 25, sigma 25/3.
func Default() Rating { return Rating{Mu: DefaultMu, Sigma: DefaultSigma} }

// Ordinal is mu - 3 sigma, what boards and the page show: a cautious skill
// (the true one is below it with probability about 0.13%). It starts at 0 and rises as the rating grows
// more certain, so a new player is not ranked above proven ones.
func (r Rating) Ordinal() float64 { return r.Mu - 3*r.Sigma }

// ErrInput is wrapped by the errors Model.Rate and Model.PredictWin return
// for input they cannot rate.
var ErrInput = errors.New("rating: invalid input")

// Model holds the constants of the Plackett-Luce update. The zero Model is
// not usable; start from DefaultModel.
type Model struct {
	// Beta is the standard deviation of one game's performance around skill.
	Beta float64
	// Kappa is the smallest factor a variance is multiplied by in one game.
	Kappa float64
	// Tau, when positive, is added in quadrature to every sigma before the
	// game (sqrt(sigma^2 + tau^2)), so ratings never freeze.
	Tau float64
	// LimitSigma keeps a sigma from ending a game above where it started,
	// which a Tau can otherwise cause (openskill's limit_sigma).
	LimitSigma bool
}

// DefaultModel is openskill's Plackett-Luce model with tau 0: beta 25/6,
// kappa 0.0001. Set Tau to ReferenceTau for openskill's own default.
func DefaultModel() Model {
	return Model{Beta: DefaultBeta, Kappa: DefaultKappa}
}

// Rate returns new ratings for teams (a free-for-all player is a team of
// one) given their ranks: lower is better, equal ranks are a tie, and nil
// ranks mean the teams are given in finishing order. It uses DefaultModel.
//
// Input that cannot be rated (fewer than two teams, an empty team, ranks of
// another length than teams, a Mu or Sigma not finite, Sigma <= 0, or either
// beyond MaxValue) is returned unchanged, as a copy: one bad result must not
// stop a server from recording the others. Use Model.Rate to get the reason.
// The result never shares memory with teams.
func Rate(teams [][]Rating, ranks []int) [][]Rating {
	out, err := DefaultModel().Rate(teams, ranks)
	if err != nil {
		return clone(teams)
	}
	return out
}

// PredictWin returns each team's probability of finishing first, summing to
// 1, with DefaultModel. It returns nil for input Rate would refuse.
func PredictWin(teams [][]Rating) []float64 {
	p, err := DefaultModel().PredictWin(teams)
	if err != nil {
		return nil
	}
	return p
}

// team is one team's sums and place in the game: Weng & Lin model a team's
// performance as the sum of its players', so its mu and variance are sums.
type team struct {
	mu, sigmaSq float64
	rank        int
}

// Rate is the Plackett-Luce update of Weng & Lin (2011), Algorithm 4, as
// openskill computes it (gamma = sigma_i / c, its default). See the package
// Rate for the meaning of teams and ranks; invalid input is an error
// wrapping ErrInput.
func (m Model) Rate(teams [][]Rating, ranks []int) ([][]Rating, error) {
	if err := m.check(teams); err != nil {
		return nil, err
	}
	if ranks != nil && len(ranks) != len(teams) {
		return nil, fmt.Errorf("%w: %d ranks for %d teams", ErrInput, len(ranks), len(teams))
	}

	// Tau first, as openskill does: every later step sees the widened sigma.
	in := clone(teams)
	if m.Tau > 0 {
		for _, t := range in {
			for j := range t {
				t[j].Sigma = math.Hypot(t[j].Sigma, m.Tau)
			}
		}
	}

	k := len(in)
	ts := make([]team, k)
	for i, t := range in {
		for _, p := range t {
			ts[i].mu += p.Mu
			ts[i].sigmaSq += p.Sigma * p.Sigma
		}
		ts[i].rank = i
		if ranks != nil {
			ts[i].rank = ranks[i]
		}
	}

	// c^2 = sum over teams of (sigma_q^2 + beta^2): the Plackett-Luce model
	// has one c for the whole game (Weng & Lin, Algorithm 4).
	var cc float64
	for _, t := range ts {
		cc += t.sigmaSq + m.Beta*m.Beta
	}
	c := math.Sqrt(cc)

	// The Plackett-Luce terms need exp(mu_i/c) / sum of exp(mu_s/c) over the
	// teams s that did not finish above q (C_q). openskill exponentiates
	// directly, which overflows for a large mu; here each sum is kept as its
	// logarithm, so every quotient is exp(x_i - logSum_q) <= 1: the same
	// number, to rounding, for any finite input.
	x := make([]float64, k)
	for i, t := range ts {
		x[i] = t.mu / c
	}
	logSum := make([]float64, k) // log of sum over C_q of exp(x_s)
	ties := make([]float64, k)   // A_q: how many teams share q's rank
	for q := range ts {
		hi := math.Inf(-1)
		for s := range ts {
			if ts[s].rank >= ts[q].rank {
				hi = math.Max(hi, x[s])
			}
			if ts[s].rank == ts[q].rank {
				ties[q]++
			}
		}
		var sum float64
		for s := range ts {
			if ts[s].rank >= ts[q].rank {
				sum += math.Exp(x[s] - hi)
			}
		}
		logSum[q] = hi + math.Log(sum)
	}

	out := in
	for i, ti := range ts {
		// Weng & Lin, Algorithm 4, step 3: omega and delta sum over the teams
		// q that finished at or above i; a tie shares each term among the A_q
		// teams of that rank.
		var omega, delta float64
		for q, tq := range ts {
			if tq.rank > ti.rank {
				continue
			}
			quot := math.Exp(x[i] - logSum[q])
			if q == i {
				omega += (1 - quot) / ties[q]
			} else {
				omega -= quot / ties[q]
			}
			delta += quot * (1 - quot) / ties[q]
		}
		// openskill scales these by sigma_i^2/c and sigma_i^2/c^2 * gamma,
		// gamma = sigma_i/c, and then each player's share by
		// sigma_j^2/sigma_i^2. The sigma_i^2 cancels; it is left out so that
		// a team whose variance underflows to 0 gives no 0/0.
		gamma := math.Sqrt(ti.sigmaSq) / c
		for j := range out[i] {
			p := &out[i][j]
			share := p.Sigma * p.Sigma / c // sigma_j^2 / c
			p.Mu += share * omega
			f := 1 - (share/c)*delta*gamma
			p.Sigma *= math.Sqrt(math.Max(f, m.Kappa))
		}
	}

	if m.LimitSigma {
		for i, t := range out {
			for j := range t {
				t[j].Sigma = math.Min(t[j].Sigma, teams[i][j].Sigma)
			}
		}
	}
	return out, nil
}

// PredictWin returns each team's probability of finishing first, summing to
// 1: the mean, over the other teams, of its probability of beating each,
// Phi((mu_a - mu_b) / sqrt(2 beta^2 + sigma_a^2 + sigma_b^2)), normalised.
// This is openskill.py's predict_win; openskill.js puts n beta^2 for 2 beta^2
// when there are more than two teams, and agrees with it for two.
func (m Model) PredictWin(teams [][]Rating) ([]float64, error) {
	if err := m.check(teams); err != nil {
		return nil, err
	}
	n := len(teams)
	mu := make([]float64, n)
	ss := make([]float64, n)
	for i, t := range teams {
		for _, p := range t {
			mu[i] += p.Mu
			ss[i] += p.Sigma * p.Sigma
		}
	}
	win := make([]float64, n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			p := phi((mu[i] - mu[j]) / math.Sqrt(2*m.Beta*m.Beta+ss[i]+ss[j]))
			win[i] += p
			win[j] += 1 - p
		}
	}
	// Each pair gives out 1 between its two teams: the total is n(n-1)/2.
	pairs := float64(n*(n-1)) / 2
	for i := range win {
		win[i] /= pairs
	}
	return win, nil
}

// phi is the standard normal cumulative distribution.
func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// check refuses what the update cannot rate: the model's own constants, and
// teams as Rate documents.
func (m Model) check(teams [][]Rating) error {
	if !(m.Beta > 0) || m.Beta > MaxValue || !(m.Kappa > 0) || m.Kappa > 1 ||
		!(m.Tau >= 0) || m.Tau > MaxValue {
		return fmt.Errorf("%w: model beta %v, kappa %v, tau %v", ErrInput, m.Beta, m.Kappa, m.Tau)
	}
	if len(teams) < 2 {
		return fmt.Errorf("%w: %d teams, need 2 or more", ErrInput, len(teams))
	}
	for i, t := range teams {
		if len(t) == 0 {
			return fmt.Errorf("%w: team %d is empty", ErrInput, i)
		}
		for j, p := range t {
			if !(math.Abs(p.Mu) <= MaxValue) || !(p.Sigma > 0) || !(p.Sigma <= MaxValue) {
				return fmt.Errorf("%w: team %d player %d has mu %v sigma %v", ErrInput, i, j, p.Mu, p.Sigma)
			}
		}
	}
	return nil
}

func clone(teams [][]Rating) [][]Rating {
	if teams == nil {
		return nil
	}
	out := make([][]Rating, len(teams))
	for i, t := range teams {
		if t != nil {
			out[i] = append(make([]Rating, 0, len(t)), t...)
		}
	}
	return out
}
