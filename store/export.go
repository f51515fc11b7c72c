package store

import (
	"context"
	"fmt"
	"time"
)

// AccountObjects returns every object of an account's storage, by
// collection and key: what its export holds.
func (db *DB) AccountObjects(ctx context.Context, account string) ([]Object, error) {
	return db.objects(ctx, "account objects", `SELECT `+objectColumns+` FROM storage_objects
		WHERE account_id = ? ORDER BY collection, key`, account)
}

// AccountEntry is one of an account's scores on a leaderboard.
type AccountEntry struct {
	Board     string
	Season    int64 // the season's start, unix microseconds
	Score     int64
	UpdatedAt time.Time
}

// AccountEntries returns an account's scores on every board and season,
// by board and season: what its export holds.
func (db *DB) AccountEntries(ctx context.Context, account string) ([]AccountEntry, error) {
	rows, err := db.SQL.QueryContext(ctx, db.rebind(`SELECT board, season, score, updated_at FROM leaderboard_entries
		WHERE account_id = ? ORDER BY board, season`), account)
	if err != nil {
		return nil, fmt.Errorf("store: account entries: %w", err)
	}
	defer rows.Close()
	var es []AccountEntry
	for rows.Next() {
		var e AccountEntry
		var at int64
		if err := rows.Scan(&e.Board, &e.Season, &e.Score, &at); err != nil {
			return nil, fmt.Errorf("store: account entries: %w", err)
		}
		e.UpdatedAt = fromMicro(at)
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: account entries: %w", err)
	}
	return es, nil
}
