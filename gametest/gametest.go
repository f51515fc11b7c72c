// Package gametest checks the contracts of game.Game implementations that
// need more than one mode's own tests: that Export and Import round trip
// while players play.
package gametest

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/arena-server/arena/game"
)

// RoundTrip plays mode with a few players for a while, exports it, imports
// the state into a fresh game with the random source restored beside it,
// then plays both on with the same joins, leaves and inputs: their
// entities must stay identical, tick for tick. It also checks that Import
// refuses each of bad (states the mode must reject) and changes nothing.
func RoundTrip(t *testing.T, mode game.Mode, bad ...string) {
	t.Helper()
	pcg := rand.NewPCG(1, 2)
	orig := mode.New(game.Config{Rand: rand.New(pcg), TickRate: 20})
	p, ok := orig.(game.Persistent)
	if !ok {
		t.Fatalf("mode %s is not game.Persistent", mode.Name)
	}
	script := rand.New(rand.NewPCG(3, 4)) // the players' choices, not the game's
	next := game.PlayerID(1)
	var live []game.PlayerID
	play := func(games ...game.Game) {
		switch r := script.IntN(40); {
		case r == 0 || len(live) < 3:
			for _, g := range games {
				if err := g.Join(game.Player{ID: next, Name: "p"}); err != nil {
					t.Fatalf("join %d: %v", next, err)
				}
			}
			live = append(live, next)
			next++
		case r == 1:
			i := script.IntN(len(live))
			for _, g := range games {
				g.Leave(live[i])
			}
			live = slices.Delete(live, i, i+1)
		}
		var inputs []game.Input
		for _, id := range live {
			inputs = append(inputs, game.Input{Player: id, Buttons: game.Buttons(script.IntN(32)) & game.ButtonMask})
		}
		for _, g := range games {
			g.Step(inputs)
		}
	}
	for range 100 {
		play(orig)
	}
	state, err := p.Export()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	source, err := pcg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	restored := rand.NewPCG(0, 0)
	if err := restored.UnmarshalBinary(source); err != nil {
		t.Fatal(err)
	}
	copied := mode.New(game.Config{Rand: rand.New(restored), TickRate: 20})
	if err := copied.(game.Persistent).Import(state); err != nil {
		t.Fatalf("import of %s: %v", state, err)
	}
	for tick := 0; tick <= 200; tick++ {
		a, b := orig.AppendEntities(nil), copied.AppendEntities(nil)
		if !slices.Equal(a, b) {
			t.Fatalf("%d ticks after the import the copy differs:\noriginal %+v\ncopy     %+v", tick, a, b)
		}
		play(orig, copied)
	}

	for _, s := range bad {
		g := mode.New(game.Config{Rand: rand.New(rand.NewPCG(5, 6)), TickRate: 20})
		if err := g.Join(game.Player{ID: 1, Name: "kept"}); err != nil {
			t.Fatal(err)
		}
		before := g.AppendEntities(nil)
		if err := g.(game.Persistent).Import([]byte(s)); err == nil {
			t.Errorf("import of %s succeeded; want an error", s)
		}
		if after := g.AppendEntities(nil); !slices.Equal(before, after) {
			t.Errorf("a refused import of %s changed the game: %+v, then %+v", s, before, after)
		}
	}
}
