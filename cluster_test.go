package arena

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/protocol"
)

// node is an arena process of a test cluster.
type node struct {
	name string
	cmd  *exec.Cmd
	url  string // its page, as the cluster knows it
}

// clusterDBs is the PostgreSQL database of each test cluster, by its NATS
// server: the nodes of a cluster share one.
var clusterDBs sync.Map

// sharedDB returns the database the nodes of the cluster on ns share.
func sharedDB(t *testing.T, ns *natsserver.Server) string {
	t.Helper()
	if u, ok := clusterDBs.Load(ns); ok {
		return u.(string)
	}
	u := pgtest.DB(t)
	clusterDBs.Store(ns, u)
	return u
}

// startNode runs the stock binary as a node of the cluster on ns.
func startNode(t *testing.T, ns *natsserver.Server, name string, env ...string) *node {
	t.Helper()
	env = append(env, "ARENA_NATS="+ns.ClientURL(), "ARENA_NODE="+name, "ARENA_LOG_LEVEL=debug", "ARENA_DB="+sharedDB(t, ns))
	cmd, addr := arenatest.StartMain(t, env, "-host", "127.0.0.1", "-port", "0")
	return &node{name: name, cmd: cmd, url: "http://" + addr + "/"}
}

// TestAKilledNodesRoomsComeBackAndItsPlayersResume: a node killed with
// SIGKILL leaves its rooms to the others, which restore them from their
// last checkpoint; its players, coming back through another node, resume
// into the restored state with their ids and positions.
func TestAKilledNodesRoomsComeBackAndItsPlayersResume(t *testing.T) {
	ns := natstest.Start(t)
	a := startNode(t, ns, "a", "ARENA_CHECKPOINT_INTERVAL=300ms")
	b := startNode(t, ns, "b", "ARENA_CHECKPOINT_INTERVAL=300ms")

	p, err := arenatest.DialNative(t, a.url, "room=fort&mode=tag", "")
	if err != nil || p.Msg.Type != protocol.BinWelcome {
		t.Fatalf("join on a: %v, message %#x", err, p.Msg.Type)
	}
	if err := p.WaitState(3*time.Second, func() bool { return p.Me().ID != 0 }); err != nil {
		t.Fatal(err)
	}
	// The player walks, towards the farther wall, until a dies: what it
	// walked since the last checkpoint is what the crash loses.
	dir, sign := game.Right, int32(1)
	if p.Me().X > int32(p.Welcome.World.Width)/2 {
		dir, sign = game.Left, -1
	}
	if err := p.Send(protocol.AppendBinaryInput(nil, 1, dir, 0)); err != nil {
		t.Fatal(err)
	}
	var step int32 // how far it goes in a tick
	for step == 0 {
		x, tick := p.Me().X, p.Tick
		// Any later tick: a loaded machine's client may be sent the
		// newest state only, skipping some (the outbox's latest wins).
		if err := p.WaitState(3*time.Second, func() bool { return p.Ack == 1 && p.Tick > tick }); err != nil {
			t.Fatalf("no walk: %v", err)
		}
		step = (p.Me().X - x) * sign / int32(p.Tick-tick)
	}
	waitCheckpoint(t, ns, "fort", time.Now())
	// The crash comes at a moment of its own, anywhere in the interval to
	// the next checkpoint.
	time.Sleep(rand.N(300 * time.Millisecond))

	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// The last state a sent, read to the end of what its socket holds.
	for {
		if _, err := p.Next(3 * time.Second); err != nil {
			break
		}
	}
	before := p.Me()
	// The player comes back through b, as a client whose node is gone
	// goes back to the address it started from. Until a's heartbeat
	// expires, b still sends it to a, which is dead: it tries again.
	var r *arenatest.NativeClient
	arenatest.Eventually(t, 15*time.Second, 200*time.Millisecond, func() error {
		c, err := arenatest.DialNative(t, b.url, "room=fort", p.Welcome.Token)
		if err != nil {
			return err
		}
		if c.Msg.Type == protocol.BinRedirect && c.Msg.URL != a.url {
			// Restored elsewhere than where we asked: follow.
			to := c.Msg.URL
			if c, err = arenatest.DialNative(t, to, "room=fort", p.Welcome.Token); err != nil {
				return err
			}
		}
		if c.Msg.Type != protocol.BinWelcome {
			return fmt.Errorf("message %#x %s %s %s", c.Msg.Type, c.Msg.Code, c.Msg.Message, c.Msg.URL)
		}
		r = c
		return nil
	})
	t.Logf("a's room was back, and its player in it, %v after the kill", time.Since(killed))
	if w := r.Welcome; !w.Resumed || w.Player != p.Welcome.Player || w.Room != "fort" {
		t.Fatalf("after the kill: welcome %+v; want player %d resumed in fort", w, p.Welcome.Player)
	}
	if err := r.WaitState(3*time.Second, func() bool { return len(r.World) > 0 }); err != nil {
		t.Fatal(err)
	}
	// It is back where a checkpoint saw it: on its path, at most an
	// interval (6 ticks) and the tick in flight behind where it last was.
	got := r.Me()
	lost := (before.X - got.X) * sign / step
	t.Logf("the crash lost %d ticks of the player's walk (%d px a tick; checkpoints every 6 ticks)", lost, step)
	if got.Y != before.Y || (before.X-got.X)*sign%step != 0 || lost < 0 || lost > 7 {
		t.Errorf("restored at %d,%d; want on its path behind %d,%d by at most 7 steps of %d", got.X, got.Y, before.X, before.Y, step)
	}
}

