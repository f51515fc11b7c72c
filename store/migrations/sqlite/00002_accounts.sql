-- +goose Up
-- Times are INTEGER microseconds since the Unix epoch, UTC, in this
-- dialect and the other (BIGINT there): one query text and one scan path
-- serve both, and both keep the microsecond. NULL marks a time not set.

-- accounts: name_key and email_key hold the name and email lowercased by
-- the store (Go's strings.ToLower), not by SQL: SQLite's lower() folds
-- ASCII only, and Postgres's follows the server's locale, so a key made in
-- SQL would make "Ä" and "ä" one name on one backend and two on the other.
-- A guest has no email: email is '' and email_key NULL, which a unique
-- index lets many rows share.
CREATE TABLE accounts (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	name_key       TEXT NOT NULL,
	email          TEXT NOT NULL DEFAULT '',
	email_key      TEXT,
	password_hash  TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	banned_until   INTEGER,
	ban_reason     TEXT NOT NULL DEFAULT '',
	revoked_before INTEGER
) STRICT;
CREATE UNIQUE INDEX accounts_name_key ON accounts (name_key);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_key);
CREATE INDEX accounts_created_at ON accounts (created_at);
-- Sanctions reads these every few seconds from every node.
CREATE INDEX accounts_banned_until ON accounts (banned_until) WHERE banned_until IS NOT NULL;
CREATE INDEX accounts_revoked_before ON accounts (revoked_before) WHERE revoked_before IS NOT NULL;

-- refresh_tokens: a spent token stays, spent = 1, until its family goes,
-- so that its reuse is recognized as theft rather than as unknown.
CREATE TABLE refresh_tokens (
	hash       TEXT PRIMARY KEY,
	family     TEXT NOT NULL,
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	issued_at  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	spent      INTEGER NOT NULL DEFAULT 0 CHECK (spent IN (0, 1))
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_account_id ON refresh_tokens (account_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- external_identities: an account signed in by another issuer (OpenID
-- Connect, a studio's JWT), known by that issuer's subject.
CREATE TABLE external_identities (
	issuer     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (issuer, subject)
) STRICT;
CREATE INDEX external_identities_account_id ON external_identities (account_id);

-- signing_keys: the access tokens' HMAC keys, shared by every node.
CREATE TABLE signing_keys (
	id         TEXT PRIMARY KEY,
	secret     BLOB NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX signing_keys_created_at ON signing_keys (created_at);

-- audit_log: account_id is plain text, no foreign key, so that a deleted
-- account's entries stay.
CREATE TABLE audit_log (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	account_id TEXT NOT NULL,
	detail     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_account_id ON audit_log (account_id, at, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE signing_keys;
DROP TABLE external_identities;
DROP TABLE refresh_tokens;
DROP TABLE accounts;
