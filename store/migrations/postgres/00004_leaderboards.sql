-- +goose Up
-- leaderboards: the boards that exist, declared by a mode (created_by
-- 'mode', brought up to date at every start) or created by the admin.
-- sort is 'desc' or 'asc', operator 'best', 'set' or 'incr', reset
-- 'never', 'daily', 'weekly', 'monthly' or a cron expression.
CREATE TABLE leaderboards (
	id         TEXT PRIMARY KEY,
	sort       TEXT NOT NULL CHECK (sort IN ('desc', 'asc')),
	operator   TEXT NOT NULL CHECK (operator IN ('best', 'set', 'incr')),
	reset      TEXT NOT NULL,
	created_by TEXT NOT NULL CHECK (created_by IN ('mode', 'admin')),
	created_at BIGINT NOT NULL
);

-- leaderboard_entries: an account's score on a board in a season, the
-- season being the start of its period in microseconds (0 for a board
-- that never resets). Past seasons stay.
--
-- sort_key is the score as the board ranks it, lower first: -score on a
-- 'desc' board, score on an 'asc' one. With it, one all-ascending index
-- serves both orders: a board's ranking is (sort_key, updated_at,
-- account_id) ascending, the top N is a scan of the index from its
-- start, the page around an account a scan each way from its key, and a
-- rank a count of the index's range before it. An index on score with
-- updated_at ascending could serve only one of the orders.
--
-- account_id is COLLATE "C": ties are ordered by its bytes, as SQLite
-- orders text, whatever the database's collation.
CREATE TABLE leaderboard_entries (
	board      TEXT NOT NULL REFERENCES leaderboards (id) ON DELETE CASCADE,
	season     BIGINT NOT NULL,
	account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	score      BIGINT NOT NULL,
	sort_key   BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (board, season, account_id)
);
CREATE INDEX leaderboard_entries_rank ON leaderboard_entries (board, season, sort_key, updated_at, account_id);
-- A deleted account's entries go with it (the cascade looks them up).
CREATE INDEX leaderboard_entries_account_id ON leaderboard_entries (account_id);

-- +goose Down
DROP TABLE leaderboard_entries;
DROP TABLE leaderboards;
