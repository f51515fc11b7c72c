package rating

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// The reference cases below are the inputs and expected outputs of the
// openskill test suites, copied as numbers only:
//
//   - js-model: philihp/openskill.js src/models/__tests__/plackett-luce.test.ts
//     (commit 0bf4361), the Plackett-Luce model called directly: tau 0.
//   - js-rate: philihp/openskill.js src/__tests__/rate.test.ts (commit 0bf4361),
//     through rate(): tau 25/300 (ReferenceTau) unless the case sets one.
//   - py-fixture: vivekjoshy/openskill.py tests/models/weng_lin/test_plackett_luce.py
//     test_rate with its fixture tests/models/data/plackettluce.json (commit
//     65a675d, v6.2.0): a model with mu 20.35125162611535, sigma
//     8.33148112355601 and openskill.py's default tau 25/300.

// refTol is the agreement asserted with the references, which print 16
// significant digits. The update here is openskill's, reordered only where
// it avoids overflow and 0/0 (see Model.Rate), so it agrees to rounding.
const refTol = 1e-10

type refCase struct {
	name  string
	model Model
	teams [][]Rating
	ranks []int
	want  [][]Rating
}

func withTau(tau float64, limit bool) Model {
	m := DefaultModel()
	m.Tau = tau
	m.LimitSigma = limit
	return m
}

