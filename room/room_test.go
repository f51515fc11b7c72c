package room

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// fakeClient records what a room sends it.
type fakeClient struct {
	mu     sync.Mutex
	states []State
	events []Event
	closed error
}

func (c *fakeClient) State(s State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.states = append(c.states, s)
}

func (c *fakeClient) Event(e Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

func (c *fakeClient) Close(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed == nil {
		c.closed = err
	}
}

func (c *fakeClient) stateCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.states)
}

func (c *fakeClient) last() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.states) == 0 {
		return State{}
	}
	return c.states[len(c.states)-1]
}

func (c *fakeClient) closeReason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *fakeClient) eventList() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// entity finds id in a state.
func entity(s State, id game.PlayerID) (game.Entity, bool) {
	if s.Snap == nil {
		return game.Entity{}, false
	}
	for _, e := range s.Snap.Entities {
		if e.ID == uint32(id) {
			return e, true
		}
	}
	return game.Entity{}, false
}

// startRoom runs a room inside the current synctest bubble until the test
// function returns.
func startRoom(t *testing.T, cfg Config) (*Room, context.CancelFunc) {
	t.Helper()
	if cfg.Mode.New == nil {
		cfg.Mode = dots.Mode
	}
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	cfg.Seed = 1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	r := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.Done()
	})
	return r, cancel
}

func join(t *testing.T, r *Room, c Client, token string) Joined {
	t.Helper()
	j, err := r.Join(context.Background(), JoinRequest{Client: c, Token: token})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	return j
}

func TestTickRateIsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}})
		c := &fakeClient{}
		join(t, r, c, "")
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if n := c.stateCount(); n != 200 {
			t.Errorf("%d states in 10 s at 20 Hz; want 200", n)
		}
		for i, s := range c.states {
			if s.Snap.Tick != uint64(i+1) {
				t.Fatalf("state %d has tick %d", i, s.Snap.Tick)
			}
		}
	})
}

// slowGame takes cost of (fake) time in every step.
type slowGame struct {
	*dots.Dots
	cost time.Duration
}

func (g slowGame) Step(in []game.Input) {
	time.Sleep(g.cost)
	g.Dots.Step(in)
}

func slowMode(cost time.Duration) game.Mode {
	return game.Mode{Name: "slow", New: func(cfg game.Config) game.Game { return slowGame{dots.New(cfg), cost} }}
}

func TestSlowTicksDoNotShiftTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A tick that costs 40 of its 50 ms still leaves 20 ticks a second.
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}, Mode: slowMode(40 * time.Millisecond)})
		c := &fakeClient{}
		join(t, r, c, "")
		time.Sleep(10*time.Second + 100*time.Millisecond)
		synctest.Wait()
		if n := c.stateCount(); n < 199 || n > 201 {
			t.Errorf("%d states in 10 s with 40 ms ticks; want 200", n)
		}
		if o := r.Stats().Overruns; o != 0 {
			t.Errorf("%d overruns; want 0", o)
		}
	})
}

func TestOverrunsAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}, Mode: slowMode(80 * time.Millisecond)})
		c := &fakeClient{}
		join(t, r, c, "")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		st := r.Stats()
		if st.Overruns == 0 {
			t.Errorf("no overruns counted with 80 ms ticks at 20 Hz")
		}
		if st.TickTime < 50*time.Millisecond {
			t.Errorf("tick time %v; want it approaching 80ms", st.TickTime)
		}
	})
}

type counter struct{ n atomic.Int64 }

func (c *counter) Inc() { c.n.Add(1) }

