package world

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/arena-server/arena/game"
)

func TestMove(t *testing.T) {
	const s = DefaultSize
	tests := []struct {
		name         string
		x, y         int32
		b            game.Buttons
		wantX, wantY int32
	}{
		{"up", 1000, 1000, game.Up, 1000, 980},
		{"down", 1000, 1000, game.Down, 1000, 1020},
		{"left", 1000, 1000, game.Left, 980, 1000},
		{"right", 1000, 1000, game.Right, 1020, 1000},
		{"nothing", 1000, 1000, 0, 1000, 1000},
		{"action only", 1000, 1000, game.Action, 1000, 1000},
		{"opposites cancel", 1000, 1000, game.Up | game.Down | game.Left | game.Right, 1000, 1000},
		{"diagonal", 1000, 1000, game.Up | game.Right, 1014, 986},
		{"clamp top", 1000, 15, game.Up, 1000, Edge},
		{"clamp far corner", s - 15, s - 12, game.Down | game.Right, s - Edge, s - Edge},
	}
	for _, tt := range tests {
		if x, y := Move(tt.x, tt.y, tt.b, s); x != tt.wantX || y != tt.wantY {
			t.Errorf("%s: Move(%d,%d,%v) = %d,%d; want %d,%d", tt.name, tt.x, tt.y, tt.b, x, y, tt.wantX, tt.wantY)
		}
	}
	if x, _ := Move(2095, 100, game.Right, 2100); x != 2090 {
		t.Errorf("on a field of 2100, Move right from 2095 reached x=%d; want 2090", x)
	}
}

// crowd joins n players at random spots.
func crowd(t testing.TB, w *World, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := w.Join(game.Player{ID: game.PlayerID(i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestViewIsTheAreaAroundTheViewer checks AppendView against its
// definition, computed the slow way from every entity: the players and
// landmarks whose cells are at most one row and one column from the
// viewer's, by ascending ID, the viewer among them.
func TestViewIsTheAreaAroundTheViewer(t *testing.T) {
	w := newWorld(t)
	crowd(t, w, 5000)
	r := rand.New(rand.NewPCG(5, 6))
	moves := make([]game.Input, 5000)
	for range 50 { // walk about, so that hysteresis has kept some off their plain cell
		for i := range moves {
			moves[i] = game.Input{Player: game.PlayerID(i + 1), Buttons: game.Buttons(r.IntN(16))}
		}
		w.Step(moves)
	}
	near := func(a, b int32) bool {
		cols := w.grid.cols
		return max(a%cols-b%cols, b%cols-a%cols) <= 1 && max(a/cols-b/cols, b/cols-a/cols) <= 1
	}
	all := w.AppendEntities(nil)
	players, views := 0, 0
	for id := game.PlayerID(1); id <= 5000; id += 97 {
		key := w.View(id)
		got := w.AppendView(nil, key)
		var want []game.Entity
		for _, e := range all {
			cell := w.grid.cellAt(e.X, e.Y) // a landmark's
			if e.Kind == KindPlayer {
				i, _ := w.find(game.PlayerID(e.ID))
				cell = w.players[i].cell
			}
			if near(cell, int32(key)) {
				want = append(want, e)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("player %d's view: %d entities; want %d", id, len(got), len(want))
		}
		if !slices.IsSortedFunc(got, func(a, b game.Entity) int { return int(int64(a.ID) - int64(b.ID)) }) {
			t.Errorf("player %d's view is not sorted by id", id)
		}
		if !slices.ContainsFunc(got, func(e game.Entity) bool { return e.ID == uint32(id) }) {
			t.Errorf("player %d does not see itself", id)
		}
		for _, e := range got {
			if e.Kind == KindPlayer {
				players++
			}
		}
		views++
	}
	// About 50 players in a view: the grid is sized for that.
	if avg := float64(players) / float64(views); avg < 35 || avg > 70 {
		t.Errorf("views hold %.1f players on average among 5000; want about 50", avg)
	}
	if got := w.AppendView(nil, w.View(99999)); len(got) != 0 {
		t.Errorf("an unknown player sees %d entities; want none", len(got))
	}
}

func TestJoinLeaveAndSpawn(t *testing.T) {
	w := newWorld(t)
	crowd(t, w, 3)
	if err := w.Join(game.Player{ID: 2}); err == nil {
		t.Error("joining the same id twice succeeded")
	}
	opts, err := game.ParseOptions(Mode.JoinOptions, map[string]string{"color": "#123456"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Join(game.Player{ID: 9, Name: "ann", Options: opts}); err != nil {
		t.Fatal(err)
	}
	ents := w.AppendEntities(nil)
	if len(ents) != 4+len(w.grid.cells)*LandmarksPerCell {
		t.Fatalf("%d entities; want 4 players and %d landmarks", len(ents), len(w.grid.cells)*LandmarksPerCell)
	}
	if e := ents[3]; e.ID != 9 || e.Fields[FieldColor] != 0x123456 || e.Texts[TextName] != "ann" {
		t.Errorf("the player who chose a colour: %+v", e)
	}
	for _, e := range ents {
		if e.X < Edge || e.X > DefaultSize-Edge || e.Y < Edge || e.Y > DefaultSize-Edge {
			t.Errorf("entity %d at (%d, %d), off the field", e.ID, e.X, e.Y)
		}
		if e.Kind == KindLandmark && w.grid.cellAt(e.X, e.Y) != int32(e.ID&^game.ItemID(0))/LandmarksPerCell {
			t.Errorf("landmark %d at (%d, %d) is not in its own cell", e.ID&^game.ItemID(0), e.X, e.Y)
		}
	}
	cell := w.players[1].cell
	w.Leave(2)
	w.Leave(2)
	if len(w.players) != 3 || slices.ContainsFunc(w.grid.cells[cell], func(p *player) bool { return p.id == 2 }) {
		t.Error("Leave left the player in the world or in its cell")
	}
	if w.View(2) != noView {
		t.Error("a player who left still has a view")
	}
}

func TestSizeOption(t *testing.T) {
	opts, err := game.ParseOptions(Mode.RoomOptions, map[string]string{"size": "2100"})
	if err != nil {
		t.Fatal(err)
	}
	w := Mode.New(game.Config{Rand: rand.New(rand.NewPCG(1, 1)), Options: opts}).(*World)
	if w.World() != (game.World{Width: 2100, Height: 2100}) || w.grid.cols != 3 {
		t.Errorf("size 2100: world %+v, %d columns; want 2100² and 3", w.World(), w.grid.cols)
	}
	crowd(t, w, 50)
	// On a field of 3×3 cells, the middle sees everything.
	p := place(t, w, 1, 1050, 1050)
	if n := len(w.AppendView(nil, w.View(p.id))); n != 50+9*LandmarksPerCell {
		t.Errorf("the middle of a 3×3 field sees %d entities; want all %d", n, 50+9*LandmarksPerCell)
	}
	for _, bad := range []string{"2099", "40001", "big"} {
		if _, err := game.ParseOptions(Mode.RoomOptions, map[string]string{"size": bad}); err == nil {
			t.Errorf("size %s accepted", bad)
		}
	}
	if err := Mode.Check(); err != nil {
		t.Error(err)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []game.Entity {
		w := newWorld(t)
		crowd(t, w, 50)
		for tick := range 200 {
			w.Step([]game.Input{{Player: game.PlayerID(tick%50 + 1), Buttons: game.Buttons(tick % 16)}})
		}
		return w.AppendEntities(nil)
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Error("the same seed and inputs gave different worlds")
	}
}
