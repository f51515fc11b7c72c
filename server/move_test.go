package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/protocol"
)

// TestRoomMovesToAnotherServer: a room of tag is exported from server a
// while two native clients play in it and imported into server b; the
// mover's client reconnects to b with its token and is the same player
// there, where it was, with its score, and the room goes on from the same
// tick exactly as the original does.
func TestRoomMovesToAnotherServer(t *testing.T) {
	t.Parallel()
	srvA := arenatest.Start(t, arenatest.Options{})
	srvB := arenatest.Start(t, arenatest.Options{})
	watcher := dialNative(t, srvA.WSURL+"?room=mv&mode=tag") // first in: it
	mover := dialNative(t, srvA.WSURL+"?room=mv&mode=tag")   // scores while not it
	mover.waitState("own entity", func() bool { return mover.me().ID != 0 })
	dir := game.Right
	if mover.me().X > 250 {
		dir = game.Left
	}
	start := mover.me()
	mover.send(protocol.AppendBinaryInput(nil, 1, dir, 0))
	mover.waitState("ack 1", func() bool { return mover.ack == 1 })
	mover.send(protocol.AppendBinaryInput(nil, 2, 0, 0))
	mover.waitState("a point scored", func() bool { return mover.ack == 2 && mover.me().Fields[tag.FieldScore] > 0 })
	if mover.me().X == start.X {
		t.Fatalf("the mover did not move from %+v", start)
	}

	doc, err := srvA.Manager().Export(context.Background(), "mv")
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if _, err := srvB.Manager().Import(doc); err != nil {
		t.Fatalf("import into b: %v", err)
	}
	_ = mover.conn.NetConn().Close() // the client goes to b

	conn := dialProtocol(t, srvB.WSURL+"?room=mv&resume=1", protocol.SubprotocolBinary)
	if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryResume(nil, mover.welcome.Token)); err != nil {
		t.Fatal(err)
	}
	moved := &nativeClient{t: t, conn: conn}
	if m := moved.next(3 * time.Second); m.Type != protocol.BinWelcome || !m.Welcome.Resumed || m.Welcome.Player != mover.welcome.Player {
		t.Fatalf("resume on b: %#x %+v; want player %d resumed", m.Type, m.Welcome, mover.welcome.Player)
	}
	moved.welcome = moved.msg.Welcome
	moved.waitState("a snapshot on b", func() bool { return moved.me().ID != 0 })
	onB := moved.me()

	// Nobody has moved since: the original, still running on a, shows the
	// mover at that same tick as b does, score and all.
	watcher.waitState("the same tick on a", func() bool { return watcher.tick >= moved.tick })
	if watcher.tick != moved.tick {
		t.Fatalf("a skipped from before tick %d to %d", moved.tick, watcher.tick)
	}
	onA, _ := watcher.find(mover.welcome.Player)
	if onB.X != onA.X || onB.Y != onA.Y || onB.Fields != onA.Fields || onB.Fields[tag.FieldScore] == 0 {
		t.Errorf("at tick %d the mover is %+v on b and %+v on a; want the same place and score", moved.tick, onB, onA)
	}
	if onB.Away {
		t.Errorf("resumed on b but shown away: %+v", onB)
	}
}
