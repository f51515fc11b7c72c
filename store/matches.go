package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Match is a finished game as the history keeps it.
type Match struct {
	// Key is the result's identity, room.Report.Key(): a room keeps it
	// when it moves or is restored, so a result delivered twice has one
	// key, and RecordMatch writes it once.
	Key     string
	Mode    string
	Room    string
	Game    int
	Started time.Time // zero: unknown
	Ended   time.Time
	Summary string
	// Guests counts the players with no account (or an account the store
	// does not know): they have no rows of their own.
	Guests  int
	Players []MatchPlayer
	// Submissions are the match's scores for the leaderboards, written in
	// its transaction, so once with it: those of accounts the store does
	// not know are left out.
	Submissions []Submission
}

// MatchPlayer is a player of a match who has an account. An account has
// one in a match: if it played twice (two tabs), the first in Players.
type MatchPlayer struct {
	Account string
	Player  uint32 // game.PlayerID
	Name    string
	// Standing is the 1-based place: tied players and teammates share
	// one. 0: no place (a player who left and has no standing), and no
	// rating change.
	Standing int
	Score    int64
	Team     int
	Stats    map[string]int64
}

// Rating is an account's skill rating in a mode (Weng-Lin; package
// rating does the math).
type Rating struct {
	Mode      string
	Mu, Sigma float64
	// Games counts the matches the rating has taken in. 0: none yet, and
	// Mu and Sigma mean nothing (the caller uses its default).
	Games   int
	Updated time.Time
}

// MatchCursor is where a page of an account's history ends: the next page
// holds the matches after it, older. The zero cursor starts at the newest.
type MatchCursor struct {
	Ended time.Time
	Key   string
}

// Rater computes the new ratings of a match's rated accounts from their
// current ones, inside RecordMatch's transaction, with those rows locked.
// current has an entry for each rated account the store knows (a zero
// Games for one with no rating yet in the mode); accounts left out of
// the answer keep their rating.
type Rater func(current map[string]Rating) map[string]Rating

// inChunk bounds the values of one IN list: far under SQLite's 32766
// parameters and Postgres's 65535, and a match has at most a room's
// players.
const inChunk = 500

// RecordMatch writes a finished match, its players, its players' new
// ratings and its leaderboard scores in one transaction, once: if a match of its key is there
// already (a retry after a failure whose commit did happen, a room moved
// or restored that reports its game again), it writes nothing and
// returns already = true. The match row is the guard: it is inserted
// first, and a concurrent duplicate waits on its key until the first
// commits, then inserts nothing.
//
// Players whose account the store does not know (a program's own user
// IDs, or an account deleted since) are counted in Guests instead. The
// rated accounts are the known accounts of players with a Standing; rate
// may be nil (no ratings change).
func (db *DB) RecordMatch(ctx context.Context, m Match, rate Rater) (already bool, err error) {
	err = db.tx(ctx, "record match", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.rebind(`
			INSERT INTO matches (key, mode, room, game, started_at, ended_at, summary, guests)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0)
			ON CONFLICT (key) DO NOTHING`),
			m.Key, m.Mode, m.Room, m.Game, optMicro(m.Started), micro(m.Ended), m.Summary)
		if err != nil {
			return fmt.Errorf("store: record match: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: record match: %w", err)
		} else if n == 0 {
			already = true
			return nil
		}
		var accts []string
		for _, p := range m.Players {
			accts = append(accts, p.Account)
		}
		for _, s := range m.Submissions {
			accts = append(accts, s.Account)
		}
		known, err := db.knownAccounts(ctx, tx, accts)
		if err != nil {
			return err
		}
		guests := m.Guests
		var rated []string
		seen := map[string]bool{}
		for _, p := range m.Players {
			if !known[p.Account] {
				guests++
				continue
			}
			if seen[p.Account] {
				// One account played twice (two tabs): it keeps its first
				// row, the caller's best, and is rated once.
				continue
			}
			seen[p.Account] = true
			stats := []byte("{}")
			if len(p.Stats) > 0 {
				stats, _ = json.Marshal(p.Stats) // string keys, integers: cannot fail
			}
			if _, err := tx.ExecContext(ctx, db.rebind(`
				INSERT INTO match_players (match_key, player_id, account_id, name, standing, score, team, stats, ended_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				m.Key, int64(p.Player), p.Account, p.Name, p.Standing, p.Score, p.Team, string(stats), micro(m.Ended)); err != nil {
				return fmt.Errorf("store: record match: player %d: %w", p.Player, err)
			}
			if p.Standing > 0 {
				rated = append(rated, p.Account)
			}
		}
		var subs []Submission
		for _, sub := range m.Submissions {
			if known[sub.Account] {
				subs = append(subs, sub)
			}
		}
		// In one order, as the ratings: two nodes' matches sharing
		// players then wait for each other's entries, never deadlock.
		slices.SortStableFunc(subs, func(a, b Submission) int {
			return cmp.Or(cmp.Compare(a.Board.ID, b.Board.ID), cmp.Compare(a.Season, b.Season), cmp.Compare(a.Account, b.Account))
		})
		if err := db.submitIn(ctx, tx, subs); err != nil {
			return err
		}
		if guests != 0 {
			if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE matches SET guests = ? WHERE key = ?`), guests, m.Key); err != nil {
				return fmt.Errorf("store: record match: %w", err)
			}
		}
		if rate == nil || len(rated) == 0 {
			return nil
		}
		return db.rateIn(ctx, tx, m.Mode, rated, m.Ended, rate)
	})
	if err != nil {
		return false, err
	}
	return already, nil
}

