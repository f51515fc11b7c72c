package main

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
)

// TestMain lets a test run the example's main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv(arenatest.RunMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServedNextToTheBuiltInModes runs the example's main, on the port PORT
// names as a hosting platform would set it, and asks it for its modes.
func TestServedNextToTheBuiltInModes(t *testing.T) {
	_, addr := arenatest.StartMain(t, []string{"PORT=0"}, "-host", "127.0.0.1")
	if got, want := arenatest.ModeList(arenatest.Modes(t, addr)), "dots* tag hill"; got != want {
		t.Errorf("GET /api/modes lists %q; want %q", got, want)
	}
	c := arenatest.Dial(t, "ws://"+addr+"/?mode=hill", nil)
	c.Init()
}

func TestStandingOnTheHillScores(t *testing.T) {
	h := Mode.New(game.Config{Rand: rand.New(rand.NewPCG(1, 2)), TickRate: 20}).(*Hill)
	h.Join(game.Player{ID: 1})
	h.Join(game.Player{ID: 2})
	h.players[0].x, h.players[0].y = hillX+10, hillY // on the hill
	h.players[1].x, h.players[1].y = 20, 20          // far away
	for range 3 * 20 {
		h.Step(nil)
	}
	ents := h.AppendEntities(nil)
	if len(ents) != 3 || ents[2].Kind != game.KindItem {
		t.Fatalf("entities %+v; want two players and the hill", ents)
	}
	if ents[0].Fields[fieldScore] != 3 || ents[1].Fields[fieldScore] != 0 {
		t.Errorf("scores %d and %d after 3 s; want 3 and 0", ents[0].Fields[fieldScore], ents[1].Fields[fieldScore])
	}
	// Walking off stops the count.
	for range 10 {
		h.Step([]game.Input{{Player: 1, Buttons: game.Right}})
	}
	before := h.AppendEntities(nil)[0].Fields[fieldScore]
	for range 40 {
		h.Step(nil)
	}
	if after := h.AppendEntities(nil)[0].Fields[fieldScore]; after != before {
		t.Errorf("scored %d off the hill", after-before)
	}
}
