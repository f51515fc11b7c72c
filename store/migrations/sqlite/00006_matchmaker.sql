-- +goose Up
-- The matchmaker's pool (package matchmaker): one row a ticket, waiting
-- until a matcher takes it (state matched, with its room, URL and a seat
-- per account), its player cancels it, or it expires. Rows that left the
-- pool stay a while, so that a player who polls late still reads its
-- match. Times are microseconds since the Unix epoch, as elsewhere.
-- options, party and seats are JSON text: read and written whole, never
-- queried into.
CREATE TABLE matchmaker_tickets (
	id         TEXT PRIMARY KEY,
	account    TEXT NOT NULL,
	pool       TEXT NOT NULL, -- mode and options (matchmaker.PoolKey)
	mode       TEXT NOT NULL,
	options    TEXT NOT NULL,
	party      TEXT NOT NULL,
	mu         REAL NOT NULL,
	sigma      REAL NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	state      TEXT NOT NULL,
	room       TEXT NOT NULL DEFAULT '',
	url        TEXT NOT NULL DEFAULT '',
	seats      TEXT NOT NULL DEFAULT '{}',
	team       INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
) STRICT;
-- One waiting ticket an account: a second would let it be matched twice.
CREATE UNIQUE INDEX matchmaker_tickets_waiting ON matchmaker_tickets (account) WHERE state = 'waiting';
CREATE INDEX matchmaker_tickets_state ON matchmaker_tickets (state, updated_at);

-- The lease of the one matcher a cluster runs at a time.
CREATE TABLE matchmaker_lease (
	name   TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	until  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE matchmaker_lease;
DROP TABLE matchmaker_tickets;
