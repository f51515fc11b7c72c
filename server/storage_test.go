package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/progress"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
)

// keeper is a mode whose games keep a count of each player's visits in its
// storage: loaded as the player joins (inv/visits), one more saved at
// once, server-only. Every join also saves, for each player with an
// account already seated, how many players it has seen: a save that a
// guest's join makes, to watch one fail with the store down.
type keeper struct {
	joined chan game.Player
	saved  chan game.SaveResult
}

func newKeeper() *keeper {
	return &keeper{joined: make(chan game.Player, 16), saved: make(chan game.SaveResult, 16)}
}

func (v *keeper) mode() game.Mode {
	return game.Mode{Name: "keeper", Loads: []string{"inv"}, New: func(cfg game.Config) game.Game {
		return &keeperGame{Dots: dots.New(cfg), v: v}
	}}
}

type keeperGame struct {
	*dots.Dots
	v        *keeper
	accounts []string
	pending  []game.Save
}

func (g *keeperGame) Join(p game.Player) error {
	g.v.joined <- p
	for _, a := range g.accounts {
		g.pending = append(g.pending, game.Save{Account: a, Collection: "seen", Key: "players", Value: json.RawMessage(`1`)})
	}
	if p.Account != "" {
		var inv struct{ Visits int }
		if v, ok := p.Storage["inv"]["visits"]; ok {
			_ = json.Unmarshal(v, &inv)
		}
		value, _ := json.Marshal(map[string]int{"visits": inv.Visits + 1})
		g.pending = append(g.pending, game.Save{Account: p.Account, Collection: "inv", Key: "visits", Value: value, ServerOnly: true})
		g.accounts = append(g.accounts, p.Account)
	}
	return g.Dots.Join(p)
}

func (g *keeperGame) Saves() []game.Save {
	s := g.pending
	g.pending = nil
	return s
}

func (g *keeperGame) Saved(r game.SaveResult) { g.v.saved <- r }

func (v *keeper) nextJoin(t *testing.T) game.Player {
	t.Helper()
	select {
	case p := <-v.joined:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no join reached the game")
	}
	return game.Player{}
}

func (v *keeper) nextSaved(t *testing.T) game.SaveResult {
	t.Helper()
	select {
	case r := <-v.saved:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no save's outcome reached the game")
	}
	return game.SaveResult{}
}

// TestStorageThroughTheServer: on each backend, a player who signs in
// joins with its storage loaded, the game's save is written after the
// tick and its outcome comes back to the game; with the store down, a new
// player is refused to try again, and a save's outcome is an error.
func TestStorageThroughTheServer(t *testing.T) {
	for _, b := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{store.SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
		{store.Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := store.Open(ctx, b.url(t))
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			acc, err := accounts.New(ctx, accounts.Config{DB: db, Log: log})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := progress.New(ctx, progress.Config{DB: db, Accounts: acc, Log: log})
			if err != nil {
				t.Fatal(err)
			}
			// Cleanups run last first: these after the server's Stop.
			t.Cleanup(func() {
				svc.Close()
				acc.Close()
				db.Close()
			})
			for _, id := range []string{"acct-ann", "acct-bob"} {
				if err := db.CreateAccount(ctx, store.Account{ID: id, Name: id, CreatedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.PutObject(ctx, store.Object{Account: "acct-ann", Collection: "inv", Key: "visits", Value: json.RawMessage(`{"visits":2}`),
				Read: store.ReadOwner, Write: store.WriteServer}, store.VersionAbsent, true, 0, time.Now()); err != nil {
				t.Fatal(err)
			}
			v := newKeeper()
			srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
				c.Modes = []game.Mode{v.mode(), dots.Mode}
				c.Accounts = newTestAccounts()
				c.Storage = svc
			}})

			// Ann signs in: her game has her visits, and saves one more.
			ann := signInJSON(t, srv, "room=v1&mode=keeper", "tok-ann", "")
			readJSONWelcome(t, ann)
			if p := v.nextJoin(t); p.Account != "acct-ann" || string(p.Storage["inv"]["visits"]) != `{"visits":2}` {
				t.Fatalf("Ann joined with %q, storage %v", p.Account, p.Storage)
			}
			res := v.nextSaved(t)
			if res.Err != nil || res.Version <= 0 || res.Key != "visits" {
				t.Fatalf("the save's outcome: %+v", res)
			}
			o, err := db.GetObject(ctx, "acct-ann", "inv", "visits")
			if err != nil || string(o.Value) != `{"visits":3}` || o.Version != res.Version || o.Write != store.WriteServer {
				t.Fatalf("stored after the save: %+v, %v; want visits 3 at version %d", o, err, res.Version)
			}

			// A guest joins with no storage: nothing to load.
			guest := dialProtocol(t, srv.WSURL+"?room=v1&mode=keeper", protocol.SubprotocolJSON)
			readJSONWelcome(t, guest)
			if p := v.nextJoin(t); p.Account != "" || p.Storage != nil {
				t.Fatalf("a guest joined with %q, storage %v", p.Account, p.Storage)
			}
			if res := v.nextSaved(t); res.Err != nil || res.Collection != "seen" {
				t.Fatalf("the guest's join's save: %+v", res)
			}

			// The store goes down: Bob, signing in, is told to try again
			// shortly; Ann plays on, and a save's outcome is an error.
			db.Close()
			bob := signInJSON(t, srv, "room=v1&mode=keeper", "tok-bob", "")
			code, msg, closed := refusal(t, bob)
			if code != protocol.CodeServerError || closed.Code != websocket.CloseTryAgainLater || !strings.Contains(msg, "storage") {
				t.Fatalf("Bob with the store down: %s %q, close %d", code, msg, closed.Code)
			}
			guest2 := dialProtocol(t, srv.WSURL+"?room=v1&mode=keeper", protocol.SubprotocolJSON)
			readJSONWelcome(t, guest2)
			v.nextJoin(t)
			if res := v.nextSaved(t); !errors.Is(res.Err, game.ErrStorageUnavailable) || res.Account != "acct-ann" {
				t.Fatalf("a save with the store down: %+v", res)
			}
			// Ann is still seated: her connection was never touched.
			_ = ann.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, _, err := ann.ReadMessage(); err != nil {
				t.Fatalf("Ann's connection after the store went down: %v", err)
			}
		})
	}
}
