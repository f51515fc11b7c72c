package server_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// stateLog records when a native client received each snapshot, and where
// its own entity was then, from a goroutine that reads the client until
// stop; it also keeps the player walking left and right, so that the
// states show a game that runs, not one that repeats itself.
type stateLog struct {
	mu    sync.Mutex
	at    []time.Time
	xs    []int32
	err   error
	stop  chan struct{}
	done  chan struct{}
	input sync.WaitGroup
}

func logStates(c *arenatest.NativeClient) *stateLog {
	l := &stateLog{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			m, err := c.Next(2 * time.Second)
			if err != nil {
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
				return
			}
			if m.Type == protocol.BinSnapshot {
				x := c.Me().X
				l.mu.Lock()
				l.at = append(l.at, time.Now())
				l.xs = append(l.xs, x)
				l.mu.Unlock()
			}
		}
	}()
	l.input.Go(func() {
		t := time.NewTicker(400 * time.Millisecond)
		defer t.Stop()
		dirs := []game.Buttons{game.Right, game.Left}
		for seq := uint32(1); ; seq++ {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			if c.Send(protocol.AppendBinaryInput(nil, seq, dirs[seq/2%2], 0)) != nil {
				return
			}
		}
	})
	return l
}

// close stops the reader (within its read deadline) and the walker.
func (l *stateLog) close() {
	close(l.stop)
	<-l.done
	l.input.Wait()
}

// between returns the snapshots received in [from, to) and how many
// distinct positions the player had in them.
func (l *stateLog) between(from, to time.Time) (n, places int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[int32]bool{}
	for i, at := range l.at {
		if !at.Before(from) && at.Before(to) {
			n++
			seen[l.xs[i]] = true
		}
	}
	return n, len(seen)
}

func (l *stateLog) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// checkSteady asserts that in every second from from to to (a window
// sliding by 100 ms; one window if the span is shorter) the client got at
// least 15 of the 20 ticks' states, and that the player moved.
func checkSteady(t *testing.T, what string, l *stateLog, from, to time.Time) {
	t.Helper()
	if err := l.failed(); err != nil {
		t.Fatalf("%s: the player's connection failed: %v", what, err)
	}
	worst, worstAt := 1<<30, time.Duration(0)
	for w := from; ; w = w.Add(100 * time.Millisecond) {
		n, places := l.between(w, w.Add(time.Second))
		if n < worst {
			worst, worstAt = n, w.Sub(from)
		}
		if n < 15 {
			t.Errorf("%s: %d states in the second from +%v; want ≥ 15 of 20", what, n, w.Sub(from))
		}
		if places < 2 {
			t.Errorf("%s: the player stood at one place the second from +%v: the game did not run", what, w.Sub(from))
		}
		if !w.Add(time.Second).Before(to) {
			break
		}
	}
	t.Logf("%s: %v long; fewest states in a second: %d (from +%v)", what, to.Sub(from).Round(time.Millisecond), worst, worstAt)
}

// waitUntil blocks until the client has received states up to at least t,
// so that every window checkSteady looks at has been lived through.
func (l *stateLog) waitUntil(tb testing.TB, t time.Time) {
	tb.Helper()
	deadline := time.Now().Add(time.Until(t) + 3*time.Second)
	for {
		l.mu.Lock()
		last := time.Time{}
		if len(l.at) > 0 {
			last = l.at[len(l.at)-1]
		}
		err := l.err
		l.mu.Unlock()
		if !last.Before(t) {
			return
		}
		if err != nil {
			tb.Fatalf("the player's connection failed: %v", err)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no state after %v: the last came at %v", t.Format(time.StampMilli), last.Format(time.StampMilli))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// watchSight samples, every 10 ms until the returned function is called,
// whether nd's directory sees node peer alive, and returns how long in
// all it did not: a heartbeat that expired while NATS was down.
func watchSight(nd *arenatest.Server, peer string) func() time.Duration {
	stop, done := make(chan struct{}), make(chan time.Duration)
	go func() {
		var blind time.Duration
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- blind
				return
			case <-t.C:
				if _, ok := nd.Cluster().Directory().NodeOf(peer); !ok {
					blind += 10 * time.Millisecond
				}
			}
		}
	}()
	return func() time.Duration { close(stop); return <-done }
}

// waitReconnected waits until every node's NATS connection is up again.
func waitReconnected(t *testing.T, nodes ...*arenatest.Server) {
	t.Helper()
	arenatest.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		for _, nd := range nodes {
			if st := nd.Cluster().Directory().Conn().Status(); st != nats.CONNECTED {
				return fmt.Errorf("node %s's NATS connection is %v", nd.Cluster().Directory().Node(), st)
			}
		}
		return nil
	})
}