// rateIn updates the ratings of accounts in mode, read and written in tx.
// Each account gets a row first (a placeholder of no games, which only
// this transaction sees unless it commits, updated by then), so that
// every row can be locked: on Postgres, SELECT … FOR UPDATE, in account
// order so that two matches sharing players never deadlock; SQLite's
// transactions are serialized already (one connection, BEGIN IMMEDIATE).
func (db *DB) rateIn(ctx context.Context, tx *sql.Tx, mode string, accts []string, now time.Time, rate Rater) error {
	slices.Sort(accts)
	accts = slices.Compact(accts)
	for _, a := range accts {
		if _, err := tx.ExecContext(ctx, db.rebind(`
			INSERT INTO ratings (account_id, mode, mu, sigma, games, updated_at) VALUES (?, ?, 0, 0, 0, ?)
			ON CONFLICT (account_id, mode) DO NOTHING`), a, mode, micro(now)); err != nil {
			return fmt.Errorf("store: record match: rating: %w", err)
		}
	}
	lock := ""
	if db.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	current := make(map[string]Rating, len(accts))
	for c := range slices.Chunk(accts, inChunk) {
		rows, err := tx.QueryContext(ctx, db.rebind(`
			SELECT account_id, mu, sigma, games, updated_at FROM ratings
			WHERE mode = ? AND account_id IN (`+placeholders(len(c))+`)
			ORDER BY account_id`+lock), append([]any{mode}, anys(c)...)...)
		if err != nil {
			return fmt.Errorf("store: record match: ratings: %w", err)
		}
		err = scanRatings(rows, mode, func(acct string, r Rating) { current[acct] = r })
		if err != nil {
			return fmt.Errorf("store: record match: ratings: %w", err)
		}
	}
	next := rate(current)
	for _, a := range accts {
		r, ok := next[a]
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`
			UPDATE ratings SET mu = ?, sigma = ?, games = games + 1, updated_at = ?
			WHERE account_id = ? AND mode = ?`), r.Mu, r.Sigma, micro(now), a, mode); err != nil {
			return fmt.Errorf("store: record match: rating: %w", err)
		}
	}
	// A rated account the rater left out keeps its rating; the
	// placeholder of one with none goes, so no row of no games is seen.
	for _, a := range accts {
		if _, ok := next[a]; ok || current[a].Games > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM ratings WHERE account_id = ? AND mode = ? AND games = 0`), a, mode); err != nil {
			return fmt.Errorf("store: record match: rating: %w", err)
		}
	}
	return nil
}

// knownAccounts returns which of accts are accounts in the store.
func (db *DB) knownAccounts(ctx context.Context, tx *sql.Tx, accts []string) (map[string]bool, error) {
	known := map[string]bool{}
	accts = slices.Compact(slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(accts), func(a string) bool { return a == "" }))))
	for c := range slices.Chunk(accts, inChunk) {
		rows, err := tx.QueryContext(ctx, db.rebind(`SELECT id FROM accounts WHERE id IN (`+placeholders(len(c))+`)`), anys(c)...)
		if err != nil {
			return nil, fmt.Errorf("store: record match: accounts: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: record match: accounts: %w", err)
			}
			known[id] = true
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: record match: accounts: %w", err)
		}
		rows.Close()
	}
	return known, nil
}

// Ratings returns an account's ratings, one per mode it has played, by
// mode.
func (db *DB) Ratings(ctx context.Context, account string) ([]Rating, error) {
	rows, err := db.SQL.QueryContext(ctx, db.rebind(`
		SELECT mode, mu, sigma, games, updated_at FROM ratings
		WHERE account_id = ? AND games > 0 ORDER BY mode`), account)
	if err != nil {
		return nil, fmt.Errorf("store: ratings: %w", err)
	}
	defer rows.Close()
	var out []Rating
	for rows.Next() {
		var (
			r       Rating
			updated int64
		)
		if err := rows.Scan(&r.Mode, &r.Mu, &r.Sigma, &r.Games, &updated); err != nil {
			return nil, fmt.Errorf("store: ratings: %w", err)
		}
		r.Updated = fromMicro(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: ratings: %w", err)
	}
	return out, nil
}

// RatingsFor returns the ratings in mode of those of accounts that have
// one, by account: for the matchmaker, and for whoever rates outside a
// match. An account with none is absent: the caller takes the default.
func (db *DB) RatingsFor(ctx context.Context, mode string, accounts []string) (map[string]Rating, error) {
	out := make(map[string]Rating, len(accounts))
	accounts = slices.Compact(slices.Sorted(slices.Values(accounts)))
	for c := range slices.Chunk(accounts, inChunk) {
		rows, err := db.SQL.QueryContext(ctx, db.rebind(`
			SELECT account_id, mu, sigma, games, updated_at FROM ratings
			WHERE mode = ? AND games > 0 AND account_id IN (`+placeholders(len(c))+`)`), append([]any{mode}, anys(c)...)...)
		if err != nil {
			return nil, fmt.Errorf("store: ratings for: %w", err)
		}
		if err := scanRatings(rows, mode, func(acct string, r Rating) { out[acct] = r }); err != nil {
			return nil, fmt.Errorf("store: ratings for: %w", err)
		}
	}
	return out, nil
}

// scanRatings reads rows of (account_id, mu, sigma, games, updated_at)
// and closes them.
func scanRatings(rows *sql.Rows, mode string, f func(string, Rating)) error {
	defer rows.Close()
	for rows.Next() {
		var (
			acct    string
			updated int64
		)
		r := Rating{Mode: mode}
		if err := rows.Scan(&acct, &r.Mu, &r.Sigma, &r.Games, &updated); err != nil {
			return err
		}
		r.Updated = fromMicro(updated)
		f(acct, r)
	}
	return rows.Err()
}

// MaxMatchPage bounds a page of MatchesOf.
const MaxMatchPage = 100

// MatchesOf returns a page of an account's matches, newest first, after
// the cursor before (zero: from the newest), at most limit (1 to
// MaxMatchPage) of them, each with all its stored players, best first.
// next is the cursor of the page after; zero when this page is the last.
func (db *DB) MatchesOf(ctx context.Context, account string, before MatchCursor, limit int) (ms []Match, next MatchCursor, err error) {
	limit = min(max(limit, 1), MaxMatchPage)
	q := `SELECT m.key, m.mode, m.room, m.game, m.started_at, m.ended_at, m.summary, m.guests
		FROM match_players p JOIN matches m ON m.key = p.match_key
		WHERE p.account_id = ?`
	args := []any{account}
	if !before.Ended.IsZero() {
		// Row-value comparison is in both dialects, but spelled out it
		// plainly uses the index on (account_id, ended_at, match_key).
		q += ` AND (p.ended_at < ? OR (p.ended_at = ? AND p.match_key < ?))`
		args = append(args, micro(before.Ended), micro(before.Ended), before.Key)
	}
	// One more than the page: whether there is a next one. An account
	// has one row a match (RecordMatch), so no DISTINCT.
	q += ` ORDER BY p.ended_at DESC, p.match_key DESC LIMIT ` + fmt.Sprint(limit+1)
	rows, err := db.SQL.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, MatchCursor{}, fmt.Errorf("store: matches of: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m       Match
			started sql.NullInt64
			ended   int64
		)
		if err := rows.Scan(&m.Key, &m.Mode, &m.Room, &m.Game, &started, &ended, &m.Summary, &m.Guests); err != nil {
			return nil, MatchCursor{}, fmt.Errorf("store: matches of: %w", err)
		}
		m.Started, m.Ended = fromOptMicro(started), fromMicro(ended)
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, MatchCursor{}, fmt.Errorf("store: matches of: %w", err)
	}
	rows.Close()
	if len(ms) > limit {
		ms = ms[:limit]
		last := ms[limit-1]
		next = MatchCursor{Ended: last.Ended, Key: last.Key}
	}
	if err := db.matchPlayers(ctx, ms); err != nil {
		return nil, MatchCursor{}, err
	}
	return ms, next, nil
}

// matchPlayers fills in the players of ms.
func (db *DB) matchPlayers(ctx context.Context, ms []Match) error {
	if len(ms) == 0 {
		return nil
	}
	at := make(map[string]int, len(ms))
	keys := make([]any, len(ms))
	for i, m := range ms {
		at[m.Key] = i
		keys[i] = m.Key
	}
	// Standing 0 (no place) after every place.
	rows, err := db.SQL.QueryContext(ctx, db.rebind(`
		SELECT match_key, account_id, player_id, name, standing, score, team, stats FROM match_players
		WHERE match_key IN (`+placeholders(len(keys))+`)
		ORDER BY match_key, standing = 0, standing, player_id`), keys...)
	if err != nil {
		return fmt.Errorf("store: match players: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key, stats string
			p          MatchPlayer
			id         int64
		)
		if err := rows.Scan(&key, &p.Account, &id, &p.Name, &p.Standing, &p.Score, &p.Team, &stats); err != nil {
			return fmt.Errorf("store: match players: %w", err)
		}
		p.Player = uint32(id)
		if stats != "{}" {
			if err := json.Unmarshal([]byte(stats), &p.Stats); err != nil {
				return fmt.Errorf("store: match players: stats of %s: %w", key, err)
			}
		}
		i := at[key]
		ms[i].Players = append(ms[i].Players, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: match players: %w", err)
	}
	return nil
}

// Match returns the match of a key, with its players.
func (db *DB) Match(ctx context.Context, key string) (Match, error) {
	var (
		m       Match
		started sql.NullInt64
		ended   int64
	)
	err := db.SQL.QueryRowContext(ctx, db.rebind(`
		SELECT key, mode, room, game, started_at, ended_at, summary, guests FROM matches WHERE key = ?`), key).
		Scan(&m.Key, &m.Mode, &m.Room, &m.Game, &started, &ended, &m.Summary, &m.Guests)
	if errors.Is(err, sql.ErrNoRows) {
		return Match{}, fmt.Errorf("store: match %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return Match{}, fmt.Errorf("store: match: %w", err)
	}
	m.Started, m.Ended = fromOptMicro(started), fromMicro(ended)
	ms := []Match{m}
	if err := db.matchPlayers(ctx, ms); err != nil {
		return Match{}, err
	}
	return ms[0], nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Refused reports whether the database refused a write for what it held
// (a constraint, a value of the wrong type or size, a byte Postgres text
// cannot hold) rather than failed to take it (down, busy, a lost
// connection): the same write again will be refused again, or, for a
// foreign key whose row went meanwhile, written differently. A writer
// that tries until the store takes a write gives up on one refused a few
// times, rather than stop behind it.
func Refused(err error) bool {
	if errors.Is(err, ErrScore) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 {
		switch pe.Code[:2] {
		case "22", "23", "42": // data exception, integrity constraint, syntax or access rule
			return true
		}
	}
	return false
}
