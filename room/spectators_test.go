package room

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// watchedTeams is teamsGame that shows spectators team 1's view.
type watchedTeams struct{ teamsGame }

func (watchedTeams) WatcherView() game.ViewKey { return 1 }

func watch(r *Room, c Client) error {
	_, err := r.Join(context.Background(), JoinRequest{Client: c, Watch: true})
	return err
}

func TestSpectatorsOfAViewerNeedAWatcherView(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var built atomic.Int64
		hidden := game.Mode{Name: "teams", New: func(cfg game.Config) game.Game { return teamsGame{dots.New(cfg), &built} }}
		r, _ := startRoom(t, Config{Mode: hidden})
		if err := watch(r, &fakeClient{}); !errors.Is(err, ErrNoSpectators) {
			t.Errorf("a spectator of a Viewer that shows spectators nothing: %v; want ErrNoSpectators", err)
		}

		shown := game.Mode{Name: "watched", New: func(cfg game.Config) game.Game { return watchedTeams{teamsGame{dots.New(cfg), &built}} }}
		r, _ = startRoom(t, Config{Mode: shown, Settings: Settings{TickRate: 20}})
		players := []*fakeClient{{}, {}}
		ids := make([]game.PlayerID, len(players))
		for i, c := range players {
			ids[i] = join(t, r, c, "").Player
		}
		w := &fakeClient{}
		if err := watch(r, w); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		built.Store(0)
		time.Sleep(time.Second) // 20 ticks
		synctest.Wait()
		// Two teams' views, and the spectators' is one of them: no third.
		if n := built.Load(); n != 2*20 {
			t.Errorf("built %d views in 20 ticks of 2 teams and a spectator; want 40", n)
		}
		st := w.last()
		if st.Snap == nil || st.Snap.View != 1 || st.You != 0 {
			t.Fatalf("the spectator's last state: %+v; want view 1, no player", st)
		}
		for i, p := range players {
			if shared := p.last().Snap == st.Snap; shared != (ids[i]%2 == 1) {
				t.Errorf("player %d shares the spectator's snapshot: %v", ids[i], shared)
			}
		}
		if s, ok := w.eventList()[0].(Seated); !ok || !s.Watching || s.Player != 0 || s.Token != "" {
			t.Errorf("the spectator's welcome: %+v", w.eventList()[0])
		}
		if got := r.Stats(); got.Players != 2 || got.Spectators != 1 {
			t.Errorf("stats: %d players, %d spectators; want 2 and 1", got.Players, got.Spectators)
		}
		r.Leave(0, w, false)
		synctest.Wait()
		if got := r.Stats().Spectators; got != 0 {
			t.Errorf("%d spectators after the only one dropped; want 0: a spectator has no grace", got)
		}
	})
}

// A room that moves takes its players along and not its spectators: the
// document has no member for them, and they are told where it went, as
// players are, and hold nothing there.
func TestSpectatorsDoNotMoveWithTheRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{TickRate: 20}})
		join(t, r, &fakeClient{}, "")
		w := &fakeClient{}
		if err := watch(r, w); err != nil {
			t.Fatal(err)
		}
		there := &ElsewhereError{Room: "test", Node: "b", URL: "http://b/"}
		var doc Document
		if err := r.Move(context.Background(), func(d []byte) (*ElsewhereError, error) { return there, json.Unmarshal(d, &doc) }); err != nil {
			t.Fatal(err)
		}
		<-r.Done()
		if len(doc.Members) != 1 {
			t.Errorf("the moved room's document has %d members; want its one player", len(doc.Members))
		}
		var moved *ElsewhereError
		if !errors.As(w.closeReason(), &moved) || moved != there {
			t.Errorf("the spectator was closed with %v; want where the room went", w.closeReason())
		}
	})
}
