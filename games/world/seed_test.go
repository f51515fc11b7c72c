package world_test

import (
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/games/world"
	"github.com/arena-server/arena/server"
)

// TestSeedClientsSeeTheirAreaOnly connects seed-protocol clients to one
// world room over real sockets: each one's state_update lists itself and
// only players within its 3×3 cells (at most two cells and a margin away
// on each axis, the window being shifted inwards on the edge), and on
// the 20,000² field, some do not see all the others.
func TestSeedClientsSeeTheirAreaOnly(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.MaxSeatsPerAddr, c.MaxSeatsPerIP, c.MaxConnectionsPerIP = 0, 0, 0
	}})
	const n = 12
	clients := make([]*arenatest.Client, n)
	ids := make([]string, n)
	for i := range clients {
		clients[i] = arenatest.Dial(t, srv.WSURL+"?room=big&mode=world", nil)
		ids[i] = clients[i].Init().ID
	}
	const reach = 3*world.Cell + 2*world.Margin
	partial := 0
	for i, c := range clients {
		// Skip the oldest state queued, which may be from before the
		// last joins; culling is checked on the next.
		c.WaitFor(2*time.Second, "a state with everyone joined", func(m *arenatest.Message) bool { return m.Type == "state_update" })
		m := c.WaitFor(2*time.Second, "a state", func(m *arenatest.Message) bool { return m.Type == "state_update" })
		me, ok := m.Player(ids[i])
		if !ok {
			t.Fatalf("seed client %s does not see itself", ids[i])
		}
		for _, p := range m.Players {
			if dx, dy := p.X-me.X, p.Y-me.Y; max(dx, -dx) > reach || max(dy, -dy) > reach {
				t.Errorf("seed client %s at (%d, %d) sees %s at (%d, %d), out of its area", ids[i], me.X, me.Y, p.ID, p.X, p.Y)
			}
		}
		if len(m.Players) < n {
			partial++
		}
	}
	if partial == 0 {
		t.Errorf("all %d seed clients see all the others on a field of %d²: the area of interest culls nothing", n, world.DefaultSize)
	}
}