func TestOnePlayersBurstDropsOnlyItsOwnInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		full, superseded := &counter{}, &counter{}
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}, Metrics: Metrics{InboxFull: full, InputsSuperseded: superseded}})
		const flooders, burst = 99, 190
		attackers := make([]*fakeClient, flooders)
		ids := make([]game.PlayerID, flooders)
		for i := range attackers {
			attackers[i] = &fakeClient{}
			ids[i] = join(t, r, attackers[i], "").Player
		}
		victim := &fakeClient{}
		v := join(t, r, victim, "")
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		// Each tick, every attacker bursts (together far more inputs than
		// one tick's worth for every player) before the victim's one
		// input: the victim's must still apply, every time.
		for seq := uint32(1); seq <= 5; seq++ {
			for i, c := range attackers {
				for k := range burst {
					r.Input(ids[i], c, ClientInput{Seq: seq*burst + uint32(k), Buttons: game.Right})
				}
			}
			r.Input(v.Player, victim, ClientInput{Seq: seq, Buttons: game.Down})
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			if got := victim.last().Ack; got != seq {
				t.Fatalf("after burst %d the victim's ack is %d; want %d: its input was lost", seq, got, seq)
			}
		}
		if got := full.n.Load(); got != 0 {
			t.Errorf("%d inputs dropped as inbox_full; want 0", got)
		}
		// Each attacker kept its newest inputDepth inputs per tick; the
		// rest of its burst is its own loss.
		if got, want := superseded.n.Load(), int64(5*flooders*(burst-inputDepth)); got < want {
			t.Errorf("%d inputs superseded; want at least %d", got, want)
		}
	})
}

func TestAtMostOneStepPerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}})
		c := &fakeClient{}
		j := join(t, r, c, "")
		time.Sleep(50 * time.Millisecond) // first tick: the spawn point
		synctest.Wait()
		start, _ := entity(c.last(), j.Player)
		if start.X > 400 {
			// Keep the walk away from the right wall.
			t.Logf("spawned at x=%d", start.X)
		}
		dir := game.Right
		want := int32(10)
		if start.X > 400 {
			dir, want = game.Left, -10
		}
		for range 40 {
			r.Input(j.Player, c, ClientInput{Buttons: dir, Once: true})
		}
		prev := start
		steps := 0
		for range 10 {
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			e, _ := entity(c.last(), j.Player)
			switch d := e.X - prev.X; d {
			case 0:
			case want:
				steps++
			default:
				t.Fatalf("moved %d px in one tick; at most one step of 10", d)
			}
			prev = e
		}
		if steps != inputDepth {
			t.Errorf("a burst of 40 moves gave %d steps; want the %d that fit the input buffer", steps, inputDepth)
		}
	})
}

func TestSeedMovesOnePerTickAllApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}})
		c := &fakeClient{}
		j := join(t, r, c, "")
		time.Sleep(25 * time.Millisecond)
		synctest.Wait()
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		start, _ := entity(c.last(), j.Player)
		dir, sign := game.Down, int32(1)
		if start.Y > 300 {
			dir, sign = game.Up, -1
		}
		// The seed's client sends one move per 50 ms while a key is held:
		// every one of them is a step, as in the seed.
		for range 10 {
			r.Input(j.Player, c, ClientInput{Buttons: dir, Once: true})
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
		}
		end, _ := entity(c.last(), j.Player)
		if got := (end.Y - start.Y) * sign; got != 100 {
			t.Errorf("10 moves at one per tick moved %d px; want 100", got)
		}
	})
}

func TestNativeInputsHoldAndAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}})
		c := &fakeClient{}
		j := join(t, r, c, "")
		time.Sleep(75 * time.Millisecond)
		synctest.Wait()
		start, _ := entity(c.last(), j.Player)
		dir, sign := game.Down, int32(1)
		if start.Y > 300 {
			dir, sign = game.Up, -1
		}
		r.Input(j.Player, c, ClientInput{Seq: 1, Buttons: dir})
		r.Input(j.Player, c, ClientInput{Seq: 1, Buttons: 0}) // a duplicate sequence is ignored
		time.Sleep(5 * 50 * time.Millisecond)
		synctest.Wait()
		mid := c.last()
		e, _ := entity(mid, j.Player)
		if got := (e.Y - start.Y) * sign; got != 50 {
			t.Errorf("held for 5 ticks, moved %d px; want 50", got)
		}
		if mid.Ack != 1 {
			t.Errorf("ack = %d; want 1", mid.Ack)
		}
		r.Input(j.Player, c, ClientInput{Seq: 2, Buttons: 0})
		time.Sleep(3 * 50 * time.Millisecond)
		synctest.Wait()
		last := c.last()
		e2, _ := entity(last, j.Player)
		if e2.Y != e.Y || last.Ack != 2 {
			t.Errorf("after release: y %d→%d ack %d; want no more movement and ack 2", e.Y, e2.Y, last.Ack)
		}
	})
}

func TestLeaveWithoutGraceRemovesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{})
		a, b := &fakeClient{}, &fakeClient{}
		ja := join(t, r, a, "")
		join(t, r, b, "")
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if _, ok := entity(b.last(), ja.Player); !ok {
			t.Fatal("player a not in state")
		}
		r.Leave(ja.Player, a, false)
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if _, ok := entity(b.last(), ja.Player); ok {
			t.Error("player a still in the next state after leaving")
		}
		if r.Stats().Players != 1 {
			t.Errorf("players = %d; want 1", r.Stats().Players)
		}
	})
}

func TestResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: 20 * time.Second}})
		a, watcher := &fakeClient{}, &fakeClient{}
		ja := join(t, r, a, "")
		join(t, r, watcher, "")
		if len(ja.Token) < 22 {
			t.Fatalf("token %q is shorter than 128 bits", ja.Token)
		}
		r.Input(ja.Player, a, ClientInput{Buttons: game.Down, Once: true})
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		before, _ := entity(watcher.last(), ja.Player)

		r.Leave(ja.Player, a, false) // the connection dropped
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		away, ok := entity(watcher.last(), ja.Player)
		if !ok || !away.Away {
			t.Fatalf("dropped player: present %v flags %v; want present and away", ok, away.Away)
		}
		// Inputs from the dead connection are ignored.
		r.Input(ja.Player, a, ClientInput{Buttons: game.Up, Once: true})

		time.Sleep(10 * time.Second)
		a2 := &fakeClient{}
		j2 := join(t, r, a2, ja.Token)
		if !j2.Resumed || j2.Player != ja.Player || j2.Token == ja.Token || len(j2.Token) < 22 {
			t.Fatalf("resume gave %+v; want player %d resumed with a new token", j2, ja.Player)
		}
		if w, ok := a2.eventList()[0].(Seated); !ok || w.Token != j2.Token {
			t.Errorf("welcome %+v; want the new token %q", a2.eventList()[0], j2.Token)
		}
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		after, _ := entity(watcher.last(), ja.Player)
		if after.X != before.X || after.Y != before.Y || after.Fields != before.Fields || after.Away {
			t.Errorf("resumed as %+v; want %+v back", after, before)
		}
		if w, ok := a2.eventList()[0].(Seated); !ok || !w.Resumed {
			t.Errorf("first event %+v; want a resumed Seated", a2.eventList())
		}
	})
}

func TestResumeGraceExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: 20 * time.Second}})
		a, watcher := &fakeClient{}, &fakeClient{}
		ja := join(t, r, a, "")
		join(t, r, watcher, "")
		r.Leave(ja.Player, a, false)
		time.Sleep(21 * time.Second)
		synctest.Wait()
		if _, ok := entity(watcher.last(), ja.Player); ok {
			t.Fatal("player still present after the grace period")
		}
		late := &fakeClient{}
		j := join(t, r, late, ja.Token)
		if j.Resumed || j.Player == ja.Player {
			t.Errorf("expired token resumed: %+v", j)
		}
		ev := late.eventList()
		if n, ok := ev[0].(Notice); !ok || n.Code != "resume_failed" {
			t.Errorf("events %+v; want a resume_failed notice first", ev)
		}
	})
}

func TestLeaveOnPurposeIgnoresGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: 20 * time.Second}})
		a, watcher := &fakeClient{}, &fakeClient{}
		ja := join(t, r, a, "")
		join(t, r, watcher, "")
		r.Leave(ja.Player, a, true)
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if _, ok := entity(watcher.last(), ja.Player); ok {
			t.Error("player who left on purpose is still present")
		}
	})
}

func TestTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: 20 * time.Second}})
		a := &fakeClient{}
		ja := join(t, r, a, "")
		b := &fakeClient{}
		jb := join(t, r, b, ja.Token)
		if jb.Player != ja.Player || !jb.Resumed {
			t.Fatalf("takeover gave %+v", jb)
		}
		if !errors.Is(a.closeReason(), ErrTakenOver) {
			t.Errorf("old connection closed with %v; want ErrTakenOver", a.closeReason())
		}
		// The old connection's leave must not remove the player.
		r.Leave(ja.Player, a, true)
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if e, ok := entity(b.last(), ja.Player); !ok || e.Away {
			t.Errorf("player after the old connection left: present %v %+v", ok, e)
		}
		if r.Stats().Players != 1 {
			t.Errorf("players = %d; want 1", r.Stats().Players)
		}
		// The token was rotated: the old one no longer takes the player.
		if jc := join(t, r, &fakeClient{}, ja.Token); jc.Resumed || jc.Player == ja.Player {
			t.Errorf("the old token resumed again after a takeover: %+v", jc)
		}
	})
}

func TestCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{Capacity: 2}})
		join(t, r, &fakeClient{}, "")
		join(t, r, &fakeClient{}, "")
		_, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}})
		if !errors.Is(err, ErrRoomFull) {
			t.Errorf("third join: %v; want ErrRoomFull", err)
		}
	})
}

// panicGame panics when a player holds Action.
type panicGame struct{ *dots.Dots }

func (g panicGame) Step(in []game.Input) {
	for _, i := range in {
		if i.Buttons&game.Action != 0 {
			panic("boom")
		}
	}
	g.Dots.Step(in)
}

var panicMode = game.Mode{Name: "panic", New: func(cfg game.Config) game.Game { return panicGame{dots.New(cfg)} }}

func TestPanicInStepClosesTheRoomAndTellsPlayers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Mode: panicMode})
		a := &fakeClient{}
		ja := join(t, r, a, "")
		r.Input(ja.Player, a, ClientInput{Buttons: game.Action})
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		<-r.Done()
		if !errors.Is(a.closeReason(), ErrRoomCrashed) {
			t.Errorf("player closed with %v; want ErrRoomCrashed", a.closeReason())
		}
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}}); !errors.Is(err, ErrRoomClosed) {
			t.Errorf("join after crash: %v; want ErrRoomClosed", err)
		}
	})
}

func TestMemoBuildsOnce(t *testing.T) {
	s := &Snapshot{Tick: 1}
	var builds sync.WaitGroup
	calls := 0
	var mu sync.Mutex
	for range 50 {
		builds.Add(1)
		go func() {
			defer builds.Done()
			v := s.Memo("k", func() any {
				mu.Lock()
				calls++
				mu.Unlock()
				return 42
			})
			if v != 42 {
				t.Errorf("memo returned %v", v)
			}
		}()
	}
	builds.Wait()
	if calls != 1 {
		t.Errorf("built %d times; want once", calls)
	}
	if v := s.Memo("other", func() any { return 7 }); v != 7 {
		t.Errorf("second key = %v", v)
	}
}

func TestAbandonedJoinLeavesAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := New(Config{Name: "t", Mode: dots.Mode, Seed: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		c := &fakeClient{}
		go func() {
			_, err := r.Join(ctx, JoinRequest{Client: c})
			errc <- err
		}()
		synctest.Wait() // queued, waiting for a room that is not running yet
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("join returned %v; want context.Canceled", err)
		}
		runCtx, stop := context.WithCancel(context.Background())
		defer func() { stop(); <-r.Done() }()
		go r.Run(runCtx)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if n := r.Stats().Players; n != 0 {
			t.Errorf("%d players after the joiner gave up; want 0", n)
		}
	})
}

func TestSeatsPerAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20, MaxSeatsPerAddr: 2, ResumeGrace: time.Minute}})
		joinFrom := func(c Client, addr string) (Joined, error) {
			return r.Join(context.Background(), JoinRequest{Client: c, Addr: addr})
		}
		a1, a2 := &fakeClient{}, &fakeClient{}
		j1, _ := joinFrom(a1, "a")
		if _, err := joinFrom(a2, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := joinFrom(&fakeClient{}, "a"); !errors.Is(err, ErrTooManySeats) {
			t.Fatalf("third live seat of one address: %v; want ErrTooManySeats", err)
		}
		if _, err := joinFrom(&fakeClient{}, "b"); err != nil {
			t.Fatalf("another address refused: %v", err)
		}
		// An away seat is given up for a new join of its own address.
		r.Leave(j1.Player, a1, false)
		if _, err := joinFrom(&fakeClient{}, "a"); err != nil {
			t.Fatalf("join with an away seat to give up: %v", err)
		}
		if got := r.Stats().Players; got != 3 {
			t.Errorf("%d players; want 3 (the away one evicted)", got)
		}
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Token: "", Addr: "a"}); !errors.Is(err, ErrTooManySeats) {
			t.Errorf("after the eviction the address is at its limit again: %v", err)
		}
	})
}