func refCases() []refCase {
	d := Default()
	tau0 := DefaultModel()
	ref := withTau(ReferenceTau, false)

	// js-rate's named ratings.
	a1 := Rating{29.182, 4.782}
	b1 := Rating{27.174, 4.922}
	c1 := Rating{16.672, 6.217}
	d1, e1, f1 := d, d, d
	w1 := Rating{15, 25.0 / 3}
	x1 := Rating{20, 25.0 / 3}
	y1 := Rating{25, 25.0 / 3}
	z1 := Rating{30, 25.0 / 3}

	// py-fixture's model rating.
	pr := Rating{20.35125162611535, 8.33148112355601}
	team := func(r Rating, n int) []Rating {
		t := make([]Rating, n)
		for i := range t {
			t[i] = r
		}
		return t
	}

	return []refCase{
		// js-model: free-for-all of new players, tau 0.
		{"js-model/1v1", tau0, [][]Rating{{d}, {d}}, nil, [][]Rating{
			{{27.63523138347365, 8.065506316323548}},
			{{22.36476861652635, 8.065506316323548}},
		}},
		{"js-model/3p FFA", tau0, [][]Rating{{d}, {d}, {d}}, nil, [][]Rating{
			{{27.868876552746237, 8.204837030780652}},
			{{25.717219138186557, 8.057829747583874}},
			{{21.413904309067206, 8.057829747583874}},
		}},
		{"js-model/4p FFA", tau0, [][]Rating{{d}, {d}, {d}, {d}}, nil, [][]Rating{
			{{27.795084971874736, 8.263160757613477}},
			{{26.552824984374855, 8.179213704945203}},
			{{24.68943500312503, 8.083731307186588}},
			{{20.96265504062538, 8.083731307186588}},
		}},
		{"js-model/5p FFA", tau0, [][]Rating{{d}, {d}, {d}, {d}, {d}}, nil, [][]Rating{
			{{27.666666666666668, 8.290556877154474}},
			{{26.833333333333332, 8.240145629781066}},
			{{25.72222222222222, 8.179996679645559}},
			{{24.055555555555557, 8.111796013701358}},
			{{20.72222222222222, 8.111796013701358}},
		}},
		{"js-model/teams of 3, 1, 2", tau0, [][]Rating{team(d, 3), {d}, team(d, 2)}, nil, [][]Rating{
			team(Rating{25.939870821784513, 8.247641552260456}, 3),
			{{27.21366020491262, 8.274321317985242}},
			team(Rating{21.84646897330287, 8.213058173195341}, 2),
		}},

		// js-rate: through rate(), with openskill's default tau unless set.
		{"js-rate/4p FFA", ref, [][]Rating{{a1}, {b1}, {c1}, {d1}}, nil, [][]Rating{
			{{30.210227447000438, 4.765617924939384}},
			{{27.644725221915632, 4.883479590134575}},
			{{17.4036218889969, 6.101259408259549}},
			{{19.21460876538932, 7.854669920480409}},
		}},
		{"js-rate/4p FFA tau 0.01", withTau(0.01, false), [][]Rating{{a1}, {b1}, {c1}, {d1}}, nil, [][]Rating{
			{{30.20997558824299, 4.764909330988368}},
			{{27.64461002009721, 4.882799245921361}},
			{{17.403587237635527, 6.100731158882956}},
			{{19.21478808745494, 7.854267281042293}},
		}},
		{"js-rate/1v1 tau 0.01 limit sigma", withTau(0.01, true), [][]Rating{{{6.672, 0.0001}}, {{29.182, 4.782}}}, nil, [][]Rating{
			{{6.672012533190158, 0.0001}},
			{{26.316243774876106, 4.7540633621019}},
		}},
		{"js-rate/2v2", ref, [][]Rating{{a1, b1}, {c1, d1}}, nil, [][]Rating{
			{{29.607340941337068, 4.755311788972862}, {27.624602782532037, 4.892807828777459}},
			{{15.953170429143093, 6.125902065139878}, {23.70858117648013, 8.111707446126035}},
		}},
		{"js-rate/2v2 tau 0.01", withTau(0.01, false), [][]Rating{{a1, b1}, {c1, d1}}, nil, [][]Rating{
			{{29.60722003260825, 4.754607604502581}, {27.624482251695827, 4.892124276331747}},
			{{15.953286947567106, 6.1253654293947335}, {23.708689129525133, 8.111303923213725}},
		}},
		{"js-rate/2v2 tau 0.01 limit sigma", withTau(0.01, true), [][]Rating{{{9.182, 0.0001}, b1}, {c1, d1}}, nil, [][]Rating{
			{{9.182004653636957, 0.0001}, {28.301285923165363, 4.889318394468611}},
			{{14.87349383521136, 6.076727029758966}, {21.768626152890867, 7.992333183226455}},
		}},
		{"js-rate/1v1 ranks 2 1", ref, [][]Rating{{d}, {d}}, []int{2, 1}, [][]Rating{
			{{22.364610506859503, 8.06590141354368}},
			{{27.635389493140497, 8.06590141354368}},
		}},
		{"js-rate/1v1 ranks 1 2", ref, [][]Rating{{d}, {d}}, []int{1, 2}, [][]Rating{
			{{27.635389493140497, 8.06590141354368}},
			{{22.364610506859503, 8.06590141354368}},
		}},
		{"js-rate/4p FFA misordered ranks", ref, [][]Rating{{d1}, {d1}, {d1}, {d1}}, []int{2, 1, 4, 3}, [][]Rating{
			{{26.55291815138952, 8.17961798837266}},
			{{27.795252672501135, 8.263571791259416}},
			{{20.962412806387245, 8.084127880168786}},
			{{24.689416369722096, 8.084127880168786}},
		}},
		{"js-rate/4p FFA rank order", ref, [][]Rating{{w1}, {x1}, {y1}, {z1}}, []int{1, 3, 4, 2}, [][]Rating{
			{{18.131120980297805, 8.283536573151807}},
			{{20.405169039419135, 8.107860440531121}},
			{{20.65583040714804, 8.082574596348321}},
			{{30.80787957313502, 8.155100416275928}},
		}},
		{"js-rate/3 teams of 2 ranks 3 1 2", ref, [][]Rating{{a1, d1}, {b1, e1}, {c1, f1}}, []int{3, 1, 2}, [][]Rating{
			{{27.857622571955794, 4.744504197327133}, {20.97892943330433, 8.129851804000902}},
			{{27.990904891666695, 4.901705733959291}, {27.341233554297506, 8.2314516336455}},
			{{17.607030910762578, 6.141282638892306}, {26.67983701239816, 8.149157818911323}},
		}},
		{"js-rate/3p FFA tie for second", ref, [][]Rating{{{10, 8}}, {{5, 10}}, {{0, 12}}}, []int{1, 2, 2}, [][]Rating{
			{{11.942996666741225, 7.926888197620324}},
			{{2.9381178546315034, 9.653804487570165}},
			{{-1.4024317012198733, 11.323641575516767}},
		}},
		{"js-rate/3p FFA tie for second reordered", ref, [][]Rating{{{5, 10}}, {{0, 12}}, {{10, 8}}}, []int{2, 2, 1}, [][]Rating{
			{{2.9381178546315034, 9.653804487570165}},
			{{-1.4024317012198733, 11.323641575516767}},
			{{11.942996666741225, 7.926888197620324}},
		}},
		{"js-rate/4p FFA four-way tie", ref, [][]Rating{{d}, {d}, {d}, {d}}, []int{1, 1, 1, 1}, [][]Rating{
			{{25, 8.263571791259416}}, {{25, 8.263571791259416}},
			{{25, 8.263571791259416}}, {{25, 8.263571791259416}},
		}},
		{"js-rate/1v1 tie at rank 0", ref, [][]Rating{{d}, {d}}, []int{0, 0}, [][]Rating{
			{{25, 8.06590141354368}},
			{{25, 8.06590141354368}},
		}},
		{"js-rate/4p FFA ties 2 4 2 1", ref, [][]Rating{{w1}, {x1}, {y1}, {z1}}, []int{2, 4, 2, 1}, [][]Rating{
			{{15.340043358359136, 8.213141619804967}},
			{{18.007678675484204, 8.189033933813437}},
			{{24.25801928251219, 8.166918055585525}},
			{{32.39425868364447, 8.247687230833794}},
		}},
		// js-rate "accepts a score instead of rank": scores 1, 1, 1 are ranks -1, -1, -1.
		{"js-rate/3p FFA three-way tie", ref, [][]Rating{{e1}, {e1}, {e1}}, []int{-1, -1, -1}, [][]Rating{
			{{25, 8.205243377397993}}, {{25, 8.205243377397993}}, {{25, 8.205243377397993}},
		}},
		{"js-rate/1v1 tau 0.3", withTau(0.3, false), [][]Rating{{{25, 3}}, {{25, 3}}}, nil, [][]Rating{
			{{25.624880438870754, 2.9879993738476953}},
			{{24.375119561129246, 2.9879993738476953}},
		}},
		{"js-rate/1v1 tau 0.3 limit sigma", withTau(0.3, true), [][]Rating{{{40, 3}}, {{-20, 3}}}, nil, [][]Rating{
			{{40.00032667136128, 3}},
			{{-20.000326671361275, 3}},
		}},

		// py-fixture: openskill.py's own expected numbers.
		{"py-fixture/normal 1v2", ref, [][]Rating{{pr}, team(pr, 2)}, nil, [][]Rating{
			{{23.855123082692877, 8.22447878583752}},
			team(Rating{16.84738016953782, 8.179571171464575}, 2),
		}},
		{"py-fixture/ranks 2 1 4 3", ref, [][]Rating{{pr}, team(pr, 2), {pr}, team(pr, 2)}, []int{2, 1, 4, 3}, [][]Rating{
			{{22.35555943890167, 8.265434830225024}},
			team(Rating{22.373451456616035, 8.258479912445537}, 2),
			{{18.311159777900297, 8.219170401234347}},
			team(Rating{18.364835831043397, 8.112716571808326}, 2),
		}},
		// "scores": scores 1, 2 are ranks -1, -2.
		{"py-fixture/scores 1 2", ref, [][]Rating{{pr}, team(pr, 2)}, []int{-1, -2}, [][]Rating{
			{{19.4016459546452, 8.22447878583752}},
			team(Rating{21.300857297585495, 8.179571171464575}, 2),
		}},
		{"py-fixture/limit sigma 1 2 3", withTau(ReferenceTau, true), [][]Rating{{pr}, team(pr, 2), team(pr, 3)}, []int{2, 1, 3}, [][]Rating{
			{{22.81664991565251, 8.28331609373364}},
			team(Rating{22.74645120129216, 8.268148437657915}, 2),
			team(Rating{15.49065376140138, 8.18959307104567}, 3),
		}},
		{"py-fixture/ties 1 2 1", ref, [][]Rating{{pr}, team(pr, 2), team(pr, 3)}, []int{1, 2, 1}, [][]Rating{
			{{21.63766806988004, 8.310709773172306}},
			team(Rating{19.53956360838512, 8.268148437657915}, 2),
			team(Rating{19.87652320008089, 8.237522411103104}, 3),
		}},
	}
}

