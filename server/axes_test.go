package server_test

import (
	"testing"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// aimMode is dots with one analog axis, "aim", whose value each player's
// score shows, so a test sees over the wire what the game received.
// aimMode shows each player's aim as its score.
var aimMode = arenatest.InputProbe("aim", []game.Axis{{Name: "aim", Min: -100, Max: 100}}, func(in game.Input) int32 { return in.Axes[0] })

func TestAnalogAxesReachTheGameWithinBounds(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Modes = append(c.Modes, aimMode) }})
	c := dialNative(t, srv.WSURL+"?room=a&mode=aim")
	if got := c.welcome.Axes; len(got) != 1 || got[0] != aimMode.Axes[0] {
		t.Fatalf("welcome lists axes %+v; want %+v", got, aimMode.Axes)
	}
	other := dialNative(t, srv.WSURL+"?room=a")
	score := func(want int32) func() bool { return func() bool { return c.me().Fields[tag.FieldScore] == want } }

	c.send(protocol.AppendBinaryInput(nil, 1, 0, 0, 42))
	c.waitState("aim 42 in the game", score(42))

	// Out of bounds, and one value too many: refused, the game never sees
	// them, and the connection carries on.
	for i, bad := range [][]byte{
		protocol.AppendBinaryInput(nil, 2, 0, 0, 101),
		protocol.AppendBinaryInput(nil, 3, 0, 0, 5, 6),
	} {
		c.send(bad)
		c.waitError("bad input")
		// Two ticks on, a bad input that had reached the room would show.
		t0 := c.tick
		c.waitState("two ticks after the refusal", func() bool { return c.tick >= t0+2 })
		if s := c.me().Fields[tag.FieldScore]; s != 42 {
			t.Fatalf("bad input %d reached the game: aim %d", i, s)
		}
		if c.msg.Code != protocol.CodeBadInput {
			t.Errorf("bad input %d answered %s %q; want %s", i, c.msg.Code, c.msg.Message, protocol.CodeBadInput)
		}
	}
	c.send(protocol.AppendBinaryInput(nil, 4, 0, 0, -100))
	c.waitState("aim -100 after the refusals", score(-100))
	// The other player in the room is unaffected.
	other.waitState("the other player seeing the aim", func() bool {
		e, ok := other.find(c.welcome.Player)
		return ok && e.Fields[tag.FieldScore] == -100
	})
}

func TestButtonsOnlyModesRefuseAxes(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := dialNative(t, srv.WSURL+"?room=b")
	if len(c.welcome.Axes) != 0 {
		t.Fatalf("dots welcome lists axes %+v", c.welcome.Axes)
	}
	c.send(protocol.AppendBinaryInput(nil, 1, game.Right, 0, 1))
	if m := c.waitError("an axis value in dots"); m.Code != protocol.CodeBadInput {
		t.Errorf("an axis value in dots answered %s; want %s", c.msg.Code, protocol.CodeBadInput)
	}
}

// behindMode shows, as each player's score, the Behind of the input it
// holds: what a lag-compensating game would rewind.
var behindMode = arenatest.InputProbe("behind", []game.Axis{{Name: "aim", Min: -100, Max: 100}}, func(in game.Input) int32 { return int32(in.Behind) })

// TestInputLagReachesTheGameCapped: a native input's lag reaches the game
// as Input.Behind over a real socket, and a claim of
// more than 200 ms is cut to 200 ms (4 ticks at 20 Hz).
func TestInputLagReachesTheGameCapped(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Modes = append(c.Modes, behindMode) }})
	c := dialNative(t, srv.WSURL+"?room=b&mode=behind")
	c.waitState("own entity", func() bool { return c.me().ID != 0 })
	c.send(protocol.AppendBinaryInputLag(nil, 1, game.Up, 0, 3, 50))
	c.waitState("Behind 3", func() bool { return c.ack == 1 && c.me().Fields[tag.FieldScore] == 3 })
	c.send(protocol.AppendBinaryInputLag(nil, 2, game.Up, 0, 500, 50))
	c.waitState("Behind capped at 4", func() bool { return c.ack == 2 && c.me().Fields[tag.FieldScore] == 4 })
	c.send(protocol.AppendBinaryInput(nil, 3, game.Up, 0, 50))
	c.waitState("no lag said, no rewind", func() bool { return c.ack == 3 && c.me().Fields[tag.FieldScore] == 0 })
}
