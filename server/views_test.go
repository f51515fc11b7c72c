package server_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// halvesMode is dots in which each player sees only the half of the field
// it stands in, so walking across the middle changes what it sees.
var halvesMode = game.Mode{Name: "halves", New: func(cfg game.Config) game.Game { return halves{dots.New(cfg)} }}

type halves struct{ *dots.Dots }

func half(x int32) game.ViewKey {
	if x < dots.Size/2 {
		return 0
	}
	return 1
}

func (h halves) View(id game.PlayerID) game.ViewKey {
	for _, e := range h.AppendEntities(nil) {
		if e.ID == uint32(id) {
			return half(e.X)
		}
	}
	return 0
}

func (h halves) AppendView(dst []game.Entity, key game.ViewKey) []game.Entity {
	for _, e := range h.AppendEntities(nil) {
		if half(e.X) == key {
			dst = append(dst, e)
		}
	}
	return dst
}

func TestViewsPerViewerOverTheWire(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Modes = append(c.Modes, halvesMode) }})
	walker := dialNative(t, srv.WSURL+"?room=h&mode=halves")
	still := dialNative(t, srv.WSURL+"?room=h")
	seed := arenatest.Dial(t, srv.WSURL+"?room=h", nil)
	seedID := seed.Init().ID
	still.waitState("its own dot", func() bool { _, ok := still.find(still.welcome.Player); return ok })
	walker.waitState("its own dot", func() bool { _, ok := walker.find(walker.welcome.Player); return ok })
	stillX := still.me().X

	// The walker crosses the middle, away from its side and back, holding
	// the key until its own view says it is there. The delta chain must
	// hold across each change of view (next fails the test if it breaks),
	// and at every snapshot it sees the still player only when they share
	// a half.
	key := game.Right
	if half(walker.me().X) == 1 {
		key = game.Left
	}
	seq := uint32(0)
	for _, k := range []game.Buttons{key, key ^ (game.Left | game.Right)} {
		seq++
		walker.send(protocol.AppendBinaryInput(nil, seq, k, 0))
		from := half(walker.me().X)
		deadline := time.Now().Add(5 * time.Second)
		for half(walker.me().X) == from {
			if time.Now().After(deadline) {
				t.Fatal("the walker never crossed the middle")
			}
			walker.next(3 * time.Second)
			if walker.msg.Type != protocol.BinSnapshot {
				continue
			}
			_, sees := walker.find(still.welcome.Player)
			if want := half(walker.me().X) == half(stillX); sees != want {
				t.Fatalf("walker at x=%d sees the still player at x=%d: %v; want %v", walker.me().X, stillX, sees, want)
			}
		}
		if _, ok := walker.find(walker.welcome.Player); !ok {
			t.Fatal("the walker lost sight of itself across the middle")
		}
	}
	// A seed client gets its own view only, in the seed's format.
	seedX := position(t, seed, seedID).X
	m := seed.WaitFor(2*time.Second, "a state", func(m *arenatest.Message) bool { return m.Type == "state_update" })
	for _, p := range m.Players {
		if half(int32(p.X)) != half(int32(seedX)) {
			t.Errorf("the seed client at x=%d sees %s at x=%d, in the other half", seedX, p.ID, p.X)
		}
	}
	if _, ok := m.Player(strconv.Itoa(int(still.welcome.Player))); ok != (half(int32(seedX)) == half(stillX)) {
		t.Errorf("the seed client sees the still player: %v", ok)
	}
}
