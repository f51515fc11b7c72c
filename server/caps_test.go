package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// duo is dots for two: a mode with a cap.
var duo = func() game.Mode {
	m := dots.Mode
	m.Name, m.MaxPlayers = "duo", 2
	return m
}()

// picky is a game that refuses players by its own rules: a player named
// nobody, by rule, and any player past the first as full.
type picky struct {
	game.Game
	players int
}

func (p *picky) Join(pl game.Player) error {
	if pl.Name == "nobody" {
		return errors.New("nobody may not play here")
	}
	if p.players >= 1 {
		return fmt.Errorf("%w: one player at a time", game.ErrFull)
	}
	p.players++
	return p.Game.Join(pl)
}

var pickyMode = func() game.Mode {
	m := dots.Mode
	m.Name = "picky"
	m.New = func(cfg game.Config) game.Game { return &picky{Game: dots.New(cfg)} }
	return m
}()

func withModes(modes ...game.Mode) func(*server.Config) {
	return func(c *server.Config) { c.Modes = append(c.Modes, modes...) }
}

// TestAModesCapIsHonoured: a mode's MaxPlayers caps its rooms; quick-join
// and matchmaking open a new room rather than join a full one, a join of
// the full room by name is refused as room_full (1013, try later), and
// /api/modes lists every mode's cap.
func TestAModesCapIsHonoured(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: withModes(duo)})
	first := dialNativeFrom(t, victimIP, srv.WSURL+"?mode=duo")
	second := dialNativeFrom(t, victimIP, srv.WSURL+"?mode=duo")
	if first.welcome.Room != second.welcome.Room {
		t.Fatalf("two quick-joins of duo: rooms %q and %q; want one room", first.welcome.Room, second.welcome.Room)
	}
	full := first.welcome.Room
	if third := dialNativeFrom(t, victimIP, srv.WSURL+"?mode=duo"); third.welcome.Room == full {
		t.Errorf("a third quick-join went into the full room %q", full)
	}
	refusedWith(t, srv, victimIP, "?room="+full, protocol.CodeRoomFull, websocket.CloseTryAgainLater)
	var match struct{ Room string }
	if code := postJSON(t, srv.URL+"/api/matchmake", `{"mode":"duo"}`, &match); code != http.StatusOK || match.Room == full {
		t.Errorf("matchmake of duo: %d, room %q; want 200 and not the full %q", code, match.Room, full)
	}
	var modes struct{ Modes []server.ModeInfo }
	getJSON(t, srv.URL+"/api/modes", &modes)
	want := map[string]int{"dots": 1000, "tag": 50, "blasters": 16, "world": 1000, "duo": 2}
	for _, m := range modes.Modes {
		if m.MaxPlayers != want[m.Name] {
			t.Errorf("/api/modes: %s seats %d; want %d", m.Name, m.MaxPlayers, want[m.Name])
		}
	}
}

// TestAGamesRefusalSaysWhatToDo: a game's refusal reaches the player with
// the game's own text: full as room_full and 1013 (try later, or another
// room), a rule as refused and 1008 (final). Neither is a server error.
// It used to be server_error, "could not join a room", and 1011, which
// clients retry forever.
func TestAGamesRefusalSaysWhatToDo(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: withModes(pickyMode)})
	plays(t, dialNativeFrom(t, victimIP, srv.WSURL+"?room=p&mode=picky"))
	_, refusal, code := tryNativeFrom(t, victimIP, srv.WSURL+"?room=p&mode=picky")
	if refusal == nil || refusal.Code != protocol.CodeRoomFull || code != websocket.CloseTryAgainLater || refusal.Message != "game is full: one player at a time" {
		t.Errorf("a second player of a game for one: %+v, close %d; want room_full with the game's text, and 1013", refusal, code)
	}
	_, refusal, code = tryNativeFrom(t, victimIP, srv.WSURL+"?room=q&mode=picky&name=nobody")
	if refusal == nil || refusal.Code != protocol.CodeRefused || code != websocket.ClosePolicyViolation || refusal.Message != "nobody may not play here" {
		t.Errorf("a player the game's rules refuse: %+v, close %d; want refused with the game's text, and 1008", refusal, code)
	}
	if n := metric(t, srv, `arena_connections_refused_total{reason="internal"}`); n > 0 {
		t.Errorf("%v refusals counted as internal errors; want none", n)
	}
	// A quick-join passes the room whose game is full.
	if c := dialNativeFrom(t, victimIP, srv.WSURL+"?mode=picky"); c.welcome.Room == "p" {
		t.Error("a quick-join went to the room whose game said it was full")
	}
}

// TestACapHoldsAcrossTheCluster: a quick-join through another node does
// not send a player to a capped room that is full.
func TestACapHoldsAcrossTheCluster(t *testing.T) {
	nodes := arenatest.StartCluster(t, natstest.Start(t), 2, withModes(duo))
	a, b := nodes[0], nodes[1]
	joinFollowing(t, a.URL, "room=pair&mode=duo")
	joinFollowing(t, a.URL, "room=pair&mode=duo")
	arenatest.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		for _, r := range roomsOf(t, b) {
			if r.Name == "pair" && r.Players == 2 && r.Capacity == 2 {
				return nil
			}
		}
		return fmt.Errorf("b lists %+v; want pair with 2 players of 2", roomsOf(t, b))
	})
	if c, _ := joinFollowing(t, b.URL, "mode=duo"); c.Welcome.Room == "pair" {
		t.Error("a quick-join through b went into the full room pair")
	}
}

// postJSON posts body to url and decodes the answer into v.
func postJSON(t *testing.T, url, body string, v any) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}
