package server_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// TestSpectatorWatchesWithoutPlaying: a spectator is welcomed as one (no
// player, no token), sees the player's entity and none of its own, hears
// the events sent to everyone, and its inputs and messages are answered
// with spectating errors on a connection that stays open and plays on.
func TestSpectatorWatchesWithoutPlaying(t *testing.T) {
	t.Parallel()
	srv := startHerald(t)
	player := dialNative(t, heraldURL(srv, "show"))
	w := dialNative(t, heraldURL(srv, "show")+"&spectate=1")
	if !w.welcome.Watching || w.welcome.Player != 0 || w.welcome.Token != "" || w.welcome.Room != "show" {
		t.Fatalf("spectator's welcome: %+v; want watching, no player, no token, room show", w.welcome)
	}
	if player.welcome.Watching {
		t.Fatalf("player's welcome says watching")
	}
	w.waitState("the player's entity, alone", func() bool {
		_, seen := w.find(player.welcome.Player)
		return seen && len(w.world) == 1
	})
	var heard bool
	for range 10 {
		if m := w.next(3 * time.Second); m.Type == protocol.BinEvent && m.Event == "tick" {
			heard = true
			break
		}
	}
	if !heard {
		t.Fatal("the spectator heard no event sent to everyone")
	}

	// Action would end herald's game: a spectator's is refused, and the
	// game goes on.
	w.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	w.send(protocol.AppendBinaryMessage(nil, 0, []byte(`"hi"`)))
	refusals := 0
	for deadline := time.Now().Add(3 * time.Second); refusals < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d spectating errors within 3s; want 2", refusals)
		}
		m := w.next(3 * time.Second)
		switch {
		case m.Type == protocol.BinError && m.Code == protocol.CodeSpectating:
			refusals++
		case m.Type == protocol.BinError:
			t.Fatalf("error %s %q; want %s", m.Code, m.Message, protocol.CodeSpectating)
		case m.Type == protocol.BinEvent && m.Event == "room_over":
			t.Fatal("a spectator's input ended the game")
		}
	}
	tick := w.tick
	w.waitState("snapshots after the refusals", func() bool { return w.tick > tick+2 })

	// The player's Action ends it, and the spectator hears how.
	player.send(protocol.AppendBinaryInput(nil, 1, game.Action, 0))
	for {
		if m := w.next(3 * time.Second); m.Type == protocol.BinEvent && m.Event == "room_over" {
			break
		}
	}
}

// TestSpectatorsHoldNoSeat: a room at its capacity, whose address is at
// its seat limit, still admits spectators, up to -max-spectators, past
// which they are refused as room_full with 1013; /api/rooms counts them
// apart from the players, and one that leaves is gone at once.
func TestSpectatorsHoldNoSeat(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Modes = append(c.Modes, duo)
		c.Room.MaxSpectators = 2
		c.Room.MaxSeatsPerAddr = 1
	}})
	dialNativeFrom(t, victimIP, srv.WSURL+"?mode=duo&room=pair")
	dialNativeFrom(t, attackerIP, srv.WSURL+"?mode=duo&room=pair")
	refusedWith(t, srv, "127.0.0.3", "?room=pair", protocol.CodeRoomFull, websocket.CloseTryAgainLater)

	first := dialNativeFrom(t, victimIP, srv.WSURL+"?room=pair&spectate=1")
	dialNativeFrom(t, victimIP, srv.WSURL+"?room=pair&spectate=true")
	if !first.welcome.Watching {
		t.Fatalf("welcome %+v; want watching", first.welcome)
	}
	_, refusal, code := tryNativeFrom(t, attackerIP, srv.WSURL+"?room=pair&spectate=1")
	if refusal == nil || refusal.Code != protocol.CodeRoomFull || code != websocket.CloseTryAgainLater || !strings.Contains(refusal.Message, "spectators") {
		t.Fatalf("a spectator past -max-spectators: %+v, close %d; want room_full about spectators, 1013", refusal, code)
	}
	refusalsCounted(t, srv, "max_spectators", 1)
	if info, ok := roomByName(t, srv, "pair"); !ok || info.Players != 2 || info.Spectators != 2 {
		t.Fatalf("/api/rooms: %+v; want 2 players and 2 spectators", info)
	}

	// A spectator that drops holds nothing: the next one gets in.
	first.conn.Close()
	waitFor(t, 3*time.Second, "the dropped spectator gone", func() bool {
		info, _ := roomByName(t, srv, "pair")
		return info.Spectators == 1
	})
	dialNativeFrom(t, attackerIP, srv.WSURL+"?room=pair&spectate=1")
}

// hiddenTeams shows each player its own team only, and spectators
// nothing: a Viewer that is no WatcherViewer.
type hiddenTeams struct{ *dots.Dots }

func (g hiddenTeams) View(id game.PlayerID) game.ViewKey { return game.ViewKey(id % 2) }

func (g hiddenTeams) AppendView(dst []game.Entity, key game.ViewKey) []game.Entity {
	for _, e := range g.AppendEntities(nil) {
		if game.ViewKey(e.ID%2) == key {
			dst = append(dst, e)
		}
	}
	return dst
}

// TestSpectateRefusals: spectating is refused where it cannot work: on
// the seed protocol, which has no welcome to say so; with a quick-join or
// a resume; in a mode whose views hide things from spectators; and with a
// value of spectate that means nothing.
func TestSpectateRefusals(t *testing.T) {
	t.Parallel()
	hidden := dots.Mode
	hidden.Name = "hidden"
	hidden.New = func(cfg game.Config) game.Game { return hiddenTeams{dots.New(cfg)} }
	srv := arenatest.Start(t, arenatest.Options{Config: withModes(hidden)})

	conn, _, err := websocket.DefaultDialer.Dial(srv.WSURL+"?room=a&spectate=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil || !strings.Contains(string(data), protocol.CodeBadRequest) {
		t.Fatalf("seed spectator: %s, %v; want bad_request", data, err)
	}
	_, _, err = conn.ReadMessage()
	if ce := (*websocket.CloseError)(nil); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("seed spectator closed with %v; want 1008", err)
	}

	refusedWith(t, srv, victimIP, "?mode=dots&spectate=1", protocol.CodeBadRequest, websocket.ClosePolicyViolation)
	refusedWith(t, srv, victimIP, "?room=a&spectate=1&resume=1", protocol.CodeBadRequest, websocket.ClosePolicyViolation)
	refusedWith(t, srv, victimIP, "?room=a&spectate=maybe", protocol.CodeBadRequest, websocket.ClosePolicyViolation)
	refusedWith(t, srv, victimIP, "?room=h&mode=hidden&spectate=1", protocol.CodeRefused, websocket.ClosePolicyViolation)
	// spectate=0 is a player.
	if c := dialNativeFrom(t, victimIP, srv.WSURL+"?room=a&spectate=0"); c.welcome.Watching || c.welcome.Player == 0 {
		t.Errorf("spectate=0: %+v; want a player", c.welcome)
	}
	// Without a room: the default room, never an overflow.
	if c := dialNativeFrom(t, victimIP, srv.WSURL+"?spectate=1"); !c.welcome.Watching || c.welcome.Room != "default" {
		t.Errorf("spectate without a room: %+v; want watching the default room", c.welcome)
	}
}
