package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

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
		wg.Go(func() {
			for range each {
				got[i] = append(got[i], ids.New())
			}
		})
	}
	wg.Wait()
	seen := map[game.PlayerID]int{}
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
