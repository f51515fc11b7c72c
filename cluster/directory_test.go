package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/room"
)

// testTTL is short so that expiry tests take seconds, yet long enough
// that heartbeats every TTL/3 survive a busy machine running -race.
const testTTL = 1500 * time.Millisecond

// open starts a node with its own connection, as separate processes have.
func open(t *testing.T, s *server.Server, name string) *Directory {
	t.Helper()
	return openWith(t, s, Config{Node: name})
}

func openWith(t *testing.T, s *server.Server, cfg Config) *Directory {
	t.Helper()
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg.URL = "ws://" + cfg.Node + ".test"
	cfg.TTL = testTTL
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	d, err := Open(ctx, js, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", cfg.Node, err)
	}
	t.Cleanup(d.Close)
	return d
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ownerIs(d *Directory, room, node string) func() bool {
	return func() bool {
		e, ok := d.Lookup(room)
		return ok && e.Node == node
	}
}

func hasNode(d *Directory, node string) bool {
	for _, n := range d.Nodes() {
		if n.Name == node {
			return true
		}
	}
	return false
}

// Of three nodes racing for the same room, exactly one wins each time, the
// others learn who, and every view agrees.
func TestClaimRaceHasOneOwner(t *testing.T) {
	s := natstest.Start(t)
	nodes := []*Directory{open(t, s, "a"), open(t, s, "b"), open(t, s, "c")}
	ctx := ctxT(t)
	for round := range 20 {
		room := fmt.Sprintf("race-%d", round)
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, d := range nodes {
			wg.Go(func() {
				_, errs[i] = d.Claim(ctx, RoomEntry{Name: room, Mode: "dots", Capacity: 8})
			})
		}
		wg.Wait()
		winner := ""
		for i, err := range errs {
			switch {
			case err == nil:
				if winner != "" {
					t.Fatalf("%s: both %s and %s own it", room, winner, nodes[i].Node())
				}
				winner = nodes[i].Node()
			case errors.Is(err, ErrOwned):
			default:
				t.Fatalf("%s: %s: %v", room, nodes[i].Node(), err)
			}
		}
		if winner == "" {
			t.Fatalf("%s: nobody owns it: %v", room, errs)
		}
		for i, err := range errs {
			if err == nil {
				continue
			}
			if o, ok := OwnerOf(err); !ok || o.Node != winner {
				t.Fatalf("%s: %s was told the owner is %+v, not %s", room, nodes[i].Node(), o, winner)
			}
		}
		for _, d := range nodes {
			eventually(t, 2*time.Second, d.Node()+" sees "+winner+" own "+room, ownerIs(d, room, winner))
		}
	}
}

// A claim on one node shows in another's view, and so do its updates and
// its release.
func TestWatchClaimUpdateRelease(t *testing.T) {
	s := natstest.Start(t)
	a, b := open(t, s, "a"), open(t, s, "b")
	ctx := ctxT(t)
	e, err := a.Claim(ctx, RoomEntry{Name: "lobby", Mode: "tag", Players: 1, Capacity: 4})
	if err != nil {
		t.Fatal(err)
	}
	if e.Node != "a" || e.Version == 0 {
		t.Fatalf("claimed %+v", e)
	}
	eventually(t, 2*time.Second, "b sees a's room", ownerIs(b, "lobby", "a"))
	if got, _ := b.Lookup("lobby"); got.Mode != "tag" || got.Capacity != 4 || got.Version != e.Version {
		t.Fatalf("b sees %+v, a wrote %+v", got, e)
	}

	e.Players = 3
	if _, err := a.Update(ctx, e); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "b sees the update", func() bool {
		got, _ := b.Lookup("lobby")
		return got.Players == 3
	})
	if _, err := b.Update(ctx, e); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("b updated a's room: %v", err)
	}
	if err := b.Release(ctx, "lobby"); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("b released a's room: %v", err)
	}

	if err := a.Release(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "b sees the release", func() bool {
		_, ok := b.Lookup("lobby")
		return !ok && len(b.Rooms()) == 0
	})
	// Released, the room is free for anyone.
	if _, err := b.Claim(ctx, RoomEntry{Name: "lobby", Mode: "tag", Capacity: 4}); err != nil {
		t.Fatal(err)
	}
}

