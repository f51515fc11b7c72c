-- +goose Up
-- storage_objects: what players keep between games, as keyed JSON objects
-- in named collections, per account (progress/storage.go serves them).
--
-- value is the object's JSON text, compacted; size is its length in bytes,
-- counted by the store rather than by SQL, whose length() counts
-- characters in SQLite and bytes only with octet_length() in Postgres: the
-- per-account limit is the sum of size, alike on both backends.
--
-- version grows with every write: an optimistic writer sends the version
-- it read, and a write over another is refused. It is never reused, not
-- even after a deletion (the store takes the larger of the old one plus
-- one and the time in microseconds), so that a version read from a
-- deleted object cannot match the one created after it.
--
-- read_perm: 'owner' (only its account reads it) or 'public' (any signed-in
-- player does); write_perm: 'owner' (its account writes it) or 'server'
-- (only games and the server do).
CREATE TABLE storage_objects (
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	collection TEXT NOT NULL,
	key        TEXT NOT NULL,
	value      TEXT NOT NULL,
	size       INTEGER NOT NULL,
	version    INTEGER NOT NULL,
	read_perm  TEXT NOT NULL CHECK (read_perm IN ('owner', 'public')),
	write_perm TEXT NOT NULL CHECK (write_perm IN ('owner', 'server')),
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, collection, key)
) STRICT;

-- +goose Down
DROP TABLE storage_objects;
