package room

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// live reports whether the manager holds the room name.
func live(m *Manager, name string) bool {
	return slices.ContainsFunc(m.Rooms(), func(st Stats) bool { return st.Name == name })
}

// visit joins the room name of mode and leaves it at once, on purpose,
// so that it is empty from now.
func visit(t *testing.T, m *Manager, name, mode string) {
	t.Helper()
	c := &fakeClient{}
	r, j, err := m.Join(context.Background(), name, mode, JoinRequest{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	r.Leave(j.Player, c, true)
}

// TestIdleTimeoutsPerMode: an empty room lives the manager's idle
// timeout, or its mode's, or for ever if its mode keeps its rooms alive
// or the timeout is 0.
func TestIdleTimeoutsPerMode(t *testing.T) {
	short := dots.Mode
	short.Name, short.IdleTimeout = "short", time.Second
	kept := dots.Mode
	kept.Name, kept.KeepAlive = "kept", true
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		mode    string
		gone    time.Duration // 0: never
	}{
		{"server's timeout", time.Minute, "dots", time.Minute},
		{"mode's timeout", time.Minute, "short", time.Second},
		{"mode keeps alive", time.Minute, "kept", 0},
		{"0 is for ever", 0, "dots", 0},
		{"0 gives way to the mode's", 0, "short", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m, err := NewManager(ManagerConfig{Modes: []game.Mode{dots.Mode, short, kept}, Room: Settings{TickRate: 1, IdleTimeout: tc.timeout},
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				visit(t, m, "r", tc.mode)
				wait := tc.gone
				if wait == 0 {
					wait = time.Hour
				}
				time.Sleep(wait - 200*time.Millisecond)
				synctest.Wait()
				if !live(m, "r") {
					t.Fatalf("the room went before %v", wait)
				}
				time.Sleep(400 * time.Millisecond)
				synctest.Wait()
				if gone := !live(m, "r"); gone != (tc.gone != 0) {
					t.Errorf("after %v empty: gone %v, want %v", wait+200*time.Millisecond, gone, tc.gone != 0)
				}
			})
		})
	}
}

// TestKeptRoomsLiveForEver: the kept rooms are open before anyone joins,
// outlive any idle timeout, and one whose game ends without a rematch is
// opened anew.
func TestKeptRoomsLiveForEver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := NewManager(ManagerConfig{Modes: []game.Mode{dots.Mode, heraldMode(3)}, Room: Settings{TickRate: 10, IdleTimeout: time.Second},
			KeepRooms: []KeptRoom{{Name: "lobby", Mode: "dots"}, {Name: "short", Mode: "herald"}},
			Logger:    slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.OpenKept()
		if !live(m, "lobby") || !live(m, "short") {
			t.Fatalf("kept rooms not open: %v", m.Rooms())
		}
		visit(t, m, "lobby", "")
		visit(t, m, "other", "dots")
		time.Sleep(time.Minute)
		synctest.Wait()
		if !live(m, "lobby") || live(m, "other") {
			t.Errorf("after a minute: lobby live %v, other live %v; want true, false", live(m, "lobby"), live(m, "other"))
		}
		// The herald game has ended many times by now (at tick 3 each
		// time); its room is open again, on a fresh game.
		if !live(m, "short") {
			t.Fatal("the kept room whose game ended is gone")
		}
		for _, st := range m.Rooms() {
			if st.Name == "short" && st.Ticks > 3 {
				t.Errorf("the kept room has run %d ticks; a fresh one runs at most 3", st.Ticks)
			}
		}
	})
}

func TestKeptRoomsAreChecked(t *testing.T) {
	for _, keep := range [][]KeptRoom{
		{{Name: "bad name!", Mode: "dots"}},
		{{Name: "lobby", Mode: "nope"}},
		{{Name: "lobby", Mode: "dots"}, {Name: "lobby", Mode: "dots"}},
	} {
		if _, err := NewManager(ManagerConfig{Modes: []game.Mode{dots.Mode}, KeepRooms: keep}); err == nil {
			t.Errorf("kept rooms %v accepted", keep)
		}
	}
}
