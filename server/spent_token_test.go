package server_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// TestARestoreDoesNotReviveASpentToken: a player's token T1 is in its
// room's checkpoint; the player resumes with it and gets T2; its node
// dies before the next checkpoint. The node that restores the room from
// that checkpoint must refuse T1, which was spent, and resume the player
// with T2, which the player holds.
func TestARestoreDoesNotReviveASpentToken(t *testing.T) {
	ns := natstest.Start(t)
	cutOff := natstest.NewProxy(t, ns)
	// Checkpoints only when the test takes one.
	rarely := func(c *server.Config) { c.CheckpointInterval = time.Hour }
	a := arenatest.Start(t, arenatest.Options{NATS: ns, NATSURL: cutOff.URL(), Node: "a", Config: rarely})
	b := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "b", Config: rarely})
	arenatest.WaitForNodes(t, a, b)
	t.Cleanup(cutOff.Mend) // before a stops: it leaves as a node in touch

	p := dialNode(t, a.URL, "room=keep&mode=tag", "")
	if p.Msg.Type != protocol.BinWelcome {
		t.Fatalf("join on a: %#x %s %s; want a welcome", p.Msg.Type, p.Msg.Code, p.Msg.Message)
	}
	player, t1 := p.Welcome.Player, p.Welcome.Token

	// The room's checkpoint, taken now as a's Checkpoint would.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	doc, err := a.Manager().Export(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(doc, []byte(t1)) {
		t.Fatalf("the checkpoint holds the player's token:\n%s", doc)
	}
	if err := a.Cluster().Directory().SaveDoc(ctx, "keep", doc); err != nil {
		t.Fatal(err)
	}

	// The player resumes (a second connection takes over): T1 is spent.
	r := dialNode(t, a.URL, "room=keep", t1)
	if w := r.Msg.Welcome; r.Msg.Type != protocol.BinWelcome || !w.Resumed || w.Player != player {
		t.Fatalf("resume on a: %#x %+v; want player %d resumed", r.Msg.Type, w, player)
	}
	t2 := r.Welcome.Token
	if t2 == t1 {
		t.Fatal("the resume on a kept its token; want a new one")
	}

	// a dies to the cluster before its next checkpoint; b restores keep.
	cutOff.Cut()
	arenatest.Eventually(t, 15*time.Second, 50*time.Millisecond, func() error {
		for _, st := range b.Rooms() {
			if st.Name == "keep" {
				return nil
			}
		}
		return errors.New("b has not restored keep")
	})

	spent := dialNode(t, b.URL, "room=keep", t1)
	if spent.Msg.Type != protocol.BinNotice || spent.Msg.Code != "resume_failed" {
		t.Errorf("the spent token T1 on b: %#x %s, player %d resumed %v; want a resume_failed notice",
			spent.Msg.Type, spent.Msg.Code, spent.Msg.Welcome.Player, spent.Msg.Welcome.Resumed)
	}
	back := dialNode(t, b.URL, "room=keep", t2)
	if w := back.Msg.Welcome; back.Msg.Type != protocol.BinWelcome || !w.Resumed || w.Player != player {
		t.Fatalf("T2 on b: %#x %s, %+v; want player %d resumed", back.Msg.Type, back.Msg.Code, w, player)
	}
}
