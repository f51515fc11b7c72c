package server_test

import (
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/internal/arenatest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// aimMode is dots with one analog axis, "aim", whose value each player's
// score shows, so a test sees over the wire what the game received.
var aimMode = game.Mode{
	Name:  "aim",
	Kinds: tag.Kinds, // players with a colour and a score
	Axes:  []game.Axis{{Name: "aim", Min: -100, Max: 100}},
	New:   func(cfg game.Config) game.Game { return &aimGame{Dots: dots.New(cfg), aim: map[game.PlayerID]int32{}} },
}

type aimGame struct {
	*dots.Dots
	aim map[game.PlayerID]int32
}

func (g *aimGame) Step(in []game.Input) {
	for _, i := range in {
		g.aim[i.Player] = i.Axes[0]
	}
	g.Dots.Step(in)
}

func (g *aimGame) AppendEntities(dst []game.Entity) []game.Entity {
	n := len(dst)
	dst = g.Dots.AppendEntities(dst)
	for i := range dst[n:] {
		dst[n+i].Fields[tag.FieldScore] = g.aim[game.PlayerID(dst[n+i].ID)]
	}
	return dst
}

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
var behindMode = game.Mode{
	Name:  "behind",
	Kinds: tag.Kinds,
	Axes:  []game.Axis{{Name: "aim", Min: -100, Max: 100}},
	New: func(cfg game.Config) game.Game {
		return &behindGame{Dots: dots.New(cfg), behind: map[game.PlayerID]int{}}
	},
}

type behindGame struct {
	*dots.Dots
	behind map[game.PlayerID]int
}

func (g *behindGame) Step(in []game.Input) {
	for _, i := range in {
		g.behind[i.Player] = i.Behind
	}
	g.Dots.Step(in)
}

func (g *behindGame) AppendEntities(dst []game.Entity) []game.Entity {
	n := len(dst)
	dst = g.Dots.AppendEntities(dst)
	for i := range dst[n:] {
		dst[n+i].Fields[tag.FieldScore] = int32(g.behind[game.PlayerID(dst[n+i].ID)])
	}
	return dst
}

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
