package world

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/arena-server/arena/game"
)

// newWorld returns an empty default field with a fixed seed.
func newWorld(t testing.TB) *World {
	t.Helper()
	return New(game.Config{Rand: rand.New(rand.NewPCG(1, 2)), TickRate: 20})
}

// place puts player id at (x, y), in the cell (x, y) falls in, joining it
// first if need be.
func place(t testing.TB, w *World, id game.PlayerID, x, y int32) *player {
	t.Helper()
	i, found := w.find(id)
	if !found {
		if err := w.Join(game.Player{ID: id}); err != nil {
			t.Fatal(err)
		}
		i, _ = w.find(id)
	}
	p := w.players[i]
	w.grid.remove(p.cell, p)
	p.x, p.y, p.cell = x, y, w.grid.cellAt(x, y)
	w.grid.add(p.cell, p)
	return p
}

func TestGridCells(t *testing.T) {
	g := newGrid(DefaultSize)
	if g.cols != 29 {
		t.Fatalf("%d columns on a field of %d; want 29", g.cols, DefaultSize)
	}
	tests := []struct {
		x, y int32
		want int32
	}{
		{0, 0, 0}, {699, 699, 0}, {700, 0, 1}, {0, 700, 29}, {1400, 2100, 3*29 + 2},
		{DefaultSize - 1, DefaultSize - 1, 29*29 - 1}, {DefaultSize + 500, -5, 28},
	}
	for _, tt := range tests {
		if got := g.cellAt(tt.x, tt.y); got != tt.want {
			t.Errorf("cellAt(%d, %d) = %d; want %d", tt.x, tt.y, got, tt.want)
		}
	}
}

func TestGridListsStaySortedAndAreasAreWhole(t *testing.T) {
	g := newGrid(3 * Cell)
	ps := make([]*player, 20)
	for i := range ps {
		ps[i] = &player{id: game.PlayerID((i*7)%20 + 1)}
		g.add(int32(i%9), ps[i])
	}
	for c, list := range g.cells {
		if !slices.IsSortedFunc(list, byID) {
			t.Errorf("cell %d not sorted by id: %v", c, list)
		}
	}
	for c := range int32(9) {
		if w := g.window(c); w != 4 {
			t.Errorf("on a 3×3 grid, cell %d's window is %d; want the middle, 4", c, w)
		}
	}
	big := newGrid(DefaultSize) // 29 columns
	for _, tt := range []struct{ cell, want int32 }{{0, 29 + 1}, {28, 29 + 27}, {29*29 - 1, 27*29 + 27}, {5*29 + 5, 5*29 + 5}, {5 * 29, 5*29 + 1}} {
		if got := big.window(tt.cell); got != tt.want {
			t.Errorf("cell %d's window is %d; want %d", tt.cell, got, tt.want)
		}
		var n int32
		big.area(big.window(tt.cell), func(int32) { n++ })
		if n != 9 {
			t.Errorf("the area of cell %d has %d cells; want 9", tt.cell, n)
		}
	}
	all := g.appendArea(nil, 4)
	if len(all) != 20 || !slices.IsSortedFunc(all, byID) {
		t.Errorf("the middle cell's area of a 3×3 grid: %d players, sorted %v; want all 20, sorted", len(all), slices.IsSortedFunc(all, byID))
	}
	g.remove(0, ps[0])
	g.remove(0, ps[0]) // twice is harmless
	if slices.Contains(g.cells[0], ps[0]) || len(g.appendArea(nil, 4)) != 19 {
		t.Error("remove left the player in its cell")
	}
}

// TestHysteresisAlongABorder walks a player along the border between two
// columns, a step either side of it, then away: its view stays the same
// along the border, and changes once, when it is Margin past.
func TestHysteresisAlongABorder(t *testing.T) {
	w := newWorld(t)
	p := place(t, w, 1, 5*Cell-10, 5*Cell+Cell/2) // in column 4, at the border with 5
	start := w.View(1)
	// Zig-zag across the border and walk down along it (row 5, then 6
	// and back: a row's border is crossed legitimately only far past it).
	for i := range 200 {
		b := game.Right
		if i%2 == 1 {
			b = game.Left
		}
		if i%20 < 10 {
			b |= game.Down
		} else {
			b |= game.Up
		}
		w.Step([]game.Input{{Player: 1, Buttons: b}})
		if got := w.View(1); got != start {
			t.Fatalf("step %d at (%d, %d): view %d; want %d: a walk along the border switched views", i, p.x, p.y, got, start)
		}
	}
	changes := 0
	last := start
	for p.x < 5*Cell+Margin+3*Speed {
		w.Step([]game.Input{{Player: 1, Buttons: game.Right}})
		v := w.View(1)
		if v != last {
			changes++
			if p.x < 5*Cell+Margin {
				t.Errorf("the view changed at x=%d, before the margin (x ≥ %d)", p.x, 5*Cell+Margin)
			}
			last = v
		}
	}
	if changes != 1 || last != start+1 {
		t.Errorf("walking past the margin changed the view %d times, to %d; want once, to the next column's %d", changes, last, start+1)
	}
	// Back across the border: still the new column until Margin past.
	for p.x > 5*Cell-Margin+Speed {
		w.Step([]game.Input{{Player: 1, Buttons: game.Left}})
		if w.View(1) != last {
			t.Fatalf("back at x=%d, %d short of the margin, the view changed", p.x, p.x-(5*Cell-Margin))
		}
	}
}

// TestNoFlickerAtTheEdgeOfAView: a player that stands on the border of a
// watcher's area, stepping back and forth over it, stays in the watcher's
// view tick after tick.
func TestNoFlickerAtTheEdgeOfAView(t *testing.T) {
	w := newWorld(t)
	place(t, w, 1, 3*Cell+Cell/2, 5*Cell+Cell/2)      // the watcher, column 3: sees columns 2 to 4
	walker := place(t, w, 2, 2*Cell+5, 5*Cell+Cell/2) // column 2, just past the border with 1
	for i := range 100 {
		b := game.Left
		if i%2 == 1 {
			b = game.Right
		}
		w.Step([]game.Input{{Player: 2, Buttons: b}})
		if !sees(w, 1, 2) {
			t.Fatalf("tick %d: the walker at x=%d (the border is x=%d) left the watcher's view", i, walker.x, 2*Cell)
		}
	}
}

// sees reports whether viewer's view holds id.
func sees(w *World, viewer game.PlayerID, id uint32) bool {
	for _, e := range w.AppendView(nil, w.View(viewer)) {
		if e.ID == id {
			return true
		}
	}
	return false
}

// Spectators see the window in the middle of the field: a player there,
// and not one in a corner.
func TestWatcherViewIsTheMiddle(t *testing.T) {
	w := newWorld(t)
	var _ game.WatcherViewer = w
	mid := w.size / 2
	place(t, w, 1, mid, mid)
	place(t, w, 2, Edge, Edge)
	if key := w.WatcherView(); key != w.View(1) {
		t.Errorf("spectators see view %d; want the middle player's, %d", key, w.View(1))
	}
	var ids []uint32
	for _, e := range w.AppendView(nil, w.WatcherView()) {
		if e.Kind == KindPlayer {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) != 1 || ids[0] != 1 {
		t.Errorf("spectators see players %v; want [1]", ids)
	}
}
