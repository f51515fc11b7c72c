package rating_test

import (
	"fmt"

	"github.com/arena-server/arena/rating"
)

// A free-for-all of three new players, the third and first tied behind the
// second: each player is a team of one, and equal ranks are a tie.
func ExampleRate() {
	a, b, c := rating.Default(), rating.Default(), rating.Default()
	out := rating.Rate([][]rating.Rating{{a}, {b}, {c}}, []int{2, 1, 2})
	for _, team := range out {
		r := team[0]
		fmt.Printf("mu %.3f sigma %.3f ordinal %.3f\n", r.Mu, r.Sigma, r.Ordinal())
	}
	// Output:
	// mu 23.566 sigma 8.058 ordinal -0.608
	// mu 27.869 sigma 8.205 ordinal 3.254
	// mu 23.566 sigma 8.058 ordinal -0.608
}

// Two teams of two: the chance each finishes first.
func ExamplePredictWin() {
	strong := []rating.Rating{{Mu: 30, Sigma: 2}, {Mu: 28, Sigma: 2}}
	fresh := []rating.Rating{rating.Default(), rating.Default()}
	p := rating.PredictWin([][]rating.Rating{strong, fresh})
	fmt.Printf("%.3f %.3f\n", p[0], p[1])
	// Output:
	// 0.724 0.276
}
