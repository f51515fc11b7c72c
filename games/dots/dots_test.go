package dots

import (
	"math/rand/v2"
	"testing"

	"github.com/arena-server/arena/game"
)

func newGame(seed uint64) *Dots {
	return New(game.Config{Rand: rand.New(rand.NewPCG(seed, 1)), TickRate: 20})
}

func TestMove(t *testing.T) {
	tests := []struct {
		name         string
		x, y         int32
		b            game.Buttons
		wantX, wantY int32
	}{
		{"up", 100, 100, game.Up, 100, 90},
		{"down", 100, 100, game.Down, 100, 110},
		{"left", 100, 100, game.Left, 90, 100},
		{"right", 100, 100, game.Right, 110, 100},
		{"nothing", 100, 100, 0, 100, 100},
		{"action only", 100, 100, game.Action, 100, 100},
		{"up and down cancel", 100, 100, game.Up | game.Down, 100, 100},
		{"left and right cancel", 100, 100, game.Left | game.Right, 100, 100},
		{"diagonal", 100, 100, game.Up | game.Right, 107, 93},
		{"diagonal down left", 100, 100, game.Down | game.Left, 93, 107},
		{"three keys", 100, 100, game.Up | game.Left | game.Right, 100, 90},
		{"clamp top", 100, 15, game.Up, 100, 10},
		{"clamp at top", 100, 10, game.Up, 100, 10},
		{"clamp bottom", 100, 485, game.Down, 100, 490},
		{"clamp left", 12, 100, game.Left, 10, 100},
		{"clamp right", 490, 100, game.Right, 490, 100},
		{"clamp corner", 488, 488, game.Down | game.Right, 490, 490},
	}
	for _, tt := range tests {
		x, y := Move(tt.x, tt.y, tt.b)
		if x != tt.wantX || y != tt.wantY {
			t.Errorf("%s: Move(%d,%d,%v) = %d,%d; want %d,%d", tt.name, tt.x, tt.y, tt.b, x, y, tt.wantX, tt.wantY)
		}
	}
}

func TestSpawnIsUniformInRangeWithRandomColours(t *testing.T) {
	d := newGame(7)
	const n = 2000
	for i := 1; i <= n; i++ {
		if err := d.Join(game.Player{ID: game.PlayerID(i)}); err != nil {
			t.Fatal(err)
		}
	}
	ents := d.AppendEntities(nil)
	if len(ents) != n {
		t.Fatalf("%d entities, want %d", len(ents), n)
	}
	var minX, maxX, minY, maxY int32 = 1000, 0, 1000, 0
	colours := map[int32]bool{}
	for i, e := range ents {
		if e.ID != uint32(i+1) || e.Kind != game.KindPlayer {
			t.Fatalf("entity %d = %+v: want sorted players", i, e)
		}
		if e.X < SpawnMin || e.X > SpawnMax || e.Y < SpawnMin || e.Y > SpawnMax {
			t.Fatalf("spawned at %d,%d outside [%d,%d]", e.X, e.Y, SpawnMin, SpawnMax)
		}
		if e.Fields[FieldColor] < 0 || e.Fields[FieldColor] > 0xffffff {
			t.Fatalf("colour %x out of range", e.Fields[FieldColor])
		}
		minX, maxX = min(minX, e.X), max(maxX, e.X)
		minY, maxY = min(minY, e.Y), max(maxY, e.Y)
		colours[e.Fields[FieldColor]] = true
	}
	// 2000 uniform draws over 401 values reach both ends with near certainty.
	if minX != SpawnMin || maxX != SpawnMax || minY != SpawnMin || maxY != SpawnMax {
		t.Errorf("spawn range seen x [%d,%d] y [%d,%d]; want the whole [%d,%d]", minX, maxX, minY, maxY, SpawnMin, SpawnMax)
	}
	if len(colours) < n*99/100 {
		t.Errorf("only %d distinct colours in %d players", len(colours), n)
	}
}

func TestJoinLeaveStep(t *testing.T) {
	d := newGame(1)
	for _, id := range []game.PlayerID{5, 2, 9} {
		if err := d.Join(game.Player{ID: id, Name: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Join(game.Player{ID: 2}); err == nil {
		t.Error("joining the same id twice succeeded")
	}
	before := d.AppendEntities(nil)
	if before[0].ID != 2 || before[1].ID != 5 || before[2].ID != 9 {
		t.Fatalf("entities not sorted by id: %+v", before)
	}
	d.Step([]game.Input{{Player: 5, Buttons: game.Right}, {Player: 42, Buttons: game.Up}})
	after := d.AppendEntities(nil)
	if after[1].X != before[1].X+10 || after[1].Y != before[1].Y {
		t.Errorf("player 5 moved from %d,%d to %d,%d; want +10 x", before[1].X, before[1].Y, after[1].X, after[1].Y)
	}
	if after[0] != before[0] || after[2] != before[2] {
		t.Errorf("players without input moved")
	}
	d.Leave(5)
	d.Leave(5) // twice is harmless
	left := d.AppendEntities(nil)
	if len(left) != 2 || left[0].ID != 2 || left[1].ID != 9 {
		t.Errorf("after leave: %+v", left)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []game.Entity {
		d := newGame(99)
		for i := 1; i <= 50; i++ {
			_ = d.Join(game.Player{ID: game.PlayerID(i)})
		}
		for tick := 0; tick < 100; tick++ {
			d.Step([]game.Input{{Player: game.PlayerID(tick%50 + 1), Buttons: game.Buttons(tick % 16)}})
		}
		return d.AppendEntities(nil)
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed and inputs diverged at %d: %+v vs %+v", i, a[i], b[i])
		}
	}
}
