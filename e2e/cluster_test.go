package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/natstest"
)

// TestThePageFollowsItsRoomToAnotherNode: the page plays on one node of a
// cluster; that node shuts down and moves the room to the other; the page
// follows the redirect to the other node (a page of another origin, which
// the cluster lets in) and resumes as the same player, where it stood.
func TestThePageFollowsItsRoomToAnotherNode(t *testing.T) {
	ns := natstest.Start(t)
	nodes := arenatest.StartCluster(t, ns, 2, nil)
	a, b := nodes[0], nodes[1]
	tb, id := openArena(t, a, "/?room=keep&mode=tag")
	x, y := serverPos(tb, id)

	// The page's own origin is gone with a: its lobby list cannot load
	// from there any more, which the page logs.
	tb.allowConsole(`ERR_CONNECTION_REFUSED .*/api/rooms`)
	a.Stop(t)
	// Resumed on b (the page says so to its player), and playing there.
	waitFor(tb, "the page playing again after the move",
		fmt.Sprintf(`document.getElementById('toasts').textContent.includes('you resumed') && window.arena.connected && window.arena.id === %d && window.arena.room === 'keep' && window.arena.players.has(%d)`, id, id), 10*time.Second)
	rooms := b.Rooms()
	if len(rooms) != 1 || rooms[0].Name != "keep" || rooms[0].Players != 1 {
		t.Fatalf("b runs %+v; want keep, with the page's player", rooms)
	}
	if gx, gy := serverPos(tb, id); gx != x || gy != y {
		t.Errorf("after the move the player is at %v,%v; want %v,%v, where it stood", gx, gy, x, y)
	}
}