func TestReference(t *testing.T) {
	var worst float64
	for _, c := range refCases() {
		got, err := c.model.Rate(c.teams, c.ranks)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d teams, want %d", c.name, len(got), len(c.want))
			continue
		}
		for i := range c.want {
			if len(got[i]) != len(c.want[i]) {
				t.Errorf("%s: team %d has %d players, want %d", c.name, i, len(got[i]), len(c.want[i]))
				continue
			}
			for j, w := range c.want[i] {
				g := got[i][j]
				dm, ds := math.Abs(g.Mu-w.Mu), math.Abs(g.Sigma-w.Sigma)
				worst = max(worst, dm, ds)
				if !(dm <= refTol) || !(ds <= refTol) {
					t.Errorf("%s: team %d player %d = %v, want %v", c.name, i, j, g, w)
				}
			}
		}
	}
	t.Logf("largest difference from the references: %.3g", worst)
}

// The package-level Rate is DefaultModel (tau 0): the js-model numbers.
func TestRateIsDefaultModel(t *testing.T) {
	for _, c := range refCases() {
		if c.model != DefaultModel() {
			continue
		}
		got := Rate(c.teams, c.ranks)
		want, _ := c.model.Rate(c.teams, c.ranks)
		if !equal(got, want) {
			t.Errorf("%s: Rate = %v, DefaultModel().Rate = %v", c.name, got, want)
		}
	}
}

