package arena

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/arenatest"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
)

// node is an arena process of a test cluster.
type node struct {
	name string
	cmd  *exec.Cmd
	url  string // its page, as the cluster knows it
}

// startNode runs the stock binary as a node of the cluster on ns.
func startNode(t *testing.T, ns *natsserver.Server, name string, env ...string) *node {
	t.Helper()
	env = append(env, "ARENA_NATS="+ns.ClientURL(), "ARENA_NODE="+name, "ARENA_LOG_LEVEL=debug")
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
	if err := p.Send(protocol.AppendBinaryInput(nil, 1, game.Down, 0)); err != nil {
		t.Fatal(err)
	}
	y := p.Me().Y
	if err := p.WaitState(3*time.Second, func() bool { return p.Ack == 1 && p.Me().Y > y }); err != nil {
		t.Fatalf("no move: %v", err)
	}
	if err := p.Send(protocol.AppendBinaryInput(nil, 2, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitState(3*time.Second, func() bool { return p.Ack == 2 }); err != nil {
		t.Fatal(err)
	}
	stood := time.Now()
	for range 3 { // the last step is in view
		if _, err := p.Next(3 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	before := p.Me()
	waitCheckpoint(t, ns, "fort", stood)

	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
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
	if got := r.Me(); got.X != before.X || got.Y != before.Y || got.Fields != before.Fields {
		t.Errorf("restored: %+v; want it as it stood at the checkpoint, %+v", got, before)
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
