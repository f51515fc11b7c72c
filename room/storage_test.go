package room

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
)

// saveGame counts each player's visits in its storage: it reads
// inv/visits as a player joins and saves it plus one at once. It reports
// joins, steps and outcomes on its channels, and ends (game.Ender) once
// an outcome has come back, if its mode rematches.
type saveGame struct {
	events  chan<- string
	joined  chan<- game.Player
	saved   chan<- game.SaveResult
	pending []game.Save
	over    bool
}

func (g *saveGame) Join(p game.Player) error {
	g.joined <- p
	visits := 0
	if v, ok := p.Storage["inv"]["visits"]; ok {
		visits, _ = strconv.Atoi(string(v))
	}
	if p.Account != "" {
		g.pending = append(g.pending, game.Save{Account: p.Account, Collection: "inv", Key: "visits", Value: json.RawMessage(strconv.Itoa(visits + 1))})
	}
	return nil
}
func (g *saveGame) Leave(game.PlayerID) {}
func (g *saveGame) Step([]game.Input)   { g.events <- "step" }
func (g *saveGame) AppendEntities(dst []game.Entity) []game.Entity {
	return dst
}
func (g *saveGame) World() game.World { return game.World{Width: 1, Height: 1} }

func (g *saveGame) Saves() []game.Save {
	s := g.pending
	g.pending = nil
	return s
}

func (g *saveGame) Saved(r game.SaveResult) {
	g.events <- "saved"
	g.saved <- r
	g.over = true
}

func (g *saveGame) Over() (game.Result, bool) { return game.Result{Summary: "done"}, g.over }

// Export and Import make it persistent: its state is the room's.
func (g *saveGame) Export() ([]byte, error) { return []byte("{}"), nil }
func (g *saveGame) Import([]byte) error     { return nil }

// saveRig is a mode of saveGame and what its games report.
type saveRig struct {
	mode   game.Mode
	events chan string
	joined chan game.Player
	saved  chan game.SaveResult
}

func newSaveRig(rematch time.Duration) *saveRig {
	g := &saveRig{events: make(chan string, 1000), joined: make(chan game.Player, 10), saved: make(chan game.SaveResult, 10)}
	g.mode = game.Mode{Name: "saves", Loads: []string{"inv"}, Rematch: rematch, New: func(game.Config) game.Game {
		return &saveGame{events: g.events, joined: g.joined, saved: g.saved}
	}}
	return g
}

// writer is a Host's Save that writes on a goroutine of its own, as the
// server's does, numbering the versions, or failing with err if set.
type writer struct {
	mu    sync.Mutex
	saves []game.Save
	err   error
}

func (w *writer) save(s game.Save, done func(game.SaveResult)) {
	w.mu.Lock()
	w.saves = append(w.saves, s)
	n, err := len(w.saves), w.err
	w.mu.Unlock()
	go func() { // the store's goroutine, not the room's
		if err != nil {
			done(game.SaveResult{Save: s, Err: err})
			return
		}
		done(game.SaveResult{Save: s, Version: int64(n)})
	}()
}

func TestSaveAfterTickReportsBackBeforeAStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newSaveRig(0)
		w := &writer{}
		r, _ := startRoom(t, Config{Mode: g.mode, Settings: Settings{TickRate: 10}, Host: &funcHost{save: w.save}})
		stored := Storage{"inv": {"visits": json.RawMessage(`4`)}}
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Account: "a1", Storage: stored}); err != nil {
			t.Fatal(err)
		}
		p := <-g.joined
		if string(p.Storage["inv"]["visits"]) != "4" {
			t.Fatalf("the game was given storage %v", p.Storage)
		}
		// The game's copy is its own.
		p.Storage["inv"]["visits"] = json.RawMessage(`99`)

		time.Sleep(time.Second)
		synctest.Wait()
		res := <-g.saved
		if res.Err != nil || res.Version != 1 || res.Account != "a1" || string(res.Value) != "5" {
			t.Fatalf("outcome %+v", res)
		}
		w.mu.Lock()
		if len(w.saves) != 1 {
			t.Fatalf("the host was given %d saves, want 1", len(w.saves))
		}
		w.mu.Unlock()
		// The outcome came on the room's goroutine, before a tick's Step:
		// never during one.
		var seq []string
		for len(g.events) > 0 {
			seq = append(seq, <-g.events)
		}
		for i, e := range seq {
			if e == "saved" && (i == 0 || i+1 == len(seq) || seq[i+1] != "step") {
				t.Fatalf("events %v: an outcome not followed by a step", seq)
			}
		}
	})
}

func TestSaveWithoutStorageFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newSaveRig(0)
		r, _ := startRoom(t, Config{Mode: g.mode, Settings: Settings{TickRate: 10}}) // noHost
		join := JoinRequest{Client: &fakeClient{}, Account: "a1"}
		if _, err := r.Join(context.Background(), join); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if res := <-g.saved; !errors.Is(res.Err, ErrNoStorage) {
			t.Fatalf("outcome %+v, want ErrNoStorage", res)
		}
	})
}

