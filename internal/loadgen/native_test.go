package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
)

func TestNativeSelfFollowsTheDeltaChain(t *testing.T) {
	self, err := Native.Joined(protocol.AppendBinaryWelcome(nil, protocol.Welcome{Player: 7, TickRate: 20}))
	if err != nil {
		t.Fatal(err)
	}
	snap := func(full bool, base, cur []game.Entity, tick uint64) []byte {
		var d protocol.Delta
		protocol.Diff(&d, base, cur)
		return protocol.AppendBinaryDelta(protocol.AppendBinarySnapshotHeader(nil, protocol.SnapshotHeader{Full: full, Tick: tick, Base: tick - 1}), &d, nil)
	}
	w1 := []game.Entity{{ID: 3, X: 1, Y: 1}, {ID: 7, X: 100, Y: 200}}
	w2 := []game.Entity{{ID: 3, X: 11, Y: 1}, {ID: 7, X: 110, Y: 193}}
	w3 := []game.Entity{{ID: 7, X: 110, Y: 193}, {ID: 9, X: 5, Y: 5}}
	for i, tc := range []struct {
		msg  []byte
		x, y int
	}{
		{snap(true, nil, w1, 1), 100, 200},
		{snap(false, w1, w2, 2), 110, 193},
		{snap(false, w2, w3, 3), 110, 193},
	} {
		x, y, ok := self.Position(tc.msg)
		if !ok || x != tc.x || y != tc.y {
			t.Errorf("state %d: position %d,%d,%v; want %d,%d", i, x, y, ok, tc.x, tc.y)
		}
	}
	if Native.Classify([]byte{protocol.BinSnapshot}) != KindState || Native.Classify([]byte{protocol.BinWelcome}) != KindJoined || Native.Classify(nil) != KindOther {
		t.Error("Classify")
	}
}

// TestNativeAgainstArena runs the generator's native players against a real
// arena server: they join, receive every tick, measure latency, and cost a
// few bytes per moving player.
func TestNativeAgainstArena(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	run := func(moving float64) *Result {
		cfg := quickConfig(srv.URL+"/ws", 30, 5)
		cfg.URL = "ws://" + srv.Addr + "/ws"
		cfg.Protocol = Native
		cfg.Moving = moving
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Connected != 30 || res.ConnErrors != 0 || res.ClosedEarly != 0 {
			t.Fatalf("connected %d, errors %d (%v), closes %d (%v)", res.Connected, res.ConnErrors, res.ErrorReasons, res.ClosedEarly, res.CloseReasons)
		}
		// Above 20 too: on a loaded machine the ticks that came late
		// before the window arrive in a burst inside it.
		if res.UpdatesPerClient < 15 || res.UpdatesPerClient > 23 {
			t.Errorf("updates/s per player %.2f; want about 20", res.UpdatesPerClient)
		}
		if res.LatSamples < 5 || res.LatP50 <= 0 || res.LatP50 > 200 {
			t.Errorf("%d latency samples, p50 %.1f ms", res.LatSamples, res.LatP50)
		}
		return res
	}
	all, tenth := run(1), run(0.1)
	// 25 movers at about 2 bytes a tick each, plus a few bytes of header:
	// about 1.1 KiB/s; a tenth of them far less.
	if all.KiBPerClient > 3 || all.KiBPerClient < 0.5 {
		t.Errorf("all moving: %.2f KiB/s per player; want about 1", all.KiBPerClient)
	}
	if tenth.KiBPerClient >= all.KiBPerClient/2 {
		t.Errorf("10%% moving: %.2f KiB/s per player, all moving %.2f", tenth.KiBPerClient, all.KiBPerClient)
	}
}

// TestFireShootsInBlasters: with Fire, native players hold the action
// button and aim, so a blasters room fills with bullets that everyone
// receives; without it, the same players only move.
func TestFireShootsInBlasters(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	run := func(room string, fire bool) *Result {
		cfg := quickConfig("ws://"+srv.Addr+"/ws?mode=blasters&room="+room, 10, 2)
		cfg.Protocol = Native
		cfg.Fire = fire
		cfg.Warmup = 3500 * time.Millisecond // past the round's countdown, when nobody may fire
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Connected != 10 || res.ClosedEarly != 0 {
			t.Fatalf("connected %d, closes %d (%v)", res.Connected, res.ClosedEarly, res.CloseReasons)
		}
		return res
	}
	moving, firing := run("walk", false), run("fight", true)
	t.Logf("KiB/s per player: moving %.2f, firing %.2f", moving.KiBPerClient, firing.KiBPerClient)
	if firing.KiBPerClient < 2*moving.KiBPerClient {
		t.Errorf("firing: %.2f KiB/s per player; only moving: %.2f; want bullets to at least double it", firing.KiBPerClient, moving.KiBPerClient)
	}
}
