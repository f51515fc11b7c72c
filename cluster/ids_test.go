package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/natstest"
)

// TestPlayerIDsAreUniqueAcrossNodes: three nodes hand out IDs at once,
// each through several blocks; no ID is handed out twice, and none is 0.
// (A node's IDs need not rise: a block fetched in the background may come
// after one fetched in a hurry.)
func TestPlayerIDsAreUniqueAcrossNodes(t *testing.T) {
	s := natstest.Start(t)
	const nodes, each = 3, 3 * idBlock
	got := make([][]game.PlayerID, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		ids := openIDs(t, s)
		wg.Go(func() {
			// New does not wait for a block: a 0 means "not yet".
			deadline := time.Now().Add(10 * time.Second)
			for len(got[i]) < each && time.Now().Before(deadline) {
				if id := ids.New(); id != 0 {
					got[i] = append(got[i], id)
				} else {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	seen := map[game.PlayerID]int{}
	for i, list := range got {
		if len(list) < each {
			t.Fatalf("node %d got %d IDs in 10 s; want %d", i, len(list), each)
		}
	}
	for i, list := range got {
		for j, id := range list {
			if id == 0 {
				t.Fatalf("node %d: ID %d is 0", i, j)
			}
			if n, dup := seen[id]; dup {
				t.Fatalf("ID %d handed out by nodes %d and %d", id, n, i)
			}
			seen[id] = i
		}
	}
}

// TestNewNeverWaitsOnNATS: with NATS gone, New hands out what the node
// holds, then answers 0 at once instead of waiting out a round trip on
// the room's goroutine that calls it.
func TestNewNeverWaitsOnNATS(t *testing.T) {
	s := natstest.Start(t)
	ids := openIDs(t, s)
	if used := ids.Used(); used <= 0 || used > 2*idBlock/float64(1<<32) {
		t.Errorf("Used after one block: %g; want one block's share", used)
	}
	s.Shutdown()
	s.WaitForShutdown()
	handed := 0
	for ids.New() != 0 {
		if handed++; handed > 2*idBlock {
			t.Fatalf("more than two blocks handed out with NATS down")
		}
	}
	// Each New past the blocks at hand returns at once; one that waited
	// for NATS would take ids.timeout every call.
	start := time.Now()
	for range 100 {
		if id := ids.New(); id != 0 {
			t.Fatalf("ID %d with NATS down and the blocks used up", id)
		}
	}
	if took := time.Since(start); took >= ids.timeout {
		t.Errorf("100 calls of New with NATS down took %v; New waits on NATS", took)
	}
}

// openIDs opens the ID counter of s on a connection of its own, as a node
// does.
func openIDs(t *testing.T, s *server.Server) *IDs {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := OpenIDs(ctx, js, "")
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
