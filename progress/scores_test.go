package progress

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
)

// TestGameScores: a score a game submits (game.Submitter, through the
// room's host) reaches its board by the board's operator, written by the
// writer; one for a board or an account the store does not know is
// dropped without holding up the next.
func TestGameScores(t *testing.T) {
	each(t, func(t *testing.T, dbURL string) {
		db := openDB(t, dbURL)
		mode := game.Mode{Name: "arcade", New: func(game.Config) game.Game { return nil },
			Boards: []game.Board{{ID: "arcade_best", Stat: "score"}, {ID: "arcade_coins", Stat: "coins", Operator: "incr"}}}
		s := newService(t, db, mode)
		addAccounts(t, db, "ann")
		for _, sub := range []game.Submission{
			{Account: "ann", Board: "arcade_best", Score: 40},
			{Account: "ann", Board: "no_such_board", Score: 1},
			{Account: "stranger", Board: "arcade_best", Score: 99},
			{Account: "ann", Board: "arcade_best", Score: 30}, // best keeps 40
			{Account: "ann", Board: "arcade_coins", Score: 5},
			{Account: "ann", Board: "arcade_coins", Score: 7},
		} {
			s.Score(sub)
		}
		arenatest.Eventually(t, within, 10*time.Millisecond, func() error {
			ctx := context.Background()
			for board, want := range map[string]int64{"arcade_best": 40, "arcade_coins": 12} {
				b, err := db.BoardByID(ctx, board)
				if err != nil {
					return err
				}
				r, err := game.ParseReset(b.Reset)
				if err != nil {
					return err
				}
				e, err := db.Rank(ctx, board, r.Season(time.Now()).UnixMicro(), "ann")
				if err != nil || e.Score != want || e.Rank != 1 {
					return errors.Join(err, fmt.Errorf("ann on %s: %+v; want %d, rank 1", board, e, want))
				}
			}
			return nil
		})
	})
}