// PredictWin: philihp/openskill.js src/__tests__/predict-win.test.ts (two
// teams, where openskill.py's predict_win gives the same formula) to their 7
// decimals, and newcomers' free-for-all.
func TestPredictWinReference(t *testing.T) {
	a1, a2 := Default(), Rating{32.444, 5.123}
	b1, b2 := Rating{73.381, 1.421}, Rating{25.188, 6.211}
	for _, c := range []struct {
		name  string
		teams [][]Rating
		want  []float64
	}{
		{"2 teams", [][]Rating{{a1, a2}, {b1, b2}}, []float64{0.0008308945674377, 0.9991691054325622}},
		{"3 newcomers", [][]Rating{{a1}, {a1}, {a1}}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{"4 newcomers", [][]Rating{{a1}, {a1}, {a1}, {a1}}, []float64{0.25, 0.25, 0.25, 0.25}},
	} {
		got := PredictWin(c.teams)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v, want %v", c.name, got, c.want)
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-7 {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

func equal(a, b [][]Rating) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestDefault(t *testing.T) {
	d := Default()
	if d.Mu != 25 || d.Sigma != 25.0/3 {
		t.Fatalf("Default() = %v", d)
	}
	// A new player's ordinal is 0, so boards start everyone level.
	if o := d.Ordinal(); math.Abs(o) > 1e-12 {
		t.Fatalf("Default().Ordinal() = %v, want 0", o)
	}
	if o := (Rating{30, 2}).Ordinal(); o != 24 {
		t.Fatalf("Ordinal of {30 2} = %v, want 24", o)
	}
	m := DefaultModel()
	if m.Beta != 25.0/6 || m.Kappa != 0.0001 || m.Tau != 0 || m.LimitSigma {
		t.Fatalf("DefaultModel() = %+v", m)
	}
}

// Invalid input: Model.Rate says why; Rate hands back a copy of the input.
func TestInvalidInput(t *testing.T) {
	d := Default()
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		name  string
		teams [][]Rating
		ranks []int
	}{
		{"nil", nil, nil},
		{"no teams", [][]Rating{}, nil},
		{"one team", [][]Rating{{d, d}}, nil},
		{"empty team", [][]Rating{{d}, {}}, nil},
		{"nil team", [][]Rating{{d}, nil}, nil},
		{"short ranks", [][]Rating{{d}, {d}, {d}}, []int{1, 2}},
		{"long ranks", [][]Rating{{d}, {d}}, []int{1, 2, 3}},
		{"empty ranks", [][]Rating{{d}, {d}}, []int{}},
		{"NaN mu", [][]Rating{{d}, {{nan, 1}}}, nil},
		{"Inf mu", [][]Rating{{d}, {{inf, 1}}}, nil},
		{"huge mu", [][]Rating{{d}, {{-2 * MaxValue, 1}}}, nil},
		{"NaN sigma", [][]Rating{{d}, {{25, nan}}}, nil},
		{"zero sigma", [][]Rating{{d}, {{25, 0}}}, nil},
		{"negative sigma", [][]Rating{{d}, {{25, -1}}}, nil},
		{"Inf sigma", [][]Rating{{d}, {{25, inf}}}, nil},
		{"huge sigma", [][]Rating{{d}, {{25, 2 * MaxValue}}}, nil},
	} {
		if _, err := DefaultModel().Rate(c.teams, c.ranks); !errors.Is(err, ErrInput) {
			t.Errorf("%s: Model.Rate error %v, want ErrInput", c.name, err)
		}
		got := Rate(c.teams, c.ranks)
		if !equalNaN(got, c.teams) || (c.teams == nil) != (got == nil) {
			t.Errorf("%s: Rate = %v, want the input %v", c.name, got, c.teams)
		}
		if len(got) > 0 && len(got[0]) > 0 && &got[0][0] == &c.teams[0][0] {
			t.Errorf("%s: Rate returned the caller's slice, want a copy", c.name)
		}
		if p := PredictWin(c.teams); p != nil && c.ranks == nil {
			t.Errorf("%s: PredictWin = %v, want nil", c.name, p)
		}
	}
	for _, m := range []Model{{}, {Beta: 1}, {Beta: 1, Kappa: 2}, {Beta: 1, Kappa: 0.1, Tau: -1}, {Beta: math.NaN(), Kappa: 0.1}} {
		if _, err := m.Rate([][]Rating{{d}, {d}}, nil); !errors.Is(err, ErrInput) {
			t.Errorf("Model %+v: error %v, want ErrInput", m, err)
		}
	}
}

func equalNaN(a, b [][]Rating) bool {
	if len(a) != len(b) {
		return false
	}
	same := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if !same(a[i][j].Mu, b[i][j].Mu) || !same(a[i][j].Sigma, b[i][j].Sigma) {
				return false
			}
		}
	}
	return true
}

// game is a random game: 2-8 teams of 1-4 players, ratings spread as a live
// ladder's, ranks 0-3 with ties, or nil.
func game(rng *rand.Rand) ([][]Rating, []int) {
	teams := make([][]Rating, 2+rng.IntN(7))
	for i := range teams {
		teams[i] = make([]Rating, 1+rng.IntN(4))
		for j := range teams[i] {
			teams[i][j] = Rating{Mu: 25 + 15*rng.NormFloat64(), Sigma: 0.5 + 8*rng.Float64()}
		}
	}
	if rng.IntN(4) == 0 {
		return teams, nil
	}
	ranks := make([]int, len(teams))
	for i := range ranks {
		ranks[i] = rng.IntN(4)
	}
	return teams, ranks
}

func TestProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 4))
	m := DefaultModel()
	for n := range 2000 {
		teams, ranks := game(rng)
		before := clone(teams)
		got, err := m.Rate(teams, ranks)
		if err != nil {
			t.Fatalf("game %d: %v", n, err)
		}
		if !equal(teams, before) {
			t.Fatalf("game %d: Rate changed its input", n)
		}
		// Deterministic, to the bit.
		if again, _ := m.Rate(teams, ranks); !equal(got, again) {
			t.Fatalf("game %d: two runs differ: %v and %v", n, got, again)
		}
		rank := func(i int) int {
			if ranks == nil {
				return i
			}
			return ranks[i]
		}
		best, worst := rank(0), rank(0)
		for i := range teams {
			best, worst = min(best, rank(i)), max(worst, rank(i))
		}
		count := func(r int) (c int) {
			for i := range teams {
				if rank(i) == r {
					c++
				}
			}
			return c
		}
		for i := range teams {
			for j, p := range got[i] {
				old := teams[i][j]
				if math.IsNaN(p.Mu) || math.IsInf(p.Mu, 0) || !(p.Sigma > 0) || math.IsInf(p.Sigma, 0) {
					t.Fatalf("game %d: team %d player %d: %v", n, i, j, p)
				}
				// With tau 0, a game only ever adds information.
				if p.Sigma > old.Sigma {
					t.Fatalf("game %d: team %d player %d: sigma rose %v -> %v", n, i, j, old.Sigma, p.Sigma)
				}
				// A sole winner gains; a sole last place loses (if any other rank).
				if best != worst && rank(i) == best && count(best) == 1 && !(p.Mu > old.Mu) {
					t.Fatalf("game %d: winner team %d player %d: mu %v -> %v", n, i, j, old.Mu, p.Mu)
				}
				if best != worst && rank(i) == worst && count(worst) == 1 && !(p.Mu < old.Mu) {
					t.Fatalf("game %d: last team %d player %d: mu %v -> %v", n, i, j, old.Mu, p.Mu)
				}
			}
		}
		// Order of the teams does not matter, only their ranks (to
		// rounding: sums are taken in another order).
		perm := rng.Perm(len(teams))
		pt := make([][]Rating, len(teams))
		pr := make([]int, len(teams))
		for k, i := range perm {
			pt[k], pr[k] = teams[i], rank(i)
		}
		pgot, _ := m.Rate(pt, pr)
		for k, i := range perm {
			for j := range pgot[k] {
				a, b := pgot[k][j], got[i][j]
				if math.Abs(a.Mu-b.Mu) > 1e-9 || math.Abs(a.Sigma-b.Sigma) > 1e-9 {
					t.Fatalf("game %d: permuted teams give %v, want %v", n, a, b)
				}
			}
		}
	}
}

