package arena

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// firstMove is dots that ends on the first tick a player moves, and
// records the players it is given.
type firstMove struct {
	*dots.Dots
	joined chan<- game.Player
	over   bool
}

func (g *firstMove) Join(p game.Player) error {
	g.joined <- p
	return g.Dots.Join(p)
}

func (g *firstMove) Step(in []game.Input) {
	g.over = g.over || len(in) > 0
	g.Dots.Step(in)
}

func (g *firstMove) Over() (game.Result, bool) { return game.Result{Summary: "moved"}, g.over }

// TestConfigGivesTheHooksToTheServer: arena.New with a Config runs the
// whole server, flags and all, with its hooks: the join hook refuses a
// client without a ticket and names one with, and the game and the result
// hook see who played.
func TestConfigGivesTheHooksToTheServer(t *testing.T) {
	joined := make(chan game.Player, 10)
	mode := game.Mode{Name: "first", New: func(cfg game.Config) game.Game {
		return &firstMove{Dots: dots.New(cfg), joined: joined}
	}}
	results := make(chan ResultInfo, 10)
	var mu sync.Mutex
	var seen []JoinInfo
	app := New(Config{
		Modes: []game.Mode{mode},
		OnJoin: func(ctx context.Context, r *http.Request, join JoinInfo) (Identity, error) {
			mu.Lock()
			seen = append(seen, join)
			mu.Unlock()
			if r.Header.Get("X-Ticket") != "ok" {
				return Identity{}, errors.New("no ticket, no game")
			}
			return Identity{Account: "acct-7", Name: "Seven"}, nil
		},
		OnResult: func(ctx context.Context, res ResultInfo) { results <- res },
	})
	addr := startApp(t, []string{"-tick-rate", "50"}, app.Run)
	url := "ws://" + addr + "/?room=r1&name=Eve"

	c := arenatest.Dial(t, url, nil)
	if m, err := c.Read(3 * time.Second); err != nil || m.Type != "error" || m.Code != "unauthorized" || m.Message != "no ticket, no game" {
		t.Fatalf("without a ticket: %+v, %v; want error unauthorized", m, err)
	}
	if ce := c.WaitClose(3 * time.Second); ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("without a ticket: closed %d %q; want 1008", ce.Code, ce.Text)
	}

	c = arenatest.Dial(t, url, http.Header{"X-Ticket": {"ok"}})
	c.Init()
	select {
	case p := <-joined:
		if p.Account != "acct-7" || p.Name != "Seven" {
			t.Errorf("the game was given %+v; want account acct-7, name Seven", p)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the game was given nobody")
	}
	c.Move("RIGHT")
	select {
	case res := <-results:
		if res.Room != "r1" || res.Mode != "first" || res.Game != 1 || len(res.Players) != 1 ||
			res.Players[0].Account != "acct-7" || res.Players[0].Name != "Seven" {
			t.Errorf("the result hook was given %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no result within 5s")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0].Room != "r1" || seen[0].Name != "Eve" || seen[0].Addr != "127.0.0.1" {
		t.Errorf("the join hook saw %+v; want two joins of r1 by Eve from 127.0.0.1", seen)
	}
}
