package dots

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/arena-server/arena/game"
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
	path := filepath.Join("testdata", "moves.json")
	got, err := json.MarshalIndent(goldenMoves(), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("ARENA_UPDATE_GOLDEN") == "1" {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (ARENA_UPDATE_GOLDEN=1 writes it)", err)
	}
	var vs []moveVector
	if err := json.Unmarshal(want, &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if x, y := Move(v.X, v.Y, v.Buttons); x != v.WantX || y != v.WantY {
			t.Errorf("Move(%d,%d,%v) = %d,%d; testdata says %d,%d", v.X, v.Y, v.Buttons, x, y, v.WantX, v.WantY)
		}
	}
	if len(vs) != len(goldenMoves()) {
		t.Errorf("testdata has %d vectors; want %d (regenerate it)", len(vs), len(goldenMoves()))
	}
}
