package world

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/gametest"
)

// moveVector is one case of testdata/moves.json: on a field of side size,
// from (x, y) holding buttons, one tick later a player is at (wantX,
// wantY). The page's prediction (web/client/js/world.js) is checked
// against the same file (e2e), so the two sides cannot drift apart.
type moveVector struct {
	Size    int32        `json:"size"`
	X       int32        `json:"x"`
	Y       int32        `json:"y"`
	Buttons game.Buttons `json:"buttons"`
	WantX   int32        `json:"want_x"`
	WantY   int32        `json:"want_y"`
}

// goldenMoves covers every button combination at the edges, the corners
// and in the open, on the default field and on the smallest.
func goldenMoves() []moveVector {
	var vs []moveVector
	r := rand.New(rand.NewPCG(21, 22))
	for _, size := range []int32{DefaultSize, MinSize} {
		hi := size - Edge
		points := [][2]int32{{size / 2, size / 2}, {Edge, Edge}, {hi, hi}, {Edge + 3, hi - 5}, {hi - 8, Edge + 2}, {15, hi - 15}}
		for range 6 {
			points = append(points, [2]int32{int32(Edge + r.IntN(int(hi-Edge+1))), int32(Edge + r.IntN(int(hi-Edge+1)))})
		}
		for _, p := range points {
			for b := game.Buttons(0); b <= game.ButtonMask; b++ {
				x, y := Move(p[0], p[1], b, size)
				vs = append(vs, moveVector{size, p[0], p[1], b, x, y})
			}
		}
	}
	return vs
}

func TestGoldenMoves(t *testing.T) {
	gametest.Golden(t, filepath.Join("testdata", "moves.json"), goldenMoves())
}
