package room

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// teamsGame is dots in which players see only their own team: odd ids
// or even ids. It counts the views it builds.
type teamsGame struct {
	*dots.Dots
	built *atomic.Int64
}

func (g teamsGame) View(id game.PlayerID) game.ViewKey { return game.ViewKey(id % 2) }

func (g teamsGame) AppendView(dst []game.Entity, key game.ViewKey) []game.Entity {
	g.built.Add(1)
	for _, e := range g.AppendEntities(nil) {
		if game.ViewKey(e.ID%2) == key {
			dst = append(dst, e)
		}
	}
	return dst
}

func TestViewsPerViewerAreBuiltOncePerDistinctView(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var built atomic.Int64
		mode := game.Mode{Name: "teams", New: func(cfg game.Config) game.Game { return teamsGame{dots.New(cfg), &built} }}
		r, _ := startRoom(t, Config{Mode: mode, Settings: Settings{TickRate: 20}})
		clients := []*fakeClient{{}, {}, {}, {}}
		ids := make([]game.PlayerID, len(clients))
		for i, c := range clients {
			ids[i] = join(t, r, c, "").Player
		}
		synctest.Wait()
		built.Store(0)
		time.Sleep(time.Second) // 20 ticks
		synctest.Wait()
		if n := built.Load(); n != 2*20 {
			t.Errorf("built %d views in 20 ticks of 2 teams; want 40", n)
		}
		for i, c := range clients {
			st := c.last()
			if st.Snap.View != game.ViewKey(ids[i]%2) {
				t.Errorf("player %d got view %d", ids[i], st.Snap.View)
			}
			for _, e := range st.Snap.Entities {
				if e.ID%2 != uint32(ids[i]%2) {
					t.Errorf("player %d sees %d of the other team", ids[i], e.ID)
				}
			}
			if len(st.Snap.Entities) != 2 {
				t.Errorf("player %d sees %d entities; want its team of 2", ids[i], len(st.Snap.Entities))
			}
			// Teammates share one snapshot: one encoding per view.
			for j, d := range clients {
				if same := d.last().Snap == st.Snap; same != (ids[i]%2 == ids[j]%2) {
					t.Errorf("players %d and %d share a snapshot: %v", ids[i], ids[j], same)
				}
			}
		}
	})
}