// presenceGame records, on the room's goroutine, what Presence is told.
type presenceGame struct {
	*dots.Dots
	calls chan string
}

func (g presenceGame) Away(id game.PlayerID) { g.calls <- fmt.Sprintf("away %d", id) }
func (g presenceGame) Back(id game.PlayerID) { g.calls <- fmt.Sprintf("back %d", id) }
func (g presenceGame) Leave(id game.PlayerID) {
	g.calls <- fmt.Sprintf("leave %d", id)
	g.Dots.Leave(id)
}

var _ game.Presence = presenceGame{}

func TestGameIsToldOfAwayAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := make(chan string, 16)
		mode := game.Mode{Name: "presence", New: func(cfg game.Config) game.Game { return presenceGame{dots.New(cfg), calls} }}
		r, _ := startRoom(t, Config{Mode: mode, Settings: Settings{ResumeGrace: 20 * time.Second}})
		next := func() string {
			synctest.Wait()
			select {
			case c := <-calls:
				return c
			default:
				return "nothing"
			}
		}
		a := &fakeClient{}
		ja := join(t, r, a, "")
		r.Leave(ja.Player, a, false) // the connection dropped
		if got, want := next(), fmt.Sprintf("away %d", ja.Player); got != want {
			t.Fatalf("after a drop the game heard %q; want %q", got, want)
		}
		a2 := &fakeClient{}
		j2 := join(t, r, a2, ja.Token)
		if got, want := next(), fmt.Sprintf("back %d", ja.Player); got != want {
			t.Fatalf("after a resume the game heard %q; want %q", got, want)
		}
		// A takeover is neither away nor back.
		join(t, r, &fakeClient{}, j2.Token)
		if got := next(); got != "nothing" {
			t.Fatalf("after a takeover the game heard %q; want nothing", got)
		}
		// A drop that is never resumed ends in Leave.
		r.Leave(ja.Player, a2, false) // a2 was taken over: ignored
		b := &fakeClient{}
		jb := join(t, r, b, "")
		r.Leave(jb.Player, b, false)
		if got, want := next(), fmt.Sprintf("away %d", jb.Player); got != want {
			t.Fatalf("heard %q; want %q", got, want)
		}
		time.Sleep(21 * time.Second)
		if got, want := next(), fmt.Sprintf("leave %d", jb.Player); got != want {
			t.Fatalf("after the grace the game heard %q; want %q", got, want)
		}
	})
}

// costlyGame's ticks cost what cost holds.
type costlyGame struct {
	*dots.Dots
	cost *atomic.Int64
}

func (g costlyGame) Step(in []game.Input) {
	time.Sleep(time.Duration(g.cost.Load()))
	g.Dots.Step(in)
}

// TestABusyRoomTakesNoNewPlayers: a room whose ticks take most of their
// interval refuses new players as full, lets its own players resume, and
// takes new ones again once its ticks are cheap.
func TestABusyRoomTakesNoNewPlayers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cost atomic.Int64
		mode := game.Mode{Name: "costly", New: func(cfg game.Config) game.Game { return costlyGame{dots.New(cfg), &cost} }}
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}, Mode: mode})
		c := &fakeClient{}
		first := join(t, r, c, "")
		tryJoin := func() error {
			_, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}})
			return err
		}

		cost.Store(int64(45 * time.Millisecond)) // 90% of a 50 ms tick
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if err := tryJoin(); !errors.Is(err, ErrRoomFull) {
			t.Fatalf("a new player at %v a tick: %v; want ErrRoomFull", r.Stats().TickTime, err)
		}
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Token: first.Token}); err != nil {
			t.Errorf("resuming in a busy room: %v", err)
		}

		cost.Store(int64(35 * time.Millisecond)) // 70%: under the limit, not yet idle
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if err := tryJoin(); !errors.Is(err, ErrRoomFull) {
			t.Errorf("a new player at %v a tick, on the way down: %v; want still ErrRoomFull", r.Stats().TickTime, err)
		}

		cost.Store(int64(10 * time.Millisecond))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if err := tryJoin(); err != nil {
			t.Errorf("a new player at %v a tick: %v", r.Stats().TickTime, err)
		}
	})
}

