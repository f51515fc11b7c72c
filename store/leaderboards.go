package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Leaderboards. A board ranks accounts by score within a season; the
// season is the start of the board's period, in microseconds, which the
// caller computes from the board's reset schedule and the submission's
// own time (game.Reset.Season), so that the store knows nothing of
// schedules and a submission made across a reset lands in one season.
//
// Ranks are competition ranks ("1224"): an entry's rank is 1 plus the
// number of entries with a strictly better score. Entries that tie are
// listed by earlier updated_at, then by account ID's bytes: the same
// order on both backends (the Postgres column is COLLATE "C", as SQLite
// compares text).

// Board is a leaderboard's declaration.
type Board struct {
	ID string
	// Order is "desc" (higher is better) or "asc".
	Order string
	// Operator is "best", "set" or "incr".
	Operator string
	// Reset is the schedule of seasons (game.Board.Reset).
	Reset string
	// CreatedBy is "mode" or "admin".
	CreatedBy string
	CreatedAt time.Time
}

// Entry is an account's place on a board in a season.
type Entry struct {
	Account   string
	Name      string // the account's name now
	Score     int64
	Rank      int64
	UpdatedAt time.Time
}

// ErrBoardExists is CreateBoard's error for an ID in use, and
// EnsureBoard's for an ID the admin created.
var ErrBoardExists = errors.New("store: that leaderboard exists")

// ErrScore is Submit's error for math.MinInt64, the one score whose
// negation (a desc board's sort key) does not fit.
var ErrScore = errors.New("store: a score must be greater than the smallest int64")

func checkBoard(b Board) error {
	if b.ID == "" || (b.Order != "desc" && b.Order != "asc") ||
		(b.Operator != "best" && b.Operator != "set" && b.Operator != "incr") || b.Reset == "" {
		return fmt.Errorf("store: board %q: order %q, operator %q, reset %q: not a board", b.ID, b.Order, b.Operator, b.Reset)
	}
	return nil
}

// EnsureBoard brings a mode's board up to date with its declaration,
// creating it if new: what modes declare is applied at every start. A
// board whose order changes keeps its entries, ranked the new way. An ID
// the admin created is ErrBoardExists.
func (db *DB) EnsureBoard(ctx context.Context, b Board) error {
	if err := checkBoard(b); err != nil {
		return err
	}
	return db.tx(ctx, "ensure board", func(tx *sql.Tx) error {
		var order, by string
		err := tx.QueryRowContext(ctx, db.rebind(`SELECT sort, created_by FROM leaderboards WHERE id = ?`), b.ID).Scan(&order, &by)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, db.rebind(`
				INSERT INTO leaderboards (id, sort, operator, reset, created_by, created_at) VALUES (?, ?, ?, ?, 'mode', ?)`),
				b.ID, b.Order, b.Operator, b.Reset, micro(b.CreatedAt))
			if err != nil {
				return fmt.Errorf("store: ensure board %s: %w", b.ID, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("store: ensure board %s: %w", b.ID, err)
		case by != "mode":
			return fmt.Errorf("store: board %s, declared by a mode, was created by the admin: %w", b.ID, ErrBoardExists)
		}
		if order != b.Order {
			// The sort key is the score signed by the order: turned
			// over, the entries rank the new way.
			if _, err := tx.ExecContext(ctx, db.rebind(`UPDATE leaderboard_entries SET sort_key = -sort_key WHERE board = ?`), b.ID); err != nil {
				return fmt.Errorf("store: ensure board %s: %w", b.ID, err)
			}
		}
		_, err = tx.ExecContext(ctx, db.rebind(`UPDATE leaderboards SET sort = ?, operator = ?, reset = ? WHERE id = ?`),
			b.Order, b.Operator, b.Reset, b.ID)
		if err != nil {
			return fmt.Errorf("store: ensure board %s: %w", b.ID, err)
		}
		return nil
	})
}

// CreateBoard creates a board for the admin. An ID in use is
// ErrBoardExists.
func (db *DB) CreateBoard(ctx context.Context, b Board) error {
	if err := checkBoard(b); err != nil {
		return err
	}
	_, err := db.SQL.ExecContext(ctx, db.rebind(`
		INSERT INTO leaderboards (id, sort, operator, reset, created_by, created_at) VALUES (?, ?, ?, ?, 'admin', ?)`),
		b.ID, b.Order, b.Operator, b.Reset, micro(b.CreatedAt))
	if err != nil {
		if classify(err) != noViolation {
			return fmt.Errorf("store: create board %s: %w", b.ID, ErrBoardExists)
		}
		return fmt.Errorf("store: create board %s: %w", b.ID, err)
	}
	return nil
}

const boardColumns = `id, sort, operator, reset, created_by, created_at`

