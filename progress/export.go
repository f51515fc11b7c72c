package progress

import (
	"context"

	"github.com/arena-server/arena/store"
)

// maxExportedMatches bounds the matches an export holds: the newest.
const maxExportedMatches = 10000

// Export is what the store keeps of an account beside the account
// itself, for its export (accounts.Config.Export): its storage, its
// ratings, its scores on the leaderboards and its matches.
type Export struct {
	Storage  []storageObject      `json:"storage"`
	Ratings  []store.Rating       `json:"ratings"`
	Scores   []store.AccountEntry `json:"leaderboard_scores"`
	Matches  []store.Match        `json:"matches"`
	Complete bool                 `json:"matches_complete"` // false: more than maxExportedMatches, the newest kept
}

// Export returns what the store keeps of an account's progress.
func (s *Service) Export(ctx context.Context, account string) (any, error) {
	out := Export{Storage: []storageObject{}, Complete: true}
	objs, err := s.db.AccountObjects(ctx, account)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		out.Storage = append(out.Storage, storageView(o))
	}
	if out.Ratings, err = s.db.Ratings(ctx, account); err != nil {
		return nil, err
	}
	if out.Scores, err = s.db.AccountEntries(ctx, account); err != nil {
		return nil, err
	}
	var cursor store.MatchCursor
	for {
		ms, next, err := s.db.MatchesOf(ctx, account, cursor, 100)
		if err != nil {
			return nil, err
		}
		out.Matches = append(out.Matches, ms...)
		if len(out.Matches) >= maxExportedMatches {
			out.Matches, out.Complete = out.Matches[:maxExportedMatches], false
			break
		}
		if next.Key == "" || len(ms) == 0 {
			break
		}
		cursor = next
	}
	return out, nil
}