// Ties are symmetric: equal teams that tie keep their mu, and two players of
// equal sigma who tie move toward each other by the same amount.
func TestTieSymmetry(t *testing.T) {
	d := Default()
	for n := 2; n <= 6; n++ {
		teams := make([][]Rating, n)
		for i := range teams {
			teams[i] = []Rating{d, d}
		}
		got := Rate(teams, make([]int, n))
		for i := range got {
			for _, p := range got[i] {
				if math.Abs(p.Mu-25) > 1e-12 || p.Sigma != got[0][0].Sigma || !(p.Sigma < d.Sigma) {
					t.Fatalf("%d-way tie of equals: %v", n, got)
				}
			}
		}
	}
	a, b := Rating{30, 5}, Rating{20, 5}
	got := Rate([][]Rating{{a}, {b}}, []int{1, 1})
	da, db := got[0][0].Mu-a.Mu, got[1][0].Mu-b.Mu
	if !(da < 0) || math.Abs(da+db) > 1e-12 || got[0][0].Sigma != got[1][0].Sigma {
		t.Fatalf("tie of %v and %v: %v", a, b, got)
	}
	// And a win is zero-sum between equal sigmas.
	got = Rate([][]Rating{{a}, {b}}, nil)
	if da, db := got[0][0].Mu-a.Mu, got[1][0].Mu-b.Mu; !(da > 0) || math.Abs(da+db) > 1e-12 {
		t.Fatalf("%v beats %v: %v", a, b, got)
	}
}

