package tag

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/arena-server/arena/game"
)

// tagsAfter plays player 1 (it) touching player 2 and returns how many
// ticks pass before it can tag player 1 back, in a room of cooldown raw.
func tagBackAfter(t *testing.T, raw map[string]string) int {
	t.Helper()
	opts, err := game.ParseOptions(Mode.RoomOptions, raw)
	if err != nil {
		t.Fatal(err)
	}
	g := New(game.Config{Rand: rand.New(rand.NewPCG(3, 4)), TickRate: 20, Options: opts})
	for _, id := range []game.PlayerID{1, 2} {
		if err := g.Join(game.Player{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	g.place(1, 100, 100)
	g.place(2, 110, 100)
	g.Step(nil)
	if _, who := itCount(g); who != 2 {
		t.Fatalf("it is %d after the touch; want 2", who)
	}
	for ticks := 1; ticks <= 1000; ticks++ {
		g.Step(nil)
		if _, who := itCount(g); who == 1 {
			return ticks
		}
	}
	t.Fatal("it never passed back")
	return 0
}

func TestRoomOptionCooldown(t *testing.T) {
	cases := []struct {
		raw  map[string]string
		want int // ticks: the cooldown's, then the tagging tick
	}{
		{nil, CooldownSeconds*20 + 1},
		{map[string]string{"cooldown": "5"}, 5*20 + 1},
		{map[string]string{"cooldown": "0"}, 1},
	}
	for _, tc := range cases {
		if got := tagBackAfter(t, tc.raw); got != tc.want {
			t.Errorf("cooldown %v: tagged back after %d ticks; want %d", tc.raw, got, tc.want)
		}
	}
}

func TestRoomOptionCooldownIsBounded(t *testing.T) {
	for _, v := range []string{"-1", "11", "2.5", "soon"} {
		if _, err := game.ParseOptions(Mode.RoomOptions, map[string]string{"cooldown": v}); err == nil {
			t.Errorf("cooldown %q accepted", v)
		}
	}
	if d := Mode.RoomOptions[0].Default; d != "2" {
		t.Errorf("declared default %q; want the rules' %d", d, CooldownSeconds)
	}
}

// TestRoomOptionGoalEndsTheGame: with a goal, the game ends as soon as a
// player has that many points, with the standings best first; without
// one it never ends.
func TestRoomOptionGoalEndsTheGame(t *testing.T) {
	play := func(raw map[string]string, seconds int) *Tag {
		t.Helper()
		opts, err := game.ParseOptions(Mode.RoomOptions, raw)
		if err != nil {
			t.Fatal(err)
		}
		g := New(game.Config{Rand: rand.New(rand.NewPCG(3, 4)), TickRate: 20, Options: opts})
		for _, p := range []game.Player{{ID: 1, Name: "it"}, {ID: 2, Name: "runner"}, {ID: 3}} {
			if err := g.Join(p); err != nil {
				t.Fatal(err)
			}
		}
		g.place(1, 50, 50)
		g.place(2, 450, 450)
		g.place(3, 250, 450)
		for range seconds * 20 {
			if _, over := g.Over(); over {
				t.Fatal("the game ended before its goal")
			}
			g.Step(nil)
		}
		return g
	}
	if _, over := play(nil, 30).Over(); over {
		t.Error("a game without a goal ended")
	}
	res, over := play(map[string]string{"goal": "3"}, 3).Over()
	want := []game.Standing{{Player: 2, Name: "runner", Score: 3}, {Player: 3, Score: 3}, {Player: 1, Name: "it", Score: 0}}
	if !over || res.Summary != "runner wins with 3 points" || !reflect.DeepEqual(res.Standings, want) {
		t.Errorf("after 3 s with goal 3: over %v, %+v; want runner first of %+v", over, res, want)
	}
	if Mode.Rematch <= 0 {
		t.Error("tag does not rematch a game that reached its goal")
	}
}
