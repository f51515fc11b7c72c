package tag

import (
	"math/rand/v2"
	"testing"

	"github.com/arena-server/arena/game"
)

func newTag() *Tag {
	return New(game.Config{Rand: rand.New(rand.NewPCG(3, 4)), TickRate: 20})
}

func entities(t *Tag) map[uint32]game.Entity {
	m := map[uint32]game.Entity{}
	for _, e := range t.AppendEntities(nil) {
		m[e.ID] = e
	}
	return m
}

// place puts a player at x, y (tests only).
func (t *Tag) place(id game.PlayerID, x, y int32) {
	i, _ := t.find(id)
	t.players[i].x, t.players[i].y = x, y
}

func itCount(t *Tag) (n int, who uint32) {
	for _, e := range t.AppendEntities(nil) {
		if e.Fields[FieldIt] != 0 {
			n++
			who = e.ID
		}
	}
	return
}

func TestFirstPlayerIsItAndTouchPassesIt(t *testing.T) {
	g := newTag()
	for _, id := range []game.PlayerID{1, 2, 3} {
		if err := g.Join(game.Player{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if n, who := itCount(g); n != 1 || who != 1 {
		t.Fatalf("it: %d players, %d; want player 1 alone", n, who)
	}
	g.place(1, 100, 100)
	g.place(2, 300, 300)
	g.place(3, 400, 100)
	g.Step(nil)
	if _, who := itCount(g); who != 1 {
		t.Fatalf("it passed without a touch to %d", who)
	}
	// Player 1 runs right into player 2's left side.
	g.place(2, 128, 100)
	g.Step([]game.Input{{Player: 1, Buttons: game.Right}})
	if _, who := itCount(g); who != 2 {
		t.Fatalf("after touching, it is %d; want 2", who)
	}
	// No tagging straight back during the cooldown.
	for range CooldownSeconds * 20 {
		g.Step(nil)
		if _, who := itCount(g); who != 2 {
			t.Fatalf("tagged back during the cooldown: it is %d", who)
		}
	}
	g.Step(nil)
	if _, who := itCount(g); who != 1 {
		t.Errorf("after the cooldown, touching player 1 should pass it back; it is %d", who)
	}
}

func TestScoresCountSecondsNotIt(t *testing.T) {
	g := newTag()
	_ = g.Join(game.Player{ID: 1})
	for range 40 {
		g.Step(nil)
	}
	if e := entities(g)[1]; e.Fields[FieldScore] != 0 {
		t.Fatalf("alone, scored %d; want 0", e.Fields[FieldScore])
	}
	_ = g.Join(game.Player{ID: 2})
	g.place(1, 50, 50)
	g.place(2, 450, 450)
	for range 60 { // three seconds
		g.Step(nil)
	}
	e := entities(g)
	if e[1].Fields[FieldScore] != 0 || e[2].Fields[FieldScore] != 3 {
		t.Errorf("scores it=%d, runner=%d; want 0 and 3", e[1].Fields[FieldScore], e[2].Fields[FieldScore])
	}
}

func TestItLeavingPassesIt(t *testing.T) {
	g := newTag()
	for _, id := range []game.PlayerID{1, 2, 3} {
		_ = g.Join(game.Player{ID: id})
	}
	g.Leave(1)
	if n, who := itCount(g); n != 1 || who == 1 {
		t.Errorf("after it left: %d it, player %d", n, who)
	}
	g.Leave(2)
	g.Leave(3)
	g.Leave(3)
	if n, _ := itCount(g); n != 0 {
		t.Errorf("empty game has %d it", n)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	g := newTag()
	var in []game.Input
	for i := 1; i <= 100; i++ {
		_ = g.Join(game.Player{ID: game.PlayerID(i)})
		in = append(in, game.Input{Player: game.PlayerID(i), Buttons: game.Buttons(i % 16)})
	}
	if a := testing.AllocsPerRun(100, func() { g.Step(in) }); a != 0 {
		t.Errorf("Step allocates %.1f times", a)
	}
}
