package world

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
)

// TestEnterLeaveGolden builds two views of one viewer across its change
// of cell, one column to the right: the player of the column it leaves
// behind goes out of its view as a removal, the one of the column it
// comes to comes in as an addition, with the landmarks of those columns.
// The delta's bytes are pinned in testdata/enterleave.txt
// (ARENA_UPDATE_GOLDEN=1 rewrites it), and decoding them turns the old
// view into the new one.
func TestEnterLeaveGolden(t *testing.T) {
	w := newWorld(t)
	const row = 5*Cell + Cell/2
	viewer := place(t, w, 1, 6*Cell+Margin-5, row) // column 5 still: within the margin
	viewer.cell = w.grid.cellAt(6*Cell-1, row)
	w.grid.remove(w.grid.cellAt(viewer.x, viewer.y), viewer)
	w.grid.add(viewer.cell, viewer)
	behind := place(t, w, 2, 4*Cell+Cell/2, row) // column 4: in view, then not
	ahead := place(t, w, 3, 7*Cell+Cell/2, row)  // column 7: not, then in view
	place(t, w, 4, 5*Cell+Cell/2, row+Cell)      // column 5, a row down: in both
	w.players[1].name, w.players[2].name = "behind", "ahead"

	before := w.AppendView(nil, w.View(1))
	w.Step([]game.Input{{Player: 1, Buttons: game.Right}})
	after := w.AppendView(nil, w.View(1))
	if w.View(1) != game.ViewKey(w.grid.cellAt(6*Cell, row)) {
		t.Fatalf("the viewer at x=%d is in cell %d; want column 6's", viewer.x, w.View(1))
	}
	var d protocol.Delta
	protocol.Diff(&d, before, after)
	if !slices.Contains(d.Removed, uint32(behind.id)) || slices.ContainsFunc(d.Added, func(e game.Entity) bool { return e.ID == uint32(behind.id) }) {
		t.Errorf("the player left behind is not among the removed %v", d.Removed)
	}
	if !slices.ContainsFunc(d.Added, func(e game.Entity) bool { return e.ID == uint32(ahead.id) }) {
		t.Errorf("the player ahead is not among the added")
	}
	if len(d.Removed) != 1+3*LandmarksPerCell || len(d.Added) != 1+3*LandmarksPerCell {
		t.Errorf("%d removed, %d added; want a player and a column of landmarks each", len(d.Removed), len(d.Added))
	}
	if len(d.Changed) != 1 || d.Changed[0].Entity.ID != 1 || d.Changed[0].Mask != protocol.MaskX {
		t.Errorf("changed: %+v; want only the viewer's x", d.Changed)
	}
	msg := protocol.AppendBinaryDelta(protocol.AppendBinarySnapshotHeader(nil, protocol.SnapshotHeader{Tick: 11, Base: 10}), &d, Kinds)

	// What a client makes of the bytes is the new view.
	var m protocol.ServerMessage
	m.Welcome.Kinds = Kinds
	if err := protocol.ParseServerBinary(&m, msg); err != nil {
		t.Fatal(err)
	}
	if got := protocol.ApplyDecoded(nil, before, &m.Delta, Kinds); !slices.Equal(got, after) {
		t.Errorf("decoding the delta gave %d entities, not the new view of %d", len(got), len(after))
	}

	var out strings.Builder
	out.WriteString("delta snapshot tick=11 base=10 of world: viewer 1 moves +20 x into the next column;\n")
	out.WriteString("player 2 and the landmarks of the column behind leave, player 3 and those of the column ahead enter\n")
	out.WriteString(hex.EncodeToString(msg) + "\n")
	path := filepath.Join("testdata", "enterleave.txt")
	if os.Getenv("ARENA_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (ARENA_UPDATE_GOLDEN=1 writes it)", err)
	}
	if out.String() != string(want) {
		t.Errorf("the enter/leave delta changed; got:\n%s\nwant:\n%s", out.String(), want)
	}
	t.Logf("a change of cell costs %d bytes", len(msg))
}
