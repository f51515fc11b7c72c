-- +goose Up
-- Times are BIGINT microseconds since the Unix epoch, UTC, as in the
-- SQLite dialect (INTEGER there), rather than timestamptz: one query text
-- and one scan path serve both, with no session time zone in the way.
-- timestamptz keeps the microsecond too, so nothing is lost; to read one
-- by hand: to_timestamp(created_at / 1e6). NULL marks a time not set.

-- accounts: name_key and email_key hold the name and email lowercased by
-- the store (Go's strings.ToLower), not by SQL: Postgres's lower() follows
-- the server's locale, and SQLite's folds ASCII only, so a key made in SQL
-- would make "Ä" and "ä" one name on one backend and two on the other.
-- A guest has no email: email is '' and email_key NULL, which a unique
-- index lets many rows share.
CREATE TABLE accounts (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	name_key       TEXT NOT NULL,
	email          TEXT NOT NULL DEFAULT '',
	email_key      TEXT,
	password_hash  TEXT NOT NULL DEFAULT '',
	created_at     BIGINT NOT NULL,
	banned_until   BIGINT,
	ban_reason     TEXT NOT NULL DEFAULT '',
	revoked_before BIGINT
);
CREATE UNIQUE INDEX accounts_name_key ON accounts (name_key);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email_key);
CREATE INDEX accounts_created_at ON accounts (created_at);
-- Sanctions reads these every few seconds from every node.
CREATE INDEX accounts_banned_until ON accounts (banned_until) WHERE banned_until IS NOT NULL;
CREATE INDEX accounts_revoked_before ON accounts (revoked_before) WHERE revoked_before IS NOT NULL;

-- refresh_tokens: a spent token stays, spent = true, until its family
-- goes, so that its reuse is recognized as theft rather than as unknown.
CREATE TABLE refresh_tokens (
	hash       TEXT PRIMARY KEY,
	family     TEXT NOT NULL,
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	issued_at  BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	spent      BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_account_id ON refresh_tokens (account_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- external_identities: an account signed in by another issuer (OpenID
-- Connect, a studio's JWT), known by that issuer's subject.
CREATE TABLE external_identities (
	issuer     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (issuer, subject)
);
CREATE INDEX external_identities_account_id ON external_identities (account_id);

-- signing_keys: the access tokens' HMAC keys, shared by every node.
CREATE TABLE signing_keys (
	id         TEXT PRIMARY KEY,
	secret     BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX signing_keys_created_at ON signing_keys (created_at);

-- audit_log: account_id is plain text, no foreign key, so that a deleted
-- account's entries stay.
CREATE TABLE audit_log (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at         BIGINT NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	account_id TEXT NOT NULL,
	detail     TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_account_id ON audit_log (account_id, at, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE signing_keys;
DROP TABLE external_identities;
DROP TABLE refresh_tokens;
DROP TABLE accounts;