// waitCheckpoint waits until the room has a checkpoint stored after since.
func waitCheckpoint(t *testing.T, ns *natsserver.Server, room string, since time.Time) {
	t.Helper()
	js, err := jetstream.New(natstest.Connect(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	arenatest.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		docs, err := js.ObjectStore(ctx, "arena_room_docs")
		if err != nil {
			return err
		}
		info, err := docs.GetInfo(ctx, room)
		if err != nil {
			return err
		}
		if !info.ModTime.After(since) {
			return fmt.Errorf("the last checkpoint is of %v, before %v", info.ModTime, since)
		}
		return nil
	})
}

// freePort returns a loopback port nothing listens on now, for a node that
// must come back on the port it had.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestANodeRestartedAtOnceAfterAKillBringsItsRoomsBack: a node killed with
// SIGKILL and restarted under its name within the heartbeat TTL (systemd's
// RestartSec=2, a container restart) restores its rooms from their
// checkpoints, and its players resume as themselves. It used to purge
// them, and nobody restored them: the others took the node for alive.
func TestANodeRestartedAtOnceAfterAKillBringsItsRoomsBack(t *testing.T) {
	ns := natstest.Start(t)
	port := freePort(t)
	env := []string{"ARENA_NATS=" + ns.ClientURL(), "ARENA_NODE=a", "ARENA_CHECKPOINT_INTERVAL=300ms", "ARENA_DB=" + sharedDB(t, ns)}
	a, addr := arenatest.StartMain(t, env, "-host", "127.0.0.1", "-port", port)
	startNode(t, ns, "b")
	url := "http://" + addr + "/"
	p, err := arenatest.DialNative(t, url, "room=fort&mode=tag", "")
	if err != nil || p.Msg.Type != protocol.BinWelcome {
		t.Fatalf("join on a: %v, message %#x", err, p.Msg.Type)
	}
	waitCheckpoint(t, ns, "fort", time.Now())
	if err := a.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	restarted := time.Now()
	arenatest.StartMain(t, env, "-host", "127.0.0.1", "-port", port)
	r, err := arenatest.DialNative(t, url, "room=fort", p.Welcome.Token)
	if err != nil {
		t.Fatal(err)
	}
	if r.Msg.Type != protocol.BinWelcome {
		t.Fatalf("after the restart: message %#x %s %s; want a welcome", r.Msg.Type, r.Msg.Code, r.Msg.Message)
	}
	if w := r.Welcome; !w.Resumed || w.Player != p.Welcome.Player {
		t.Fatalf("after the restart: welcome %+v; want player %d resumed", w, p.Welcome.Player)
	}
	t.Logf("the player resumed %v after a's restart", time.Since(restarted))
}

// TestTwoNodesOnOneHostNeedNoNames: two nodes started on one machine with
// no -node each get a name of their own (the host's and the port), and
// each sees the other's rooms. Sharing the host name, the second used to
// take the first's rooms for its own former life's and forget them.
func TestTwoNodesOnOneHostNeedNoNames(t *testing.T) {
	ns := natstest.Start(t)
	env := []string{"ARENA_NATS=" + ns.ClientURL(), "ARENA_DB=" + sharedDB(t, ns)}
	_, addrA := arenatest.StartMain(t, env, "-host", "127.0.0.1", "-port", "0")
	_, addrB := arenatest.StartMain(t, env, "-host", "127.0.0.1", "-port", "0")
	p, err := arenatest.DialNative(t, "http://"+addrA+"/", "room=here&mode=tag", "")
	if err != nil || p.Msg.Type != protocol.BinWelcome {
		t.Fatalf("join on a: %v, message %#x", err, p.Msg.Type)
	}
	arenatest.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		resp, err := http.Get("http://" + addrB + "/api/rooms")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var page struct {
			Rooms []struct {
				Name, Node string
				Players    int
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			return err
		}
		for _, r := range page.Rooms {
			if r.Name == "here" && r.Players == 1 {
				if !strings.HasSuffix(r.Node, "-"+addrA[strings.LastIndex(addrA, ":")+1:]) {
					return fmt.Errorf("room on node %q; want a name ending in a's port", r.Node)
				}
				return nil
			}
		}
		return fmt.Errorf("b lists %+v; want a's room with its player", page.Rooms)
	})
}