func scanBoard(s scanner) (Board, error) {
	var (
		b  Board
		at int64
	)
	err := s.Scan(&b.ID, &b.Order, &b.Operator, &b.Reset, &b.CreatedBy, &at)
	b.CreatedAt = fromMicro(at)
	return b, err
}

// Boards returns every board, by ID.
func (db *DB) Boards(ctx context.Context) ([]Board, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+boardColumns+` FROM leaderboards ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: boards: %w", err)
	}
	defer rows.Close()
	var bs []Board
	for rows.Next() {
		b, err := scanBoard(rows)
		if err != nil {
			return nil, fmt.Errorf("store: boards: %w", err)
		}
		bs = append(bs, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: boards: %w", err)
	}
	return bs, nil
}

// BoardByID returns a board, or ErrNotFound.
func (db *DB) BoardByID(ctx context.Context, id string) (Board, error) {
	b, err := scanBoard(db.SQL.QueryRowContext(ctx, db.rebind(`SELECT `+boardColumns+` FROM leaderboards WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Board{}, fmt.Errorf("store: board %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Board{}, fmt.Errorf("store: board %s: %w", id, err)
	}
	return b, nil
}

// submitSQL holds the one statement of each operator. Each is an upsert,
// so that concurrent submissions of one account need no transaction and
// none is lost: the database serializes them on the entry's row. The
// sort key moves with the score: it is the score times ±1, so adding to
// one adds the same, signed, to the other.
var submitSQL = map[string]string{
	// best keeps the better score, and the time it was reached: a
	// worse or equal submission changes nothing, so that of two equal
	// scores the one reached first ranks first.
	"best": `INSERT INTO leaderboard_entries (board, season, account_id, score, sort_key, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (board, season, account_id) DO UPDATE SET score = excluded.score, sort_key = excluded.sort_key, updated_at = excluded.updated_at
		WHERE excluded.sort_key < leaderboard_entries.sort_key`,
	// set and incr move updated_at only when the score changes: it is
	// when the score was reached, which orders ties.
	"set": `INSERT INTO leaderboard_entries (board, season, account_id, score, sort_key, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (board, season, account_id) DO UPDATE SET score = excluded.score, sort_key = excluded.sort_key, updated_at = excluded.updated_at
		WHERE excluded.score <> leaderboard_entries.score`,
	"incr": `INSERT INTO leaderboard_entries (board, season, account_id, score, sort_key, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (board, season, account_id) DO UPDATE SET score = leaderboard_entries.score + excluded.score,
			sort_key = leaderboard_entries.sort_key + excluded.sort_key, updated_at = excluded.updated_at
		WHERE excluded.score <> 0`,
}

// sortKey is a score as the board ranks it, lower first.
func sortKey(order string, score int64) int64 {
	if order == "desc" {
		return -score
	}
	return score
}

// Submit submits an account's score to a board's season, at a time, by
// the board's operator, in one statement. An unknown board or account is
// ErrNotFound.
func (db *DB) Submit(ctx context.Context, b Board, season int64, account string, score int64, at time.Time) error {
	q, ok := submitSQL[b.Operator]
	if !ok || (b.Order != "desc" && b.Order != "asc") {
		return checkBoard(b)
	}
	if score == math.MinInt64 {
		return ErrScore
	}
	_, err := db.SQL.ExecContext(ctx, db.rebind(q), b.ID, season, account, score, sortKey(b.Order, score), micro(at))
	if err != nil {
		if classify(err) == foreignKey {
			return fmt.Errorf("store: submit to %s: no such board or account %s: %w", b.ID, account, ErrNotFound)
		}
		return fmt.Errorf("store: submit to %s: %w", b.ID, err)
	}
	return nil
}

// Submission is one score for SubmitAll.
type Submission struct {
	Board   Board
	Season  int64
	Account string
	Score   int64
	At      time.Time
}

// SubmitAll submits scores in one transaction: all or none, so that a
// finished game's scores retried after a failure are not counted twice
// on an incr board.
//
// The entries are written in (board, season, account) order, and the
// counts each changes in (level, bucket) order, so that two at once
// rarely wait on each other in a cycle; when Postgres finds they do, it
// ends one, which is tried again.
func (db *DB) SubmitAll(ctx context.Context, subs []Submission) error {
	if len(subs) == 0 {
		return nil
	}
	subs = slices.Clone(subs)
	slices.SortStableFunc(subs, func(a, b Submission) int {
		return cmp.Or(cmp.Compare(a.Board.ID, b.Board.ID), cmp.Compare(a.Season, b.Season), cmp.Compare(a.Account, b.Account))
	})
	var err error
	for try := 0; try < 3; try++ {
		if err = db.submitAll(ctx, subs); !isDeadlock(err) {
			return err
		}
	}
	return err
}

// isDeadlock says whether Postgres ended a transaction to break a cycle
// of waits.
func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40P01"
}