// overlapClient counts its states, notes when two calls overlap, and
// shares with every other a count of calls in flight.
type overlapClient struct {
	fakeClient
	busy     atomic.Bool
	overlaps atomic.Int64
	count    atomic.Int64
	inFlight *atomic.Int64
	most     *atomic.Int64
}

func (c *overlapClient) State(s State) {
	if !c.busy.CompareAndSwap(false, true) {
		c.overlaps.Add(1)
	}
	n := c.inFlight.Add(1)
	for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
	}
	time.Sleep(time.Microsecond) // a write: others may run meanwhile
	c.inFlight.Add(-1)
	c.count.Add(1)
	c.busy.Store(false)
}

// TestABigRoomDeliversOnEveryCPU: a room of many players hands their
// states out from as many goroutines as there are CPUs, each player's one
// at a time, every player's every tick.
func TestABigRoomDeliversOnEveryCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}})
		var inFlight, most atomic.Int64
		clients := make([]*overlapClient, 2*deliverShare)
		for i := range clients {
			clients[i] = &overlapClient{inFlight: &inFlight, most: &most}
			join(t, r, clients[i], "")
		}
		synctest.Wait()
		before := make([]int64, len(clients))
		for i, c := range clients {
			before[i] = c.count.Load()
		}
		ticks := r.Stats().Ticks
		time.Sleep(time.Second)
		synctest.Wait()
		ticks = r.Stats().Ticks - ticks
		for i, c := range clients {
			if got := c.count.Load() - before[i]; got != int64(ticks) {
				t.Fatalf("player %d got %d states in %d ticks", i, got, ticks)
			}
			if n := c.overlaps.Load(); n != 0 {
				t.Fatalf("player %d was called %d times while a call was in flight", i, n)
			}
		}
		if most.Load() < 2 {
			t.Errorf("at most %d state in flight at once; want one per CPU", most.Load())
		}
	})
}

// TestAFullBoxRefusesNewPlayersOnly: while Host.Full says so, new
// players are refused with ErrServerFull, and those resuming are not.
func TestAFullBoxRefusesNewPlayersOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var full atomic.Bool
		r, _ := startRoom(t, Config{Host: &funcHost{full: full.Load}})
		first := join(t, r, &fakeClient{}, "")
		full.Store(true)
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}}); !errors.Is(err, ErrServerFull) {
			t.Errorf("a new player while full: %v; want ErrServerFull", err)
		}
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Token: first.Token}); err != nil {
			t.Errorf("resuming while full: %v", err)
		}
		full.Store(false)
		join(t, r, &fakeClient{}, "")
	})
}

// TestNoPlayerIDRefusesAtOnce: when the cluster's IDs are out of reach,
// a new player is refused with ErrNoPlayerID and frees the seat it took;
// resumes, which need no new ID, pass.
func TestNoPlayerIDRefusesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var none atomic.Bool
		var next atomic.Uint32
		r, _ := startRoom(t, Config{Settings: Settings{Capacity: 2}, Host: &funcHost{newPlayerID: func() game.PlayerID {
			if none.Load() {
				return 0
			}
			return game.PlayerID(next.Add(1))
		}}})
		first := join(t, r, &fakeClient{}, "")
		none.Store(true)
		for range 3 { // a seat leaked by each refusal would fill the room
			if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}}); !errors.Is(err, ErrNoPlayerID) {
				t.Fatalf("a new player with no ID at hand: %v; want ErrNoPlayerID", err)
			}
		}
		if _, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Token: first.Token}); err != nil {
			t.Errorf("resuming with no ID at hand: %v", err)
		}
		none.Store(false)
		join(t, r, &fakeClient{}, "")
	})
}