// A node that stops without leaving (kill -9) drops out of the others'
// views within its TTL, with its rooms, and they can take its rooms over.
func TestDeadNodeExpiresAndIsTakenOver(t *testing.T) {
	s := natstest.Start(t)
	a, b, c := open(t, s, "a"), open(t, s, "b"), open(t, s, "c")
	ctx := ctxT(t)
	held, err := a.Claim(ctx, RoomEntry{Name: "arena", Mode: "dots", Players: 2, Capacity: 8})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "b sees a's room", ownerIs(b, "arena", "a"))
	if _, err := b.Claim(ctx, RoomEntry{Name: "arena"}); !errors.Is(err, ErrOwned) {
		t.Fatalf("b claimed a live node's room: %v", err)
	}

	a.Close()
	died := time.Now()
	eventually(t, testTTL+3*time.Second, "a leaves b's view", func() bool {
		_, ok := b.Lookup("arena")
		return !hasNode(b, "a") && !ok && len(b.Rooms()) == 0
	})
	t.Logf("a left b's view %v after it stopped", time.Since(died).Round(time.Millisecond))

	if _, err := b.Claim(ctx, RoomEntry{Name: "arena", Mode: "dots", Capacity: 8}); err != nil {
		t.Fatalf("takeover: %v", err)
	}
	for _, d := range []*Directory{b, c} {
		eventually(t, 2*time.Second, d.Node()+" sees b own the room", ownerIs(d, "arena", "b"))
	}
	if o, _ := OwnerOf(func() error { _, err := c.Claim(ctx, RoomEntry{Name: "arena"}); return err }()); o.Node != "b" {
		t.Fatalf("c was told the owner is %+v", o)
	}
	// The dead node's handle, were it still running, finds it lost the room.
	if _, err := a.Update(ctx, held); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("a updated a room b took over: %v", err)
	}
}

