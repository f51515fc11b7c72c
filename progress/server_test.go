package progress

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/rating"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
)

// firstMove is dots that ends on the first tick a player moves: the mover
// wins (score 1), the others share second place (score 0).
type firstMove struct {
	*dots.Dots
	players []game.Player
	winner  game.PlayerID
}

func (g *firstMove) Join(p game.Player) error {
	g.players = append(g.players, p)
	return g.Dots.Join(p)
}

func (g *firstMove) Step(in []game.Input) {
	for _, i := range in {
		if g.winner == 0 && i.Buttons != 0 {
			g.winner = i.Player
		}
	}
	g.Dots.Step(in)
}

func (g *firstMove) Over() (game.Result, bool) {
	if g.winner == 0 {
		return game.Result{}, false
	}
	res := game.Result{Summary: "first to move"}
	for _, p := range g.players {
		s := game.Standing{Player: p.ID, Name: p.Name, Stats: map[string]int64{"moves": 0}}
		if p.ID == g.winner {
			s.Score, s.Stats["moves"] = 1, 1
			res.Standings = append([]game.Standing{s}, res.Standings...)
			continue
		}
		res.Standings = append(res.Standings, s)
	}
	return res, true
}

// TestResultThroughAServer plays a game on a real server whose OnResult is
// the Service's Result, its players vouched for by a join hook: the match,
// its places and the ratings are written within the deadline of room_over.
func TestResultThroughAServer(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "Ann", "Bob")
		s := newService(t, db)
		mode := game.Mode{Name: "first", New: func(cfg game.Config) game.Game { return &firstMove{Dots: dots.New(cfg)} }}
		srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
			c.Modes = []game.Mode{mode}
			c.Room.TickRate = 50
			// The hook vouches for each player as the account of its
			// name: what a program's own sign-in would say.
			c.OnJoin = func(_ context.Context, _ *http.Request, j server.JoinInfo) (server.Identity, error) {
				return server.Identity{Account: j.Name}, nil
			}
			c.OnResult = func(_ context.Context, rep server.ResultInfo) { s.Result(rep) }
			c.ResultQueue = 16
		}})
		ann := arenatest.Dial(t, srv.WSURL+"?room=r1&mode=first&name=Ann", nil)
		ann.Init()
		bob := arenatest.Dial(t, srv.WSURL+"?room=r1&mode=first&name=Bob", nil)
		bob.Init()
		ann.Move("RIGHT")
		// room_over, or the close that follows it.
		for {
			m, err := ann.Read(within)
			if err != nil || m.Raw["event"] == "room_over" {
				break
			}
		}
		over := time.Now()
		var key string
		waitFor(t, "a match in the history", func() bool {
			ms, _, err := db.MatchesOf(context.Background(), "Ann", store.MatchCursor{}, 1)
			if err == nil && len(ms) == 1 {
				key = ms[0].Key
			}
			return key != ""
		})
		t.Logf("written %v after room_over", time.Since(over).Round(time.Millisecond))
		m, err := db.Match(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		if m.Started.IsZero() || !m.Started.Before(m.Ended) || m.Ended.After(time.Now()) {
			t.Fatalf("started %v, ended %v", m.Started, m.Ended)
		}
		if m.Mode != "first" || m.Room != "r1" || m.Game != 1 || len(m.Players) != 2 ||
			m.Players[0].Account != "Ann" || m.Players[0].Standing != 1 || m.Players[0].Stats["moves"] != 1 ||
			m.Players[1].Account != "Bob" || m.Players[1].Standing != 2 {
			t.Fatalf("match %+v", m)
		}
		d := rating.Default()
		want := rating.Rate([][]rating.Rating{{d}, {d}}, []int{1, 2})
		if r := ratingOf(t, db, "first", "Ann"); !near(r, want[0][0]) || r.Games != 1 {
			t.Fatalf("Ann's rating %+v, want %+v", r, want[0][0])
		}
	})
}
