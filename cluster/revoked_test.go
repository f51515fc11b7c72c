package cluster

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/natstest"
)

// TestRevokedReachesEveryNode: a revocation one node publishes reaches
// every node's recheck, its own included; news that is empty or too long
// to be an account reaches none.
func TestRevokedReachesEveryNode(t *testing.T) {
	s := natstest.Start(t)
	a, b := NewNode(open(t, s, "a"), nil), NewNode(open(t, s, "b"), nil)
	var mu sync.Mutex
	got := map[string][]string{}
	for name, n := range map[string]*Node{"a": a, "b": b} {
		stop, err := n.ServeRevoked(func(account string) {
			mu.Lock()
			got[name] = append(got[name], account)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	// Subscriptions are live once the server has them.
	for _, n := range []*Node{a, b} {
		if err := n.dir.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, acc := range []string{"", strings.Repeat("x", maxAccountID+1), "acc1"} {
		if err := a.PublishRevoked(acc); err != nil {
			t.Fatal(err)
		}
	}
	// A forged message straight on the subject, too long: dropped.
	if err := b.dir.Conn().Publish(revokedSubject, []byte(strings.Repeat("y", maxAccountID+1))); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishRevoked("acc2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "both nodes hear both revocations", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["a"]) >= 2 && len(got["b"]) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	for name, accs := range got {
		if len(accs) != 2 || !(accs[0] == "acc1" || accs[0] == "acc2") || accs[0] == accs[1] {
			t.Errorf("node %s heard %q; want acc1 and acc2 only", name, accs)
		}
	}
}