// Two nodes racing to take over a dead node's room end with one owner.
func TestTakeoverRaceHasOneOwner(t *testing.T) {
	s := natstest.Start(t)
	a, b, c := open(t, s, "a"), open(t, s, "b"), open(t, s, "c")
	ctx := ctxT(t)
	for i := range 5 {
		if _, err := a.Claim(ctx, RoomEntry{Name: fmt.Sprintf("r%d", i), Capacity: 2}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	eventually(t, testTTL+3*time.Second, "a expires", func() bool { return !hasNode(b, "a") && !hasNode(c, "a") })
	for i := range 5 {
		room := fmt.Sprintf("r%d", i)
		var errB, errC error
		var wg sync.WaitGroup
		wg.Go(func() { _, errB = b.Claim(ctx, RoomEntry{Name: room, Capacity: 2}) })
		wg.Go(func() { _, errC = c.Claim(ctx, RoomEntry{Name: room, Capacity: 2}) })
		wg.Wait()
		if (errB == nil) == (errC == nil) {
			t.Fatalf("%s: b: %v, c: %v", room, errB, errC)
		}
		loser := errB
		if loser == nil {
			loser = errC
		}
		if !errors.Is(loser, ErrOwned) {
			t.Fatalf("%s: loser got %v", room, loser)
		}
	}
}

// Rooms of a dead node that nobody takes over are deleted after ReapAfter,
// by one survivor or another; a room taken over meanwhile is kept.
func TestDeadNodesRoomsAreReaped(t *testing.T) {
	s := natstest.Start(t)
	a := open(t, s, "a")
	b := openWith(t, s, Config{Node: "b", ReapAfter: 200 * time.Millisecond})
	c := openWith(t, s, Config{Node: "c", ReapAfter: 200 * time.Millisecond})
	ctx := ctxT(t)
	for _, name := range []string{"r1", "r2", "r3"} {
		if _, err := a.Claim(ctx, RoomEntry{Name: name, Capacity: 2}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 2*time.Second, "b sees a's rooms", ownerIs(b, "r3", "a"))
	a.Close()
	eventually(t, testTTL+3*time.Second, "a expires", func() bool { return !hasNode(b, "a") })
	// Race the reapers: the room must survive as c's.
	if _, err := c.Claim(ctx, RoomEntry{Name: "r2", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "a's other rooms deleted from the bucket", func() bool {
		for _, name := range []string{"r1", "r3"} {
			if _, err := b.rooms.Get(ctx, name); !errors.Is(err, jetstream.ErrKeyNotFound) {
				return false
			}
		}
		return true
	})
	if e, err := b.rooms.Get(ctx, "r2"); err != nil {
		t.Fatalf("the room c took over was reaped: %v", err)
	} else if r, _ := decodeRoom(e); r.Node != "c" {
		t.Fatalf("r2 is %+v", r)
	}
	eventually(t, 2*time.Second, "b sees c own r2", ownerIs(b, "r2", "c"))
}

// Leave takes the node and its rooms out at once, without waiting out the
// TTL.
func TestLeave(t *testing.T) {
	s := natstest.Start(t)
	a, b := open(t, s, "a"), open(t, s, "b")
	ctx := ctxT(t)
	if _, err := a.Claim(ctx, RoomEntry{Name: "r", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "b sees a's room", ownerIs(b, "r", "a"))
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, testTTL/2, "a and its room gone from b", func() bool {
		_, ok := b.Lookup("r")
		return !ok && !hasNode(b, "a")
	})
	if _, err := b.rooms.Get(ctx, "r"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("a's room still in the bucket: %v", err)
	}
	// Pages loaded from a still connect to b.
	if !b.KnownOrigin("ws://a.test") || !b.KnownOrigin("WS://A.test") || b.KnownOrigin("ws://c.test") {
		t.Error("b forgot a's origin, or knows one it never saw")
	}
}

// A released room leaves nothing in the bucket once its marker's TTL is
// up, so rooms under names never used again do not pile up.
func TestReleaseLeavesNothingBehind(t *testing.T) {
	old := markerTTL
	markerTTL = time.Second
	t.Cleanup(func() { markerTTL = old })
	s := natstest.Start(t)
	a := open(t, s, "a")
	ctx := ctxT(t)
	if _, err := a.Claim(ctx, RoomEntry{Name: "brief", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "brief"); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 4*time.Second, "the rooms bucket is empty", func() bool {
		st, err := js.Stream(ctx, "KV_arena_rooms")
		return err == nil && st.CachedInfo().State.Msgs == 0
	})
	if _, err := a.Claim(ctx, RoomEntry{Name: "brief", Capacity: 2}); err != nil {
		t.Fatalf("claim after the marker is gone: %v", err)
	}
}

// A node that comes back under the same name after a crash forgets the
// rooms of its former life instead of reviving them in everyone's view.
func TestReopenForgetsFormerRooms(t *testing.T) {
	s := natstest.Start(t)
	a, b := open(t, s, "a"), open(t, s, "b")
	ctx := ctxT(t)
	if _, err := a.Claim(ctx, RoomEntry{Name: "old", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	open(t, s, "a")
	eventually(t, 2*time.Second, "b sees a but not its old room", func() bool {
		_, ok := b.Lookup("old")
		return hasNode(b, "a") && !ok
	})
	if _, err := b.rooms.Get(ctx, "old"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("a's old room still in the bucket: %v", err)
	}
}

// Restarting the NATS server, on the same port and store, interrupts the
// directory but does not break it: watchers and heartbeats carry on.
func TestNATSRestart(t *testing.T) {
	s := natstest.Start(t)
	a, b := open(t, s, "a"), open(t, s, "b")
	ctx := ctxT(t)
	if _, err := a.Claim(ctx, RoomEntry{Name: "before", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "b sees the first room", ownerIs(b, "before", "a"))

	natstest.Restart(t, s)
	restarted := time.Now()

	// Claims fail while the clients reconnect; then they work again.
	eventually(t, 5*time.Second, "a claims after the restart", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := a.Claim(ctx, RoomEntry{Name: "after", Capacity: 2})
		return err == nil
	})
	eventually(t, 3*time.Second, "b sees the new room", ownerIs(b, "after", "a"))
	eventually(t, 3*time.Second, "b sees a's heartbeats since the restart", func() bool {
		for _, n := range b.Nodes() {
			if n.Name == "a" && n.Updated.After(restarted) {
				return true
			}
		}
		return false
	})
	// Past a TTL, both are still alive: heartbeats kept up.
	time.Sleep(testTTL)
	for _, d := range []*Directory{a, b} {
		if !hasNode(a, d.Node()) || !hasNode(b, d.Node()) {
			t.Fatalf("%s dropped out after the restart: a sees %v, b sees %v", d.Node(), a.Nodes(), b.Nodes())
		}
	}
	if _, ok := b.Lookup("before"); !ok {
		t.Fatal("the room from before the restart is lost")
	}
}

func TestBadNames(t *testing.T) {
	s := natstest.Start(t)
	a := open(t, s, "a")
	ctx := ctxT(t)
	for _, name := range []string{"", " ", "a b", "a.*", ">", "*", ".x", "x.", "x..y", "ü", "a\nb"} {
		if _, err := a.Claim(ctx, RoomEntry{Name: name}); !errors.Is(err, ErrBadName) {
			t.Errorf("Claim(%q): %v", name, err)
		}
		if _, err := a.Update(ctx, RoomEntry{Name: name}); !errors.Is(err, ErrBadName) {
			t.Errorf("Update(%q): %v", name, err)
		}
		if err := a.Release(ctx, name); !errors.Is(err, ErrBadName) {
			t.Errorf("Release(%q): %v", name, err)
		}
		if _, ok := a.Lookup(name); ok {
			t.Errorf("Lookup(%q) found something", name)
		}
	}
	for _, name := range []string{"room-1", "Room_2", "a.b", "x=y"} {
		if _, err := a.Claim(ctx, RoomEntry{Name: name}); err != nil {
			t.Errorf("Claim(%q): %v", name, err)
		}
	}
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, js, Config{Node: "no good"}); !errors.Is(err, ErrBadName) {
		t.Errorf("Open with a bad node name: %v", err)
	}
}

// Close and the connection's Close end every goroutine the node started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	s := natstest.Start(t)
	// The first node makes the server start its streams' goroutines.
	open(t, s, "first").Close()
	before := goleak.IgnoreCurrent()
	nc, err := nats.Connect(s.ClientURL(), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctxT(t), js, Config{Node: "a", TTL: testTTL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Claim(ctxT(t), RoomEntry{Name: "r", Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	nc.Close()
	// The server drops the watchers' consumers on its own time.
	goleak.VerifyNone(t, before,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*consumer).processInboundAcks"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*consumer).loopAndGatherMsgs"),
	)
}

// TestReopenKeepsFormerRoomsWithACheckpoint: a node restarted under its
// name before its heartbeat expired (systemd, a container restart) finds
// the rooms it left checkpoints of, and its claim of one restores it.
func TestReopenKeepsFormerRoomsWithACheckpoint(t *testing.T) {
	s := natstest.Start(t)
	a := open(t, s, "a")
	ctx := ctxT(t)
	for _, name := range []string{"fort", "bare"} {
		if _, err := a.Claim(ctx, RoomEntry{Name: name, Capacity: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SaveDoc(ctx, "fort", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	a.Close() // a crash: the heartbeat and the entries stay
	a = open(t, s, "a")
	if f := a.Former(); len(f) != 1 || f[0].Name != "fort" {
		t.Fatalf("former rooms after a restart: %+v; want fort, which has a checkpoint", f)
	}
	if _, err := a.rooms.Get(ctx, "bare"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("a room with no checkpoint is still in the bucket: %v", err)
	}
	e, err := a.Claim(ctx, RoomEntry{Name: "fort", Capacity: 2})
	if err != nil || e.From != "a" {
		t.Fatalf("claiming fort again: from %q, %v; want from a, to restore it", e.From, err)
	}
	if f := a.Former(); len(f) != 0 {
		t.Errorf("former rooms once claimed: %+v; want none", f)
	}
}

// TestALiveNodesNameIsRefused: a second node under a live node's name (two
// nodes on one host, both named after it) is refused; one under the name
// of a node that died, somewhere else, joins once it sees no beat.
func TestALiveNodesNameIsRefused(t *testing.T) {
	s := natstest.Start(t)
	open(t, s, "a")
	js, err := jetstream.New(natstest.Connect(t, s))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Node: "a", URL: "ws://elsewhere.test", TTL: testTTL}
	d, err := Open(ctxT(t), js, cfg)
	if !errors.Is(err, ErrNameTaken) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("a second live node called a: %v; want ErrNameTaken", err)
	}
	b := open(t, s, "b")
	b.Close() // dead, its heartbeat not yet expired
	cfg.Node = "b"
	d, err = Open(ctxT(t), js, cfg)
	if err != nil {
		t.Fatalf("a node under a dead node's name: %v", err)
	}
	d.Close()
}

// TestOpenRefusesAConnectionThatBuffersWrites: a claim made while NATS is
// away would be written when it comes back, long after it timed out, and
// list a room nobody runs; the directory takes no connection that does so.
func TestOpenRefusesAConnectionThatBuffersWrites(t *testing.T) {
	s := natstest.Start(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Open(ctxT(t), js, Config{Node: "a"}); err == nil {
		d.Close()
		t.Fatal("Open took a connection with a reconnect buffer")
	}
}

// TestSyncForgetsEntriesOfRoomsThatDoNotRunHere: an entry under a node's
// name for a room it does not run (a claim that reached NATS after it had
// timed out) is deleted by the node's Sync, and matchmaking stops seeing
// it; the node's own rooms, and a room claimed a moment before it starts,
// stay.
func TestSyncForgetsEntriesOfRoomsThatDoNotRunHere(t *testing.T) {
	s := natstest.Start(t)
	a := open(t, s, "a")
	ctx := ctxT(t)
	for _, name := range []string{"real", "ghost"} {
		if _, err := a.Claim(ctx, RoomEntry{Name: name, Mode: "dots", Players: 3, Capacity: 10}); err != nil {
			t.Fatal(err)
		}
	}
	// Else "the ghost gone" holds before a's view has the rooms, or a.
	eventually(t, 3*time.Second, "a sees both rooms", func() bool { return len(a.Rooms()) == 2 })
	n := NewNode(a, slog.New(slog.DiscardHandler))
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Sync(sctx, 50*time.Millisecond, func() []room.Stats {
			return []room.Stats{{Name: "real", Mode: "dots", Players: 3, Capacity: 10}}
		}, func(int) bool { return false }, func(string, *room.ElsewhereError) {})
	}()
	defer func() { cancel(); <-done }()
	// The bucket, not the view: a view on a loaded machine may also lose
	// the node for a late heartbeat, and every room with it.
	eventually(t, 5*time.Second, "the ghost gone from the bucket", func() bool {
		_, err := a.rooms.Get(ctx, "ghost")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	if _, err := a.rooms.Get(ctx, "real"); err != nil {
		t.Errorf("the room that runs was forgotten too: %v", err)
	}
}

// TestHeartbeatsCarryTheLoad: what SetLoad and SetDraining say reaches
// every node's view at the next heartbeat, which matchmaking goes by.
func TestHeartbeatsCarryTheLoad(t *testing.T) {
	s := natstest.Start(t)
	a, b := open(t, s, "a"), open(t, s, "b")
	a.SetLoad(1, 0, true)
	b.SetLoad(2, 10, false)
	b.SetDraining(true)
	eventually(t, 3*time.Second, "a and b see each other's load", func() bool {
		na, _ := b.NodeOf("a")
		nb, _ := a.NodeOf("b")
		return na.Full && na.Rooms == 1 && !na.Draining &&
			nb.Draining && !nb.Full && nb.Rooms == 2 && nb.Players == 10 && nb.URL == "ws://b.test"
	})
}
