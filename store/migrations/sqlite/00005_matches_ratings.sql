-- +goose Up
-- Match history and skill ratings (issue 25). Times are INTEGER
-- microseconds since the Unix epoch, as in 00002.

-- matches: one finished game, keyed by its result's identity
-- (room.Report.Key(): room/roomID/game), which a room keeps when it moves
-- between nodes or is restored from a checkpoint: a result delivered
-- twice is one row, and the insert that finds it there writes nothing
-- else (store.RecordMatch). guests counts the players with no account,
-- who have no rows in match_players. started_at is NULL when unknown.
CREATE TABLE matches (
	key        TEXT PRIMARY KEY,
	mode       TEXT NOT NULL,
	room       TEXT NOT NULL,
	game       INTEGER NOT NULL,
	started_at INTEGER,
	ended_at   INTEGER NOT NULL,
	summary    TEXT NOT NULL DEFAULT '',
	guests     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX matches_ended_at ON matches (ended_at);

-- match_players: the players of a match who have accounts, one row an
-- account (one that played twice keeps its best). standing is the
-- 1-based place (ties and teammates share one; 0: no place, a player who
-- left without a standing); stats is a JSON object of the game's counts.
-- ended_at is the match's, copied here so that an account's history
-- pages on one index, newest first. A deleted account's rows go with it:
-- its history is its own.
CREATE TABLE match_players (
	match_key  TEXT NOT NULL REFERENCES matches (key) ON DELETE CASCADE,
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	player_id  INTEGER NOT NULL,
	name       TEXT NOT NULL,
	standing   INTEGER NOT NULL,
	score      INTEGER NOT NULL,
	team       INTEGER NOT NULL DEFAULT 0,
	stats      TEXT NOT NULL DEFAULT '{}',
	ended_at   INTEGER NOT NULL,
	PRIMARY KEY (match_key, account_id)
) STRICT;
CREATE INDEX match_players_account ON match_players (account_id, ended_at DESC, match_key DESC);

-- ratings: an account's Weng-Lin rating in a mode, and the games it
-- counts. Read and written only in RecordMatch's transaction, which SQLite
-- serializes (one connection, BEGIN IMMEDIATE),
-- so that two results sharing a player never lose an update.
CREATE TABLE ratings (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	mode       TEXT NOT NULL,
	mu         REAL NOT NULL,
	sigma      REAL NOT NULL,
	games      INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, mode)
) STRICT;
-- The matchmaker reads a mode's ratings.
CREATE INDEX ratings_mode ON ratings (mode, account_id);

-- +goose Down
DROP TABLE ratings;
DROP TABLE match_players;
DROP TABLE matches;