// TestHeldSeatsAreChargedToTheirAddress: a seat Reserve holds counts
// against the address it is for, as a player would: the address's limit in
// the room and across rooms (Host.Seat) apply, and the charge goes when the
// seat is taken or lapses. Holds take at most a quarter of the room, so
// that nobody's redirects can lock it; a join with no seat still gets in.
func TestHeldSeatsAreChargedToTheirAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		charged := map[string]int{}
		r, _ := startRoom(t, Config{Settings: Settings{Capacity: 40, MaxSeatsPerAddr: 3}, Host: &funcHost{seat: func(addr string, taken bool) bool {
			mu.Lock()
			defer mu.Unlock()
			if taken {
				charged[addr]++
			} else {
				charged[addr]--
			}
			return true
		}}})
		ctx := context.Background()
		seats := make([]string, 0, 3)
		for range 3 {
			seat, err := r.Reserve(ctx, "attacker", time.Minute)
			if err != nil {
				t.Fatalf("hold %d of the attacker: %v", len(seats)+1, err)
			}
			seats = append(seats, seat)
		}
		if _, err := r.Reserve(ctx, "attacker", time.Minute); !errors.Is(err, ErrTooManySeats) {
			t.Fatalf("a 4th hold for an address limited to 3: %v; want ErrTooManySeats", err)
		}
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Addr: "attacker"}); !errors.Is(err, ErrTooManySeats) {
			t.Errorf("a join of the attacker's, its 3 seats held: %v; want ErrTooManySeats", err)
		}
		for i := range 7 {
			if _, err := r.Reserve(ctx, fmt.Sprintf("other-%d", i), time.Minute); err != nil {
				t.Fatalf("hold of another address: %v", err)
			}
		}
		if _, err := r.Reserve(ctx, "one-more", time.Minute); !errors.Is(err, ErrRoomFull) {
			t.Errorf("an 11th hold in a room of 40: %v; want ErrRoomFull, holds being a quarter at most", err)
		}
		if st := r.Stats(); st.Held != 10 {
			t.Errorf("Stats().Held = %d; want 10", st.Held)
		}
		join(t, r, &fakeClient{}, "") // no seat, and room for it
		mu.Lock()
		if charged["attacker"] != 3 {
			t.Errorf("the attacker is charged %d seats; want its 3 holds", charged["attacker"])
		}
		mu.Unlock()
		// Taken: the join counts instead of the hold.
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Addr: "attacker", Seat: seats[0]}); err != nil {
			t.Fatalf("the attacker's player with its seat: %v", err)
		}
		mu.Lock()
		if charged["attacker"] != 3 {
			t.Errorf("after a held seat is taken the attacker is charged %d; want 3 (2 holds, 1 player)", charged["attacker"])
		}
		mu.Unlock()
		// Lapsed: the room's ticks let the rest go.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		mu.Lock()
		if charged["attacker"] != 1 || charged["other-0"] != 0 {
			t.Errorf("after the holds lapse the attacker is charged %d and another %d; want 1 and 0", charged["attacker"], charged["other-0"])
		}
		mu.Unlock()
		if st := r.Stats(); st.Held != 0 {
			t.Errorf("Stats().Held after the holds lapsed = %d; want 0", st.Held)
		}
	})
}

// TestAnAddressHoldsAFewSeatsAtMost: an address that keeps asking for held
// seats has sent its earlier clients elsewhere; past holdsPerAddr, each new
// hold takes the place of its oldest, whose seat token no longer works.
func TestAnAddressHoldsAFewSeatsAtMost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{Capacity: 100}})
		ctx := context.Background()
		var seats []string
		for range holdsPerAddr + 3 {
			seat, err := r.Reserve(ctx, "flood", time.Minute)
			if err != nil {
				t.Fatalf("hold %d: %v", len(seats)+1, err)
			}
			seats = append(seats, seat)
		}
		if st := r.Stats(); st.Held != holdsPerAddr {
			t.Errorf("holds of one address after %d asks: %d; want %d", len(seats), st.Held, holdsPerAddr)
		}
		if _, err := r.Reserve(ctx, "friend", time.Minute); err != nil {
			t.Errorf("another address's hold: %v", err)
		}
		// The first seats are gone: a join with one takes a plain seat,
		// and the hold count does not move.
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Addr: "flood", Seat: seats[0]}); err != nil {
			t.Fatalf("a join with a superseded seat: %v", err)
		}
		if st := r.Stats(); st.Held != holdsPerAddr+1 {
			t.Errorf("holds after a join with a superseded seat: %d; want %d", st.Held, holdsPerAddr+1)
		}
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Addr: "flood", Seat: seats[len(seats)-1]}); err != nil {
			t.Fatalf("a join with the newest seat: %v", err)
		}
		if st := r.Stats(); st.Held != holdsPerAddr {
			t.Errorf("holds after the newest seat is taken: %d; want %d", st.Held, holdsPerAddr)
		}
	})
}