func (db *DB) submitAll(ctx context.Context, subs []Submission) error {
	return db.tx(ctx, "submit", func(tx *sql.Tx) error { return db.submitIn(ctx, tx, subs) })
}

// submitIn submits scores, in the order given, in tx: SubmitAll's, or
// RecordMatch's, whose match row guards them against a second delivery
// of its result.
func (db *DB) submitIn(ctx context.Context, tx *sql.Tx, subs []Submission) error {
	for _, s := range subs {
		q, ok := submitSQL[s.Board.Operator]
		if !ok || (s.Board.Order != "desc" && s.Board.Order != "asc") {
			return checkBoard(s.Board)
		}
		if s.Score == math.MinInt64 {
			return ErrScore
		}
		_, err := tx.ExecContext(ctx, db.rebind(q), s.Board.ID, s.Season, s.Account, s.Score, sortKey(s.Board.Order, s.Score), micro(s.At))
		if err != nil {
			if classify(err) == foreignKey {
				// The driver's error too: Refused sees a constraint.
				return fmt.Errorf("store: submit to %s: no such board or account %s: %w: %w", s.Board.ID, s.Account, ErrNotFound, err)
			}
			return fmt.Errorf("store: submit to %s: %w", s.Board.ID, err)
		}
	}
	return nil
}

// key is an entry's place in its board's order.
type rankKey struct {
	sortKey, updatedAt int64
	account            string
}

type ranked struct {
	Entry
	key rankKey
}

// The queries read the entries alone and the accounts' names after, by
// ID: joined, Postgres may plan a scan of every account rather than the
// index's first rows (the entries' account_id is COLLATE "C", the
// accounts' id is not), and the names are a page's worth anyway.
const entryColumns = `account_id, score, sort_key, updated_at`

func (db *DB) entries(ctx context.Context, op, q string, args ...any) ([]ranked, error) {
	rows, err := db.SQL.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	var es []ranked
	for rows.Next() {
		var r ranked
		if err := rows.Scan(&r.Account, &r.Score, &r.key.sortKey, &r.key.updatedAt); err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		r.key.account = r.Account
		r.UpdatedAt = fromMicro(r.key.updatedAt)
		es = append(es, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return es, nil
}

// names fills in the names of es's accounts.
func (db *DB) names(ctx context.Context, es []ranked) error {
	if len(es) == 0 {
		return nil
	}
	args := make([]any, len(es))
	for i, e := range es {
		args[i] = e.Account
	}
	rows, err := db.SQL.QueryContext(ctx, db.rebind(`SELECT id, name FROM accounts WHERE id IN (?`+strings.Repeat(", ?", len(es)-1)+`)`), args...)
	if err != nil {
		return fmt.Errorf("store: names: %w", err)
	}
	defer rows.Close()
	names := make(map[string]string, len(es))
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("store: names: %w", err)
		}
		names[id] = name
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: names: %w", err)
	}
	for i := range es {
		es[i].Name = names[es[i].Account]
	}
	return nil
}

// better counts the entries with a strictly better score than sortKey:
// the rank, less one. It sums leaderboard_counts (the migration says
// how): at each of the eight levels, the buckets before the key's within
// the key's bucket of the level above, at most 255 rows a level.
func (db *DB) better(ctx context.Context, board string, season, sortKey int64) (int64, error) {
	var (
		q    strings.Builder
		args []any
	)
	q.WriteString(`SELECT COALESCE(SUM(n), 0) FROM (`)
	for level := 0; level < 8; level++ {
		hi := sortKey >> (8 * level)
		lo := int64(math.MinInt64) // the top level's buckets are all within one
		if level < 7 {
			lo = sortKey >> (8 * (level + 1)) << 8
		}
		if level > 0 {
			q.WriteString(` UNION ALL `)
		}
		q.WriteString(`SELECT n FROM leaderboard_counts WHERE board = ? AND season = ? AND level = ? AND bucket >= ? AND bucket < ?`)
		args = append(args, board, season, level, lo, hi)
	}
	q.WriteString(`) x`)
	var n int64
	err := db.SQL.QueryRowContext(ctx, db.rebind(q.String()), args...).Scan(&n)
	return n, err
}

