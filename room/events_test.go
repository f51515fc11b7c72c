package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
)

// herald is a tiny game that announces every tick to everyone, greets
// player 1 alone on tick 2, and ends on tick endAt.
type herald struct {
	cfg     game.Config
	players []game.PlayerID
	tick    int
	endAt   int
}

func (h *herald) Join(p game.Player) error { h.players = append(h.players, p.ID); return nil }
func (h *herald) Leave(id game.PlayerID) {
	h.players = slices.DeleteFunc(h.players, func(p game.PlayerID) bool { return p == id })
}

// A herald saves its players and its tick, so that a room of it moves.
type heraldState struct {
	Players []game.PlayerID
	Tick    int
}

func (h *herald) Export() ([]byte, error) { return json.Marshal(heraldState{h.players, h.tick}) }
func (h *herald) Import(b []byte) error {
	var st heraldState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	h.players, h.tick = st.Players, st.Tick
	return nil
}
func (h *herald) World() game.World { return game.World{Width: 10, Height: 10} }
func (h *herald) AppendEntities(dst []game.Entity) []game.Entity {
	for _, id := range h.players {
		dst = append(dst, game.Entity{ID: uint32(id)})
	}
	return dst
}

func (h *herald) Step([]game.Input) {
	h.tick++
	h.cfg.Events.ToAll(game.Event{Type: "tick", Data: fmt.Appendf(nil, `{"n":%d}`, h.tick)})
	h.cfg.Events.ToAll(game.Event{Type: "Bad Type"}) // dropped, never delivered
	if h.tick == 2 {
		h.cfg.Events.ToPlayers([]game.PlayerID{1}, game.Event{Type: "hello"})
	}
}

func (h *herald) Over() (game.Result, bool) {
	if h.endAt == 0 || h.tick < h.endAt {
		return game.Result{}, false
	}
	return game.Result{Summary: "done", Standings: []game.Standing{{Player: 1, Name: "a", Score: 3}}}, true
}

// awareHerald is a herald that tells everyone of its players who are
// away.
type awareHerald struct{ *herald }

func (h awareHerald) Away(id game.PlayerID) {
	h.cfg.Events.ToAll(game.Event{Type: "away", Data: fmt.Appendf(nil, `{"player":%d}`, id)})
}
func (h awareHerald) Back(game.PlayerID) {}

func heraldMode(endAt int) game.Mode {
	return game.Mode{Name: "herald", New: func(cfg game.Config) game.Game { return &herald{cfg: cfg, endAt: endAt} }}
}

// seqClient records everything a room sends it, in order, and the
// entities of the last state.
type seqClient struct {
	mu     sync.Mutex
	log    []string
	closed error
	last   []game.Entity
}

func (c *seqClient) add(s string) { c.mu.Lock(); c.log = append(c.log, s); c.mu.Unlock() }
func (c *seqClient) State(s State) {
	c.add(fmt.Sprintf("state %d", s.Snap.Tick))
	c.mu.Lock()
	c.last = s.Snap.Entities
	c.mu.Unlock()
}
func (c *seqClient) lastEntities() []game.Entity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
func (c *seqClient) Event(e Event) {
	switch e := e.(type) {
	case GameEvent:
		c.add(fmt.Sprintf("event %d %s %s", e.Tick, e.Type, e.Data))
	default:
		c.add(fmt.Sprintf("%T", e))
	}
}
func (c *seqClient) Close(err error) { c.mu.Lock(); c.closed = err; c.mu.Unlock() }
func (c *seqClient) got() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...), c.closed
}

func TestGameEventsArriveBeforeTheirTicksState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Mode: heraldMode(0), Settings: Settings{TickRate: 10, ResumeGrace: time.Minute}})
		a, b := &seqClient{}, &seqClient{}
		ja := join(t, r, a, "")
		join(t, r, b, "")
		time.Sleep(250 * time.Millisecond) // ticks 1 and 2
		synctest.Wait()
		r.Leave(ja.Player, a, false) // a is away from tick 3 on
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()

		gotA, _ := a.got()
		wantA := []string{"room.Seated",
			`event 1 tick {"n":1}`, "state 1",
			`event 2 tick {"n":2}`, `event 2 hello {}`, "state 2"}
		if fmt.Sprint(gotA) != fmt.Sprint(wantA) {
			t.Errorf("player 1 got\n%q\nwant\n%q", gotA, wantA)
		}
		gotB, _ := b.got()
		wantB := []string{"room.Seated",
			`event 1 tick {"n":1}`, "state 1",
			`event 2 tick {"n":2}`, "state 2",
			`event 3 tick {"n":3}`, "state 3"}
		if fmt.Sprint(gotB) != fmt.Sprint(wantB) {
			t.Errorf("player 2 got\n%q\nwant\n%q", gotB, wantB)
		}
	})
}

func TestGameOverEndsTheRoomWithItsResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		overs := 0
		r := New(Config{Name: "t", Mode: heraldMode(3), Settings: Settings{TickRate: 10}, Seed: 1,
			Host: &funcHost{over: func() { overs++ }}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		runErr := make(chan error, 1)
		go func() { runErr <- r.Run(context.Background()) }()
		c := &seqClient{}
		join(t, r, c, "")
		if _, ok := r.Result(); ok {
			t.Fatal("a result before the game is over")
		}
		if err := <-runErr; !errors.Is(err, ErrGameOver) {
			t.Fatalf("Run returned %v, want ErrGameOver", err)
		}
		got, closed := c.got()
		if !errors.Is(closed, ErrGameOver) {
			t.Errorf("client closed with %v, want ErrGameOver", closed)
		}
		// The final tick's state, then the result: players see how the
		// game ended.
		last := got[len(got)-2:]
		if want := []string{"state 3", `event 3 room_over {"summary":"done","standings":[{"player":1,"name":"a","score":3}],"game":1}`}; fmt.Sprint(last) != fmt.Sprint(want) {
			t.Errorf("last messages %q, want %q", last, want)
		}
		res, ok := r.Result()
		if !ok || res.Summary != "done" || len(res.Standings) != 1 || res.Game != 1 || overs != 1 {
			t.Errorf("Result() = %+v, %v; Host.Over called %d times", res, ok, overs)
		}
		if _, err := r.Join(context.Background(), JoinRequest{Client: &seqClient{}}); !errors.Is(err, ErrRoomClosed) {
			t.Errorf("join after the end: %v, want ErrRoomClosed", err)
		}
	})
}

func TestRoomOverDataIsBounded(t *testing.T) {
	var res game.Result
	for i := range 5000 {
		res.Standings = append(res.Standings, game.Standing{Player: game.PlayerID(i), Name: "someone", Score: int64(i)})
	}
	var back game.Result
	data := overData(res)
	if err := json.Unmarshal(data, &back); err != nil || len(back.Standings) != maxOverStandings {
		t.Fatalf("room_over data: %d bytes, %d standings, %v", len(data), len(back.Standings), err)
	}
}

func rematchMode(endAt int, pause time.Duration) game.Mode {
	return game.Mode{Name: "herald", Rematch: pause, New: func(cfg game.Config) game.Game {
		return awareHerald{&herald{cfg: cfg, endAt: endAt}}
	}}
}

// TestRematchStartsANewGameWithThePlayers: a mode that rematches reports
// each game's result, numbered, pauses, and starts a fresh game with the
// players still there, connected or away, under their IDs and tokens.
func TestRematchStartsANewGameWithThePlayers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var results []game.Result
		overs := 0
		r := New(Config{Name: "t", Mode: rematchMode(3, 250*time.Millisecond), Settings: Settings{TickRate: 10, ResumeGrace: time.Minute}, Seed: 1,
			Host: &funcHost{
				result: func(rep Report) { results = append(results, rep.Result) },
				over:   func() { overs++ },
			},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runErr := make(chan error, 1)
		go func() { runErr <- r.Run(ctx) }()
		a, b := &seqClient{}, &seqClient{}
		ja := join(t, r, a, "")
		jb := join(t, r, b, "")
		time.Sleep(250 * time.Millisecond) // ticks 1 and 2
		synctest.Wait()
		r.Leave(jb.Player, b, false) // away from tick 3 on, through the rematch
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		// Game 1 ended on tick 3. The pause is 3 ticks (250 ms, rounded
		// up), during which a newcomer is seated in the next game.
		c := &seqClient{}
		jc := join(t, r, c, "")
		time.Sleep(300 * time.Millisecond) // ticks 4 to 6: game 2 starts on tick 6
		synctest.Wait()

		gotA, closed := a.got()
		wantA := []string{"room.Seated",
			`event 1 tick {"n":1}`, "state 1",
			`event 2 tick {"n":2}`, `event 2 hello {}`, "state 2",
			fmt.Sprintf(`event 3 away {"player":%d}`, jb.Player), `event 3 tick {"n":3}`, "state 3",
			`event 3 room_over {"summary":"done","standings":[{"player":1,"name":"a","score":3}],"game":1}`,
			`event 6 room_rematch {"game":2}`,
			fmt.Sprintf(`event 6 away {"player":%d}`, jb.Player),
			`event 6 tick {"n":1}`, "state 6"}
		if fmt.Sprint(gotA) != fmt.Sprint(wantA) || closed != nil {
			t.Errorf("player 1 got\n%q (closed %v)\nwant\n%q", gotA, closed, wantA)
		}
		gotC, _ := c.got()
		if want := []string{"room.Seated", `event 6 room_rematch {"game":2}`, fmt.Sprintf(`event 6 away {"player":%d}`, jb.Player), `event 6 tick {"n":1}`, "state 6"}; fmt.Sprint(gotC) != fmt.Sprint(want) {
			t.Errorf("the newcomer got\n%q\nwant\n%q", gotC, want)
		}
		var ids []uint32
		for _, e := range a.lastEntities() {
			ids = append(ids, e.ID)
			if e.Away != (e.ID == uint32(jb.Player)) {
				t.Errorf("entity %d away %v in game 2", e.ID, e.Away)
			}
		}
		if want := []uint32{uint32(ja.Player), uint32(jb.Player), uint32(jc.Player)}; !slices.Equal(ids, want) {
			t.Errorf("game 2 shows players %v, want %v", ids, want)
		}

		// The away player resumes into game 2 with its token.
		b2 := &seqClient{}
		if j := join(t, r, b2, jb.Token); !j.Resumed || j.Player != jb.Player {
			t.Errorf("resume in game 2: %+v", j)
		}
		time.Sleep(200 * time.Millisecond) // ticks 7 and 8: game 2 ends
		synctest.Wait()
		if len(results) != 2 || results[0].Game != 1 || results[1].Game != 2 || overs != 0 {
			t.Fatalf("results %+v, Over %d times; want games 1 and 2 reported once each, no end", results, overs)
		}
		if res, _ := r.Result(); res.Game != 2 {
			t.Errorf("Result() is of game %d, want 2", res.Game)
		}
		select {
		case err := <-runErr:
			t.Fatalf("the room stopped: %v", err)
		default:
		}
	})
}

