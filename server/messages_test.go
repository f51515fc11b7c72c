package server_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// scoreMode is dots that takes one message type, "score": a number that
// becomes the sender's score, refused by the game if negative.
var scoreMode = game.Mode{
	Name:     "score",
	Kinds:    tag.Kinds, // players with a colour and a score
	Messages: []game.MessageType{{Name: "score", MaxBytes: 8, Rate: 0.01, Burst: 3}},
	New: func(cfg game.Config) game.Game {
		return &scoreGame{Dots: dots.New(cfg), score: map[game.PlayerID]int32{}}
	},
}

type scoreGame struct {
	*dots.Dots
	score map[game.PlayerID]int32
}

func (g *scoreGame) Message(m game.Message) error {
	v, err := strconv.Atoi(string(m.Data))
	if err != nil || v < 0 {
		return errors.New("a score is a number from 0")
	}
	g.score[m.From] = int32(v)
	return nil
}

func (g *scoreGame) AppendEntities(dst []game.Entity) []game.Entity {
	n := len(dst)
	dst = g.Dots.AppendEntities(dst)
	for i := range dst[n:] {
		dst[n+i].Fields[tag.FieldScore] = g.score[game.PlayerID(dst[n+i].ID)]
	}
	return dst
}

// waitError reads until an error arrives, and returns it.
func (c *nativeClient) waitError(what string) *protocol.ServerMessage {
	c.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for m := c.next(3 * time.Second); m.Type != protocol.BinError; m = c.next(3 * time.Second) {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: no error within 3s", what)
		}
	}
	return &c.msg
}

func TestGameMessagesReachTheGameAndBadOnesAreRefused(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Modes = append(c.Modes, scoreMode) }})
	c := dialNative(t, srv.WSURL+"?room=m&mode=score")
	if got := c.welcome.Messages; len(got) != 1 || got[0].Name != "score" || got[0].MaxBytes != 8 {
		t.Fatalf("welcome lists messages %+v", got)
	}
	other := dialNative(t, srv.WSURL+"?room=m")

	c.send(protocol.AppendBinaryMessage(nil, 0, []byte("7")))
	c.waitState("score 7 from a message", func() bool { return c.me().Fields[tag.FieldScore] == 7 })

	for _, bad := range []struct {
		name, want string
		msg        []byte
	}{
		{"an undeclared type", "no message type", protocol.AppendBinaryMessage(nil, 1, []byte("1"))},
		{"data that is not JSON", "JSON", protocol.AppendBinaryMessage(nil, 0, []byte("{"))},
		{"data over MaxBytes", "at most 8 bytes", protocol.AppendBinaryMessage(nil, 0, []byte("123456789"))},
		{"a message the game refuses", "refused", protocol.AppendBinaryMessage(nil, 0, []byte("-1"))},
	} {
		c.send(bad.msg)
		m := c.waitError(bad.name)
		if m.Code != protocol.CodeBadMessage || !strings.Contains(m.Message, bad.want) {
			t.Errorf("%s: answered %s %q; want %s mentioning %q", bad.name, m.Code, m.Message, protocol.CodeBadMessage, bad.want)
		}
		if s := c.me().Fields[tag.FieldScore]; s != 7 {
			t.Fatalf("%s changed the score to %d", bad.name, s)
		}
	}
	// The burst is 3 and one is left after the refused one above used a
	// token; the fourth message past it is limited.
	c.send(protocol.AppendBinaryMessage(nil, 0, []byte("8")))
	c.send(protocol.AppendBinaryMessage(nil, 0, []byte("9")))
	if m := c.waitError("a message past the rate"); m.Code != protocol.CodeRateLimited {
		t.Errorf("a message past the rate answered %s %q; want %s", m.Code, m.Message, protocol.CodeRateLimited)
	}
	c.waitState("score 8, the last message within the rate", func() bool { return c.me().Fields[tag.FieldScore] == 8 })
	other.waitState("the other player, unaffected, seeing score 8", func() bool {
		e, ok := other.find(c.welcome.Player)
		return ok && e.Fields[tag.FieldScore] == 8
	})
}

func TestModesWithoutMessagesRefuseThem(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := dialNative(t, srv.WSURL+"?room=n")
	c.send(protocol.AppendBinaryMessage(nil, 0, []byte(`"hi"`)))
	if m := c.waitError("a message to dots"); m.Code != protocol.CodeBadMessage {
		t.Errorf("a message to dots answered %s; want %s", m.Code, protocol.CodeBadMessage)
	}
}