// rank fills in the ranks of es, consecutive entries in the board's
// order: the first's from the counts, and each next score's as the
// previous score's rank plus the entries of the previous score, as there
// is nothing between two entries next to each other.
func (db *DB) rank(ctx context.Context, board string, season int64, es []ranked) error {
	if len(es) == 0 {
		return nil
	}
	n, err := db.better(ctx, board, season, es[0].key.sortKey)
	if err != nil {
		return err
	}
	es[0].Rank = n + 1
	last := es[len(es)-1].key.sortKey
	if last == es[0].key.sortKey {
		for i := range es {
			es[i].Rank = es[0].Rank
		}
		return nil
	}
	rows, err := db.SQL.QueryContext(ctx, db.rebind(`
		SELECT bucket, n FROM leaderboard_counts WHERE board = ? AND season = ? AND level = 0 AND bucket >= ? AND bucket < ?`),
		board, season, es[0].key.sortKey, last)
	if err != nil {
		return err
	}
	defer rows.Close()
	ties := map[int64]int64{}
	for rows.Next() {
		var k, n int64
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		ties[k] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := 1; i < len(es); i++ {
		es[i].Rank = es[i-1].Rank
		if k := es[i-1].key.sortKey; es[i].key.sortKey != k {
			es[i].Rank += ties[k]
		}
	}
	return nil
}

func entriesOf(rs []ranked) []Entry {
	es := make([]Entry, len(rs))
	for i, r := range rs {
		es[i] = r.Entry
	}
	return es
}

// Top returns a season's entries from offset, at most limit, best first,
// with their ranks and their accounts' names.
func (db *DB) Top(ctx context.Context, board string, season int64, limit, offset int) ([]Entry, error) {
	if limit < 1 || offset < 0 {
		return nil, nil
	}
	rs, err := db.entries(ctx, "top", `SELECT `+entryColumns+`
		FROM leaderboard_entries
		WHERE board = ? AND season = ?
		ORDER BY sort_key, updated_at, account_id
		LIMIT ? OFFSET ?`, board, season, limit, offset)
	if err != nil {
		return nil, err
	}
	if err := db.rank(ctx, board, season, rs); err != nil {
		return nil, fmt.Errorf("store: top: %w", err)
	}
	if err := db.names(ctx, rs); err != nil {
		return nil, err
	}
	return entriesOf(rs), nil
}

// entry returns an account's entry, with its rank and name, or
// ErrNotFound.
func (db *DB) entry(ctx context.Context, board string, season int64, account string) (ranked, error) {
	r := ranked{Entry: Entry{Account: account}, key: rankKey{account: account}}
	err := db.SQL.QueryRowContext(ctx, db.rebind(`
		SELECT score, sort_key, updated_at FROM leaderboard_entries WHERE board = ? AND season = ? AND account_id = ?`),
		board, season, account).Scan(&r.Score, &r.key.sortKey, &r.key.updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("store: %s has no entry on %s: %w", account, board, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("store: rank on %s: %w", board, err)
	}
	r.UpdatedAt = fromMicro(r.key.updatedAt)
	return r, nil
}

// Rank returns an account's entry in a season, with its rank, or
// ErrNotFound.
func (db *DB) Rank(ctx context.Context, board string, season int64, account string) (Entry, error) {
	r, err := db.entry(ctx, board, season, account)
	if err != nil {
		return Entry{}, err
	}
	one := []ranked{r}
	if err := db.rank(ctx, board, season, one); err != nil {
		return Entry{}, fmt.Errorf("store: rank on %s: %w", board, err)
	}
	if err := db.names(ctx, one); err != nil {
		return Entry{}, err
	}
	return one[0].Entry, nil
}

// Around returns the page of a season's entries around an account's, at
// most n long (at least 1): the account's, with up to (n-1)/2 before it
// and the rest after, best first, with their ranks. An account with no
// entry is ErrNotFound.
func (db *DB) Around(ctx context.Context, board string, season int64, account string, n int) ([]Entry, error) {
	if n < 1 {
		n = 1
	}
	me, err := db.entry(ctx, board, season, account)
	if err != nil {
		return nil, err
	}
	k := me.key
	before, err := db.entries(ctx, "around", `SELECT `+entryColumns+`
		FROM leaderboard_entries
		WHERE board = ? AND season = ? AND (sort_key, updated_at, account_id) < (?, ?, ?)
		ORDER BY sort_key DESC, updated_at DESC, account_id DESC
		LIMIT ?`, board, season, k.sortKey, k.updatedAt, k.account, (n-1)/2)
	if err != nil {
		return nil, err
	}
	after, err := db.entries(ctx, "around", `SELECT `+entryColumns+`
		FROM leaderboard_entries
		WHERE board = ? AND season = ? AND (sort_key, updated_at, account_id) > (?, ?, ?)
		ORDER BY sort_key, updated_at, account_id
		LIMIT ?`, board, season, k.sortKey, k.updatedAt, k.account, n-1-(n-1)/2)
	if err != nil {
		return nil, err
	}
	page := make([]ranked, 0, len(before)+1+len(after))
	for i := len(before) - 1; i >= 0; i-- {
		page = append(page, before[i])
	}
	page = append(page, me)
	page = append(page, after...)
	if err := db.rank(ctx, board, season, page); err != nil {
		return nil, fmt.Errorf("store: around: %w", err)
	}
	if err := db.names(ctx, page); err != nil {
		return nil, err
	}
	return entriesOf(page), nil
}