func TestSaveStorageUnreadRefusesNewPlayersOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newSaveRig(0)
		r, _ := startRoom(t, Config{Mode: g.mode, Settings: Settings{TickRate: 10, ResumeGrace: time.Minute}, Host: &funcHost{save: (&writer{}).save}})
		down := errors.New("store down")
		_, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Account: "a1", StorageErr: down})
		if !errors.Is(err, ErrStorageUnavailable) || !errors.Is(err, down) {
			t.Fatalf("a join whose storage is unread: %v", err)
		}
		if n := r.Stats().Players; n != 0 {
			t.Fatalf("%d players after the refusal", n)
		}
		// A player already seated resumes whatever the store does.
		c := &fakeClient{}
		j, err := r.Join(context.Background(), JoinRequest{Client: c, Account: "a1"})
		if err != nil {
			t.Fatal(err)
		}
		r.Leave(j.Player, c, false)
		synctest.Wait()
		j2, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Account: "a1", Token: j.Token, StorageErr: down})
		if err != nil || !j2.Resumed {
			t.Fatalf("a resume with the store down: %+v, %v", j2, err)
		}
		// A mode that loads nothing does not care.
		plain := newSaveRig(0)
		plain.mode.Loads = nil
		r2, _ := startRoom(t, Config{Name: "plain", Mode: plain.mode, Settings: Settings{TickRate: 10}})
		if _, err := r2.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Account: "a1", StorageErr: down}); err != nil {
			t.Fatalf("a join of a mode that loads nothing: %v", err)
		}
	})
}

// TestSaveRematchJoinsWithTheSavedStorage: the next game of a room is
// given each player's storage with what the last one saved, as the
// player would have it loaded anew, without a round trip to the store.
func TestSaveRematchJoinsWithTheSavedStorage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newSaveRig(time.Second)
		w := &writer{}
		r, _ := startRoom(t, Config{Mode: g.mode, Settings: Settings{TickRate: 10}, Host: &funcHost{save: w.save}})
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Account: "a1", Storage: Storage{"inv": {"visits": json.RawMessage(`1`)}}}); err != nil {
			t.Fatal(err)
		}
		if p := <-g.joined; string(p.Storage["inv"]["visits"]) != "1" {
			t.Fatalf("first game's storage %v", p.Storage)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if res := <-g.saved; res.Err != nil || string(res.Value) != "2" {
			t.Fatalf("first game's save: %+v", res)
		}
		p := <-g.joined // the rematch
		if string(p.Storage["inv"]["visits"]) != "2" {
			t.Fatalf("the rematch's storage %v, want visits 2", p.Storage)
		}
		// And a checkpoint of the room keeps it for a restore.
		doc, err := r.Export(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// (Each game ends as its save comes back: the room has played a
		// few by now.)
		var d Document
		err = json.Unmarshal(doc, &d)
		if err != nil || len(d.Members) != 1 {
			t.Fatalf("document members %+v, %v", d.Members, err)
		}
		if n, err := strconv.Atoi(string(d.Members[0].Storage["inv"]["visits"])); err != nil || n < 2 {
			t.Fatalf("document members %+v, %v", d.Members, err)
		}
	})
}

// TestSaveManagerLoadsOnTheJoiningGoroutine: the Manager reads a joining
// player's storage once per join, only for a player with an account in a
// mode that loads some, and refuses the join if it cannot.
func TestSaveManagerLoadsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newSaveRig(0)
		var mu sync.Mutex
		var loads []string
		var fail error
		m, err := NewManager(ManagerConfig{Modes: []game.Mode{g.mode}, Room: Settings{TickRate: 10},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Load: func(ctx context.Context, account string, collections []string) (Storage, error) {
				mu.Lock()
				defer mu.Unlock()
				loads = append(loads, account)
				if fail != nil {
					return nil, fail
				}
				return Storage{"inv": {"visits": json.RawMessage(`7`)}}, nil
			},
			Save: (&writer{}).save,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if _, _, err := m.Join(context.Background(), "r1", "saves", JoinRequest{Client: &fakeClient{}, Account: "a1"}); err != nil {
			t.Fatal(err)
		}
		if p := <-g.joined; string(p.Storage["inv"]["visits"]) != "7" {
			t.Fatalf("joined with %v", p.Storage)
		}
		if _, _, err := m.Join(context.Background(), "r1", "saves", JoinRequest{Client: &fakeClient{}}); err != nil {
			t.Fatal(err)
		}
		if p := <-g.joined; p.Storage != nil {
			t.Fatalf("a guest joined with storage %v", p.Storage)
		}
		mu.Lock()
		fail = errors.New("store down")
		mu.Unlock()
		if _, _, err := m.QuickJoin(context.Background(), "saves", JoinRequest{Client: &fakeClient{}, Account: "a2"}); !errors.Is(err, ErrStorageUnavailable) {
			t.Fatalf("a join with the store down: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(loads) != 2 || loads[0] != "a1" || loads[1] != "a2" {
			t.Fatalf("loads %v, want one for a1 and one for a2", loads)
		}
	})
}