// Ratings outside any real ladder still give finite numbers: the sums of
// exp(mu/c) that overflow in a direct computation are kept as logarithms.
func TestExtremes(t *testing.T) {
	for _, teams := range [][][]Rating{
		{{{1e6, 1}}, {{-1e6, 1}}, {{0, 1}}},
		{{{MaxValue, 1}}, {{-MaxValue, MaxValue}}},
		{{{25, 1e-300}}, {{25, 1e-300}, {30, 1e-300}}},
		{{{25, MaxValue}, {25, MaxValue}}, {{25, 1}}},
	} {
		got, err := DefaultModel().Rate(teams, nil)
		if err != nil {
			t.Fatalf("%v: %v", teams, err)
		}
		for _, tm := range got {
			for _, p := range tm {
				if math.IsNaN(p.Mu) || math.IsInf(p.Mu, 0) || !(p.Sigma > 0) || math.IsInf(p.Sigma, 0) {
					t.Fatalf("%v: %v", teams, got)
				}
			}
		}
	}
}

func TestPredictWinProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 5))
	for range 500 {
		teams, _ := game(rng)
		p := PredictWin(teams)
		var sum float64
		for _, x := range p {
			if !(x >= 0 && x <= 1) {
				t.Fatalf("PredictWin(%v) = %v", teams, p)
			}
			sum += x
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("PredictWin(%v) sums to %v", teams, sum)
		}
	}
	// openskill.py test_predict_5p_impostor: the stronger player is the favourite.
	a1, a2 := Default(), Rating{32.444, 5.123}
	p := PredictWin([][]Rating{{a1}, {a1}, {a1}, {a2}, {a1}})
	for i, x := range p {
		if i != 3 && !(x < p[3]) {
			t.Fatalf("impostor: %v", p)
		}
	}
}