// TestRematchSurvivesAMove: a room exported during the pause between two
// games is restored with the next game waiting, and starts it on the same
// tick without reporting the last one again.
func TestRematchSurvivesAMove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mode := rematchMode(2, 500*time.Millisecond)
		r, _ := startRoom(t, Config{Mode: mode, Settings: Settings{TickRate: 10, ResumeGrace: time.Minute}})
		a := &seqClient{}
		ja := join(t, r, a, "")
		time.Sleep(250 * time.Millisecond) // game 1 ends on tick 2
		synctest.Wait()
		doc, err := r.Export(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var d Document
		if err := json.Unmarshal(doc, &d); err != nil || d.GameNumber != 2 || d.RematchTick != 7 || d.Tick != 2 {
			t.Fatalf("document: game %d, rematch tick %d, tick %d (%v); want 2, 7, 2", d.GameNumber, d.RematchTick, d.Tick, err)
		}
		reported := 0
		restored, err := Restore(Config{Mode: mode, Settings: Settings{ResumeGrace: time.Minute}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Host: &funcHost{result: func(Report) { reported++ }}}, doc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = restored.Run(ctx) }()
		b := &seqClient{}
		if j := join(t, restored, b, ja.Token); !j.Resumed {
			t.Fatalf("resume in the restored room: %+v", j)
		}
		time.Sleep(550 * time.Millisecond) // ticks 3 to 7; game 2 ends on tick 8
		synctest.Wait()
		got, _ := b.got()
		if want := []string{"room.Seated", `event 7 room_rematch {"game":2}`, `event 7 tick {"n":1}`, "state 7"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the restored room sent\n%q\nwant\n%q", got, want)
		}
		if reported != 0 {
			t.Errorf("the restored room reported %d results of game 1 again", reported)
		}
	})
}

// TestRematchClosesThePlayersTheNextGameRefuses: a player the next game
// does not take is told the game is over, and its seat goes.
func TestRematchClosesThePlayersTheNextGameRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		games := 0
		mode := game.Mode{Name: "herald", Rematch: 100 * time.Millisecond, New: func(cfg game.Config) game.Game {
			games++
			if games > 1 {
				return &choosyHerald{herald{cfg: cfg, endAt: 2}}
			}
			return &herald{cfg: cfg, endAt: 2}
		}}
		r, _ := startRoom(t, Config{Mode: mode, Settings: Settings{TickRate: 10}})
		a, b := &seqClient{}, &seqClient{}
		join(t, r, a, "")
		jb := join(t, r, b, "")
		time.Sleep(250 * time.Millisecond) // game 1 ends on tick 2
		synctest.Wait()
		if _, closed := a.got(); closed != nil {
			t.Errorf("the first player, whom game 2 takes, closed with %v", closed)
		}
		if _, closed := b.got(); !errors.Is(closed, ErrGameOver) {
			t.Errorf("the player game 2 refuses closed with %v, want ErrGameOver", closed)
		}
		if st := r.Stats(); st.Players != 1 {
			t.Errorf("%d players after the rematch, want 1", st.Players)
		}
		if j, err := r.Join(context.Background(), JoinRequest{Client: &seqClient{}, Token: jb.Token}); err == nil && j.Resumed {
			t.Error("the refused player's token still resumes it")
		}
	})
}

// choosyHerald takes one player only.
type choosyHerald struct{ herald }

func (h *choosyHerald) Join(p game.Player) error {
	if len(h.players) > 0 {
		return game.ErrFull
	}
	return h.herald.Join(p)
}
