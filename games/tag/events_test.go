package tag

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/arena-server/arena/game"
)

type sent struct {
	to   []game.PlayerID // nil: everyone
	typ  string
	data string
}

func take(q *game.Events) []sent {
	var out []sent
	for _, e := range q.Take() {
		out = append(out, sent{e.To, e.Event.Type, string(e.Event.Data)})
	}
	return out
}

func TestTagSendsEventsWhenItChanges(t *testing.T) {
	q := game.NewEvents(nil)
	g := New(game.Config{Rand: rand.New(rand.NewPCG(3, 4)), TickRate: 20, Events: q})
	for _, id := range []game.PlayerID{1, 2, 3} {
		if err := g.Join(game.Player{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	g.place(1, 100, 100)
	g.place(2, 300, 300)
	g.place(3, 400, 100)
	g.Step(nil)
	if got := take(q); len(got) != 0 {
		t.Fatalf("events without a tag: %v", got)
	}
	g.place(2, 128, 100)
	g.Step([]game.Input{{Player: 1, Buttons: game.Right}})
	want := []sent{
		{nil, "tagged", `{"it":2,"by":1}`},
		{[]game.PlayerID{2}, "you_are_it", `{"by":1}`},
	}
	if got := take(q); !slices.EqualFunc(got, want, eqSent) {
		t.Fatalf("after the tag: %v; want %v", got, want)
	}

	g.Leave(2) // it leaves: a random other is it, tagged by nobody
	got := take(q)
	_, who := itCount(g)
	want = []sent{
		{nil, "tagged", fmt.Sprintf(`{"it":%d,"by":0}`, who)},
		{[]game.PlayerID{game.PlayerID(who)}, "you_are_it", `{"by":0}`},
	}
	if !slices.EqualFunc(got, want, eqSent) {
		t.Fatalf("after it left: %v; want %v", got, want)
	}
}

func TestTagWithoutEventsQueue(t *testing.T) {
	g := newTag() // Config.Events nil: sending must be a no-op
	_ = g.Join(game.Player{ID: 1})
	_ = g.Join(game.Player{ID: 2})
	g.place(1, 100, 100)
	g.place(2, 110, 100)
	g.Step(nil)
	if _, who := itCount(g); who != 2 {
		t.Fatalf("it is %d; want 2", who)
	}
}

func eqSent(a, b sent) bool {
	return a.typ == b.typ && a.data == b.data && slices.Equal(a.to, b.to)
}