// FuzzRate rates games built from the fuzzer's bytes with ratings a ladder
// could hold (|mu| < 1000, sigma in [1e-6, 100]) and any tau up to 10: no
// panic, no NaN, sigma stays positive and never ends above where tau put it.
func FuzzRate(f *testing.F) {
	f.Add([]byte{2, 1, 1, 100, 50, 100, 50}, uint8(0))
	f.Add([]byte{5, 2, 3, 1, 1, 2, 0, 0, 255, 255, 1, 1, 128, 128, 7, 9}, uint8(3))
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, tau uint8) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		teams := make([][]Rating, 2+int(next())%7)
		for i := range teams {
			teams[i] = make([]Rating, 1+int(next())%4)
		}
		ranks := make([]int, len(teams))
		for i := range ranks {
			ranks[i] = int(next()) % 4
		}
		for i := range teams {
			for j := range teams[i] {
				mu := (float64(uint16(next())<<8|uint16(next())) - 32768) / 32.768
				sigma := math.Pow(10, -6+8*float64(next())/255)
				teams[i][j] = Rating{mu, sigma}
			}
		}
		m := DefaultModel()
		m.Tau = float64(tau) / 25.5
		got, err := m.Rate(teams, ranks)
		if err != nil {
			t.Fatalf("Rate(%v, %v): %v", teams, ranks, err)
		}
		for i := range got {
			for j, p := range got[i] {
				if math.IsNaN(p.Mu) || math.IsInf(p.Mu, 0) || !(p.Sigma > 0) || p.Sigma > math.Hypot(teams[i][j].Sigma, m.Tau) {
					t.Fatalf("Rate(%v, %v) tau %v: team %d player %d = %v", teams, ranks, m.Tau, i, j, p)
				}
			}
		}
		if p := PredictWin(teams); len(p) != len(teams) {
			t.Fatalf("PredictWin(%v) = %v", teams, p)
		}
	})
}

// FuzzRateAnyFloat gives Rate any float64 at all: it must not panic, must
// refuse what it cannot rate, and must give finite ratings otherwise.
func FuzzRateAnyFloat(f *testing.F) {
	f.Add(25.0, 25.0/3, 25.0, 25.0/3, 25.0, 25.0/3, 1, 2)
	f.Add(math.NaN(), 1.0, math.Inf(-1), 0.0, -5.0, 1e-320, 0, 0)
	f.Add(1e99, 1e99, -1e99, 1e-200, 0.0, 1.0, 7, -7)
	f.Fuzz(func(t *testing.T, mu1, s1, mu2, s2, mu3, s3 float64, r1, r2 int) {
		teams := [][]Rating{{{mu1, s1}}, {{mu2, s2}, {mu3, s3}}}
		got, err := DefaultModel().Rate(teams, []int{r1, r2})
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error %v does not wrap ErrInput", err)
			}
			return
		}
		for _, tm := range got {
			for _, p := range tm {
				if math.IsNaN(p.Mu) || math.IsInf(p.Mu, 0) || !(p.Sigma >= 0) || math.IsInf(p.Sigma, 0) {
					t.Fatalf("Rate(%v) = %v", teams, got)
				}
			}
		}
	})
}
