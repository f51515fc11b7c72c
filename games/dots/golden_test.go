package dots

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/gametest"
)

// moveVector is one case of testdata/moves.json: from (x, y) holding
// buttons, one tick later a dot is at (wantX, wantY). The browser client's
// prediction (web/static/js/rules.js) is checked against the same file, so
// the two sides cannot drift apart.
type moveVector struct {
	X       int32        `json:"x"`
	Y       int32        `json:"y"`
	Buttons game.Buttons `json:"buttons"`
	WantX   int32        `json:"want_x"`
	WantY   int32        `json:"want_y"`
}

// goldenMoves covers every button combination at the walls, the corners and
// in the open.
func goldenMoves() []moveVector {
	var vs []moveVector
	points := [][2]int32{{250, 250}, {Min, Min}, {Max, Max}, {Min + 3, Max - 5}, {Max - 8, Min + 2}, {15, 485}}
	r := rand.New(rand.NewPCG(11, 12))
	for range 10 {
		points = append(points, [2]int32{int32(Min + r.IntN(Max-Min+1)), int32(Min + r.IntN(Max-Min+1))})
	}
	for _, p := range points {
		for b := game.Buttons(0); b <= game.ButtonMask; b++ {
			x, y := Move(p[0], p[1], b)
			vs = append(vs, moveVector{p[0], p[1], b, x, y})
		}
	}
	return vs
}

func TestGoldenMoves(t *testing.T) {
	gametest.Golden(t, filepath.Join("testdata", "moves.json"), goldenMoves())
}
