package e2e

import (
	"os"
	"testing"

	"github.com/arena-server/arena/internal/arenatest"
)

// TestBlastersRulesMatchGo checks the page's blasters movement, which
// predicts the own player, against the Go rules' golden vectors, and its
// walls and constants against the rules file beside them: the two sides
// cannot drift apart.
func TestBlastersRulesMatchGo(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	vectors, err := os.ReadFile("../games/blasters/testdata/moves.json")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile("../games/blasters/testdata/rules.json")
	if err != nil {
		t.Fatal(err)
	}
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	res := eval[[]float64](tb, `import('/js/blasters.js').then((m) => {
		const vs = `+string(vectors)+`, rules = `+string(rules)+`;
		let bad = 0;
		for (const v of vs) {
			const [x, y] = m.move(v.x, v.y, v.buttons);
			if (x !== v.want_x || y !== v.want_y) bad++;
		}
		const walls = JSON.stringify(rules.walls.map((w) => [w.min_x, w.min_y, w.max_x, w.max_y]));
		const same = rules.size === m.SIZE && rules.radius === m.RADIUS && rules.speed === m.SPEED &&
			rules.diagonal_speed === m.DIAGONAL_SPEED &&
			walls === JSON.stringify(m.WALLS.map((w) => [w.minX, w.minY, w.maxX, w.maxY]));
		return [vs.length, bad, same ? 1 : 0];
	})`)
	if res[0] < 500 || res[1] != 0 || res[2] != 1 {
		t.Errorf("%v of %v movement vectors disagree with the Go rules; constants and walls agree: %v", res[1], res[0], res[2] == 1)
	}
}