// joinRetrying joins query on the node at base until a welcome comes,
// for at most total: right after NATS comes back, its JetStream may still
// be loading, and the room's claim fail.
func joinRetrying(t *testing.T, base, query string, total time.Duration) (*arenatest.NativeClient, int) {
	t.Helper()
	deadline := time.Now().Add(total)
	for tries := 1; ; tries++ {
		c, err := arenatest.DialNative(t, base, query, "")
		if err == nil && c.Msg.Type == protocol.BinWelcome {
			return c, tries
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("message %#x (%s %s)", c.Msg.Type, c.Msg.Code, c.Msg.Message)
			}
			t.Fatalf("%s?%s: no welcome within %v: %v", base, query, total, err)
		}
		if c != nil {
			c.Conn.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNATSRestartedMidGame: NATS itself restarts, at once and then after
// an outage longer than a heartbeat's TTL, while players play on both
// nodes. The games keep running at the tick rate meanwhile; afterwards
// the nodes are back in the cluster: a room created on b is in a's
// directory, a player asking a for it is sent to b, and neither node has
// taken over the other's running room.
func TestNATSRestartedMidGame(t *testing.T) {
	ns := natstest.Start(t)
	fast := func(c *server.Config) { c.CheckpointInterval = 300 * time.Millisecond }
	nodes := arenatest.StartCluster(t, ns, 2, fast)
	a, b := nodes[0], nodes[1]
	onA := dialNode(t, a.URL, "room=live&mode=tag", "")
	onB := dialNode(t, b.URL, "room=there&mode=tag", "")
	for _, c := range []*arenatest.NativeClient{onA, onB} {
		if c.Msg.Type != protocol.BinWelcome {
			t.Fatalf("first message %#x (%s %s); want a welcome", c.Msg.Type, c.Msg.Code, c.Msg.Message)
		}
	}
	// Both rooms have a checkpoint, as a dead node's rooms would, for
	// another node to restore if it took the owner for dead.
	arenatest.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		for _, r := range []string{"live", "there"} {
			if !a.Cluster().Directory().HasDoc(t.Context(), r) {
				return fmt.Errorf("no checkpoint of %s", r)
			}
		}
		return nil
	})
	logA, logB := logStates(onA), logStates(onB)
	defer logB.close()
	defer logA.close()
	// The first states of the log may be ones the socket held already.
	warm := time.Now().Add(500 * time.Millisecond)
	logA.waitUntil(t, warm.Add(time.Second))
	checkSteady(t, "a, before", logA, warm, warm.Add(time.Second))

	round := 0
	for _, outage := range []struct {
		what    string
		restart func() *natsserver.Server
	}{
		{"natstest.Restart", func() *natsserver.Server { return natstest.Restart(t, ns) }},
		{"3 s down (TTL 2 s)", func() *natsserver.Server { return natstest.RestartAfter(t, ns, 3*time.Second) }},
	} {
		round++
		start := time.Now()
		blind := watchSight(a, "b")
		ns = outage.restart()
		waitReconnected(t, a, b)
		end := time.Now()
		// A second past the reconnect: the watchers reload then, and the
		// heartbeats that expired while NATS was down come back.
		after := end.Add(time.Second)
		logA.waitUntil(t, after)
		logB.waitUntil(t, after)
		checkSteady(t, outage.what+", a", logA, start, after)
		checkSteady(t, outage.what+", b", logB, start, after)

		// The cluster works again: a room created on b is seen by a,
		// which sends its players there.
		name := fmt.Sprintf("new-%d", round)
		_, tries := joinRetrying(t, b.URL, "room="+name+"&mode=tag", 10*time.Second)
		created := time.Now()
		arenatest.Eventually(t, 5*time.Second, 10*time.Millisecond, func() error {
			if e, ok := a.Cluster().Directory().Lookup(name); !ok || e.Node != "b" {
				return fmt.Errorf("a's directory has %s at %+v (%v); want node b", name, e, ok)
			}
			return nil
		})
		t.Logf("%s: NATS back and nodes reconnected in %v; the room on b took %d join(s), and a saw it %v later; a lost sight of b for %v",
			outage.what, end.Sub(start).Round(time.Millisecond), tries, time.Since(created).Round(time.Millisecond), blind())
		c := dialNode(t, a.URL, "room="+name, "")
		if c.Msg.Type != protocol.BinRedirect || c.Msg.URL != b.URL+"/" || c.Msg.Room != name {
			t.Fatalf("%s: a player on a asking for %s got %#x (%q %q %s %s); want a redirect to %s/",
				outage.what, name, c.Msg.Type, c.Msg.URL, c.Msg.Room, c.Msg.Code, c.Msg.Message, b.URL)
		}
		c.Conn.Close()
	}

	// Both running rooms stayed where they were, through a Recover tick or
	// two after each outage: no node took the other for dead and restored
	// its room from the checkpoint beside it.
	for _, nd := range []struct {
		srv         *arenatest.Server
		mine, other string
	}{{a, "live", "there"}, {b, "there", "live"}} {
		mine, other := false, false
		for _, st := range nd.srv.Rooms() {
			mine = mine || st.Name == nd.mine
			other = other || st.Name == nd.other
		}
		if !mine || other {
			t.Errorf("node %s runs %+v; want %s and not %s", nd.srv.Cluster().Directory().Node(), nd.srv.Rooms(), nd.mine, nd.other)
		}
		if e, ok := a.Cluster().Directory().Lookup(nd.mine); !ok || e.Node != nd.srv.Cluster().Directory().Node() {
			t.Errorf("a's directory has %s at %+v (%v)", nd.mine, e, ok)
		}
	}
}
