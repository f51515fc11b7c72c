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


-- leaderboard_counts: how many entries of a board's season fall in each
-- bucket of sort keys, at eight levels: level L's bucket of a key is
-- key >> 8L (arithmetic, so it keeps the keys' order). The entries better
-- than a key k are, level by level, those in the buckets before k's
-- within k's bucket of the level above: at most 255 buckets a level,
-- 2,040 rows in all, however many entries the board holds, where a count
-- of the index's range before k reads every better entry (63 ms at the
-- median on SQLite for a million). Triggers keep the counts with the
-- entries: Submit stays one statement, and the counts follow entries
-- deleted with their account. The rows a statement changes are taken in
-- (level, bucket) order, the same in every transaction, so that two
-- submissions never wait on each other's counts in a cycle.
CREATE TABLE leaderboard_levels (level INTEGER PRIMARY KEY);
INSERT INTO leaderboard_levels (level) VALUES (0), (1), (2), (3), (4), (5), (6), (7);
CREATE TABLE leaderboard_counts (
	board  TEXT NOT NULL REFERENCES leaderboards (id) ON DELETE CASCADE,
	season BIGINT NOT NULL,
	level  INTEGER NOT NULL,
	bucket BIGINT NOT NULL,
	n      BIGINT NOT NULL,
	PRIMARY KEY (board, season, level, bucket)
);
-- +goose StatementBegin
CREATE FUNCTION leaderboard_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO leaderboard_counts (board, season, level, bucket, n)
		SELECT board, season, level, bucket, sum(d) FROM (SELECT NEW.board AS board, NEW.season AS season, l.level AS level, NEW.sort_key >> (8 * l.level) AS bucket, 1 AS d FROM leaderboard_levels l) x
		GROUP BY board, season, level, bucket HAVING sum(d) <> 0 ORDER BY board, season, level, bucket
		ON CONFLICT (board, season, level, bucket) DO UPDATE SET n = leaderboard_counts.n + excluded.n;
	ELSIF TG_OP = 'UPDATE' THEN
		IF OLD.sort_key <> NEW.sort_key THEN
		INSERT INTO leaderboard_counts (board, season, level, bucket, n)
		SELECT board, season, level, bucket, sum(d) FROM (SELECT OLD.board AS board, OLD.season AS season, l.level AS level, OLD.sort_key >> (8 * l.level) AS bucket, -1 AS d FROM leaderboard_levels l
			UNION ALL SELECT NEW.board AS board, NEW.season AS season, l.level AS level, NEW.sort_key >> (8 * l.level) AS bucket, 1 AS d FROM leaderboard_levels l) x
		GROUP BY board, season, level, bucket HAVING sum(d) <> 0 ORDER BY board, season, level, bucket
		ON CONFLICT (board, season, level, bucket) DO UPDATE SET n = leaderboard_counts.n + excluded.n;
		END IF;
	ELSE
		INSERT INTO leaderboard_counts (board, season, level, bucket, n)
		SELECT board, season, level, bucket, sum(d) FROM (SELECT OLD.board AS board, OLD.season AS season, l.level AS level, OLD.sort_key >> (8 * l.level) AS bucket, -1 AS d FROM leaderboard_levels l) x
		GROUP BY board, season, level, bucket HAVING sum(d) <> 0 ORDER BY board, season, level, bucket
		ON CONFLICT (board, season, level, bucket) DO UPDATE SET n = leaderboard_counts.n + excluded.n;
	END IF;
	RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER leaderboard_entries_count AFTER INSERT OR UPDATE OF sort_key OR DELETE ON leaderboard_entries
	FOR EACH ROW EXECUTE FUNCTION leaderboard_count();

-- +goose Down
DROP TABLE leaderboard_entries;
DROP TABLE leaderboard_counts;
DROP TABLE leaderboard_levels;
DROP FUNCTION leaderboard_count;
DROP TABLE leaderboards;
