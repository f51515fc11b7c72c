package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
func (h *herald) Leave(game.PlayerID)      {}
func (h *herald) World() game.World        { return game.World{Width: 10, Height: 10} }
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

func heraldMode(endAt int) game.Mode {
	return game.Mode{Name: "herald", New: func(cfg game.Config) game.Game { return &herald{cfg: cfg, endAt: endAt} }}
}

// seqClient records everything a room sends it, in order.
type seqClient struct {
	mu     sync.Mutex
	log    []string
	closed error
}

func (c *seqClient) add(s string)  { c.mu.Lock(); c.log = append(c.log, s); c.mu.Unlock() }
func (c *seqClient) State(s State) { c.add(fmt.Sprintf("state %d", s.Snap.Tick)) }
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
		r, _ := startRoom(t, Config{Mode: heraldMode(0), TickRate: 10, ResumeGrace: time.Minute})
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
		r := New(Config{Name: "t", Mode: heraldMode(3), TickRate: 10, Seed: 1,
			OnOver: func() { overs++ }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
		last := got[len(got)-1]
		if want := `event 3 room_over {"summary":"done","standings":[{"player":1,"name":"a","score":3}],"game":1}`; last != want {
			t.Errorf("last message %q, want %q", last, want)
		}
		res, ok := r.Result()
		if !ok || res.Summary != "done" || len(res.Standings) != 1 || overs != 1 {
			t.Errorf("Result() = %+v, %v; OnOver called %d times", res, ok, overs)
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
