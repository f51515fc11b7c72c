package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Account is a player's account: a guest's (no email, no password) or a
// registered one's.
type Account struct {
	ID            string    // 26 chars, lowercase base32 of 16 random bytes (accounts.NewID)
	Name          string    // display name; unique case-insensitively (lower(name))
	Email         string    // "" for a guest; unique case-insensitively when set
	PasswordHash  string    // argon2id PHC string, "" if none
	CreatedAt     time.Time // UTC
	BannedUntil   time.Time // zero: not banned
	BanReason     string
	RevokedBefore time.Time // sign-out everywhere: access tokens issued before it are void
}

// The store's errors, wrapped with what failed: match them with errors.Is.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrNameTaken     = errors.New("store: that name is taken")
	ErrEmailTaken    = errors.New("store: that email is taken")
	ErrRefreshReused = errors.New("store: a spent refresh token was used again")
	// ErrExternalLinked is LinkExternal's answer when the external
	// identity is already another account's: two first sign-ins of one
	// identity raced, and the loser should use the winner's account.
	ErrExternalLinked = errors.New("store: that external identity is linked to another account")
)

// Refresh is a stored refresh token.
type Refresh struct {
	Hash                string // hex SHA-256 of the opaque token; the token itself is never stored
	Family              string // every token rotated from one sign-in shares it
	AccountID           string
	IssuedAt, ExpiresAt time.Time
}

// ExternalLink is an account's identity at another issuer.
type ExternalLink struct {
	Issuer, Subject string
	CreatedAt       time.Time
}

// SigningKey is a secret access tokens are signed with.
type SigningKey struct {
	ID        string
	Secret    []byte
	CreatedAt time.Time
}

// AuditEntry is one line of the audit log. AccountID is plain text: the
// entries of a deleted account stay.
type AuditEntry struct {
	ID                               int64
	At                               time.Time
	Actor, Action, AccountID, Detail string
}

// key is how names and emails are compared: made here rather than by
// SQL's lower(), which folds ASCII only in SQLite and follows the
// server's locale in Postgres, so that both backends agree on which
// names are one.
func key(s string) string { return strings.ToLower(s) }

// micro and fromMicro are the one representation of a time in both
// dialects: integer microseconds since the Unix epoch.
func micro(t time.Time) int64 { return t.UnixMicro() }

func fromMicro(v int64) time.Time { return time.UnixMicro(v).UTC() }

// optMicro stores the zero time as NULL, "not set".
func optMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromOptMicro(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicro(v.Int64)
}

// emailKey is NULL for a guest: a unique index lets many rows share it.
func emailKey(email string) any {
	if email == "" {
		return nil
	}
	return key(email)
}

// violation is the constraint a write ran into, as classify finds it in
// either driver's error.
type violation int

const (
	noViolation violation = iota
	uniqueName
	uniqueEmail
	uniqueOther
	foreignKey
)

func classify(err error) violation {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// SQLite names the columns, not the index:
			// "UNIQUE constraint failed: accounts.name_key".
			switch msg := se.Error(); {
			case strings.Contains(msg, "accounts.name_key"):
				return uniqueName
			case strings.Contains(msg, "accounts.email_key"):
				return uniqueEmail
			}
			return uniqueOther
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return foreignKey
		}
		return noViolation
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			switch pe.ConstraintName {
			case "accounts_name_key":
				return uniqueName
			case "accounts_email_key":
				return uniqueEmail
			}
			return uniqueOther
		case "23503": // foreign_key_violation
			return foreignKey
		}
	}
	return noViolation
}

// accountError turns a write's error into the store's: a taken name or
// email, or a missing account (a foreign key).
func accountError(op string, err error) error {
	switch classify(err) {
	case uniqueName:
		return ErrNameTaken
	case uniqueEmail:
		return ErrEmailTaken
	case foreignKey:
		return fmt.Errorf("store: %s: no such account: %w", op, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// affected returns ErrNotFound when a write by ID found no row.
func affected(op string, res sql.Result, err error) error {
	if err != nil {
		return accountError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	return nil
}

const accountColumns = `id, name, email, password_hash, created_at, banned_until, ban_reason, revoked_before`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (Account, error) {
	var (
		a              Account
		created        int64
		banned, revoke sql.NullInt64
	)
	if err := s.Scan(&a.ID, &a.Name, &a.Email, &a.PasswordHash, &created, &banned, &a.BanReason, &revoke); err != nil {
		return Account{}, err
	}
	a.CreatedAt = fromMicro(created)
	a.BannedUntil = fromOptMicro(banned)
	a.RevokedBefore = fromOptMicro(revoke)
	return a, nil
}

func (db *DB) account(ctx context.Context, op, where string, arg any) (Account, error) {
	a, err := scanAccount(db.SQL.QueryRowContext(ctx, db.rebind(`SELECT `+accountColumns+` FROM accounts WHERE `+where), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: %s: %w", op, err)
	}
	return a, nil
}

func (db *DB) accounts(ctx context.Context, op, q string, args ...any) ([]Account, error) {
	rows, err := db.SQL.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	var as []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return as, nil
}

// CreateAccount stores a new account: ErrNameTaken or ErrEmailTaken if
// another holds its name or email, compared case-insensitively.
func (db *DB) CreateAccount(ctx context.Context, a Account) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`
		INSERT INTO accounts (id, name, name_key, email, email_key, password_hash, created_at, banned_until, ban_reason, revoked_before)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, a.Name, key(a.Name), a.Email, emailKey(a.Email), a.PasswordHash,
		micro(a.CreatedAt), optMicro(a.BannedUntil), a.BanReason, optMicro(a.RevokedBefore))
	if err != nil {
		return accountError("create account", err)
	}
	return nil
}

// AccountByID returns an account, or ErrNotFound.
func (db *DB) AccountByID(ctx context.Context, id string) (Account, error) {
	return db.account(ctx, "account by id", `id = ?`, id)
}

// AccountByEmail returns the account whose email is email, compared
// case-insensitively, or ErrNotFound.
func (db *DB) AccountByEmail(ctx context.Context, email string) (Account, error) {
	if email == "" {
		// A guest's email is "", which no sign-in may find.
		return Account{}, fmt.Errorf("store: account by email: %w", ErrNotFound)
	}
	return db.account(ctx, "account by email", `email_key = ?`, key(email))
}

// SetCredentials gives an account an email and password hash, as when a
// guest registers: ErrEmailTaken if another account has the email.
func (db *DB) SetCredentials(ctx context.Context, id, email, passwordHash string) error {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE accounts SET email = ?, email_key = ?, password_hash = ? WHERE id = ?`),
		email, emailKey(email), passwordHash, id)
	return affected("set credentials", res, err)
}

// SetPassword replaces an account's password hash.
func (db *DB) SetPassword(ctx context.Context, id, passwordHash string) error {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE accounts SET password_hash = ? WHERE id = ?`), passwordHash, id)
	return affected("set password", res, err)
}

// SetName renames an account: ErrNameTaken if another holds the name.
// An account may change its own name's case.
func (db *DB) SetName(ctx context.Context, id, name string) error {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE accounts SET name = ?, name_key = ? WHERE id = ?`), name, key(name), id)
	return affected("set name", res, err)
}

// DeleteAccount deletes an account, its refresh tokens and its external
// links (the foreign keys cascade); its audit entries stay. An unknown
// ID is ErrNotFound.
func (db *DB) DeleteAccount(ctx context.Context, id string) error {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`DELETE FROM accounts WHERE id = ?`), id)
	return affected("delete account", res, err)
}

// FindAccounts returns the accounts whose ID is query, or whose name or
// email holds it, case-insensitively, newest first. limit < 1 means no
// limit.
func (db *DB) FindAccounts(ctx context.Context, query string, limit int) ([]Account, error) {
	// LIKE with the pattern's own wildcards escaped: SQLite has instr(),
	// Postgres strpos(), and no substring test is spelled alike in both.
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(key(query)) + "%"
	return db.accounts(ctx, "find accounts", `
		SELECT `+accountColumns+` FROM accounts
		WHERE id = ? OR name_key LIKE ? ESCAPE '\' OR email_key LIKE ? ESCAPE '\'
		ORDER BY created_at DESC, id DESC`+limitClause(limit), query, like, like)
}

// limitClause is a query's LIMIT, none for limit < 1. Written into the
// text, not passed: the dialects' ways of saying "no limit" differ
// (SQLite -1, Postgres NULL).
func limitClause(limit int) string {
	if limit < 1 {
		return ""
	}
	return " LIMIT " + strconv.Itoa(limit)
}

// Ban bans an account until a time, for a reason. Its sessions stay:
// ending them is RevokeSessions'.
func (db *DB) Ban(ctx context.Context, id string, until time.Time, reason string) error {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE accounts SET banned_until = ?, ban_reason = ? WHERE id = ?`),
		optMicro(until), reason, id)
	return affected("ban", res, err)
}

// Unban lifts an account's ban.
func (db *DB) Unban(ctx context.Context, id string) error {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE accounts SET banned_until = NULL, ban_reason = '' WHERE id = ?`), id)
	return affected("unban", res, err)
}

// RevokeSessions signs an account out everywhere: access tokens issued
// before before are void, and every refresh token goes.
func (db *DB) RevokeSessions(ctx context.Context, id string, before time.Time) error {
	return db.tx(ctx, "revoke sessions", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.rebind(`UPDATE accounts SET revoked_before = ? WHERE id = ?`), optMicro(before), id)
		if err := affected("revoke sessions", res, err); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM refresh_tokens WHERE account_id = ?`), id); err != nil {
			return fmt.Errorf("store: revoke sessions: %w", err)
		}
		return nil
	})
}

// Sanctions returns every account banned at now, or whose sessions were
// revoked after since. Nodes poll it to learn of bans and sign-outs made
// elsewhere, with no round trip on the join path.
func (db *DB) Sanctions(ctx context.Context, now, since time.Time) ([]Account, error) {
	return db.accounts(ctx, "sanctions", `
		SELECT `+accountColumns+` FROM accounts
		WHERE banned_until > ? OR revoked_before > ?
		ORDER BY id`, micro(now), micro(since))
}

// tx runs f in a transaction, committed if f returns nil. f's errors
// are returned as they are: f says what failed.
func (db *DB) tx(ctx context.Context, op string, f func(*sql.Tx) error) error {
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// AddRefresh stores a refresh token of a new sign-in. An unknown account
// is ErrNotFound.
func (db *DB) AddRefresh(ctx context.Context, r Refresh) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`
		INSERT INTO refresh_tokens (hash, family, account_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		r.Hash, r.Family, r.AccountID, micro(r.IssuedAt), micro(r.ExpiresAt))
	if err != nil {
		return accountError("add refresh token", err)
	}
	return nil
}

// RefreshAccount returns the account of the live refresh token whose
// hash is hash: one neither spent nor expired at now. Anything else is
// ErrNotFound, and the caller lets RotateRefresh tell reuse from unknown.
// It reads and writes nothing else, so that a refresh can be refused
// (a banned account's) without spending the token: the player keeps it
// for after the ban, which for a guest is the only way back to the
// account.
func (db *DB) RefreshAccount(ctx context.Context, hash string, now time.Time) (Account, error) {
	a, err := scanAccount(db.SQL.QueryRowContext(ctx, db.rebind(`
		SELECT `+prefixed("a.", accountColumns)+`
		FROM refresh_tokens r JOIN accounts a ON a.id = r.account_id
		WHERE r.hash = ? AND r.spent = FALSE AND r.expires_at > ?`), hash, micro(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("store: account of refresh token: %w", ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: account of refresh token: %w", err)
	}
	return a, nil
}

// prefixed qualifies each of a comma-separated list of columns with a
// table's alias.
func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// RotateRefresh spends the token whose hash is oldHash and stores next
// (same family, next.Family is overwritten with it) in one transaction,
// returning the account ID. A spent token presented again: the whole
// family is deleted, ErrRefreshReused. Unknown or expired: ErrNotFound.
//
// Of two rotations of one token at once, exactly one spends it: the
// conditional UPDATE is the arbiter, in both dialects. SQLite runs one
// writer at a time (BEGIN IMMEDIATE, one connection); in Postgres the
// second UPDATE waits on the first's row lock, then finds the row spent
// and changes nothing. The loser then sees the token spent, as any reuse,
// and deletes the family; a later one may find nothing left, ErrNotFound.
//
// A spent token is reuse even past its expiry: it was stolen or replayed
// either way, and ending the family is the safe side.
func (db *DB) RotateRefresh(ctx context.Context, oldHash string, next Refresh, now time.Time) (accountID string, err error) {
	fail := func(err error) (string, error) { return "", fmt.Errorf("store: rotate refresh token: %w", err) }
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() // after Commit, a no-op
	var family string
	err = tx.QueryRowContext(ctx, db.rebind(`
		UPDATE refresh_tokens SET spent = TRUE
		WHERE hash = ? AND spent = FALSE AND expires_at > ?
		RETURNING family, account_id`), oldHash, micro(now)).Scan(&family, &accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return fail(db.refused(ctx, tx, oldHash))
	}
	if err != nil {
		return fail(err)
	}
	next.Family, next.AccountID = family, accountID
	_, err = tx.ExecContext(ctx, db.rebind(`
		INSERT INTO refresh_tokens (hash, family, account_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
		next.Hash, next.Family, next.AccountID, micro(next.IssuedAt), micro(next.ExpiresAt))
	if err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return accountID, nil
}

// refused says why a token could not be spent: unknown or expired,
// ErrNotFound, or spent already, ErrRefreshReused once its family's
// deletion is committed.
func (db *DB) refused(ctx context.Context, tx *sql.Tx, hash string) error {
	var (
		family string
		spent  bool
	)
	err := tx.QueryRowContext(ctx, db.rebind(`SELECT family, spent FROM refresh_tokens WHERE hash = ?`), hash).Scan(&family, &spent)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case !spent:
		return fmt.Errorf("expired: %w", ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM refresh_tokens WHERE family = ?`), family); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return ErrRefreshReused
}

// RevokeFamily ends the session a refresh token belongs to: its family
// goes. An unknown hash is not an error: the session has ended either way.
func (db *DB) RevokeFamily(ctx context.Context, hash string) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`
		DELETE FROM refresh_tokens WHERE family IN (SELECT family FROM refresh_tokens WHERE hash = ?)`), hash)
	if err != nil {
		return fmt.Errorf("store: revoke refresh family: %w", err)
	}
	return nil
}

// DeleteExpiredRefresh deletes the refresh tokens expired at now, spent
// or not, so that the table holds live sessions rather than every
// session ever. It is not in RotateRefresh's way: a spent token past its
// expiry, deleted, is unknown rather than reused, and the family's live
// token, which has the later expiry, stays. Call it now and then.
func (db *DB) DeleteExpiredRefresh(ctx context.Context, now time.Time) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`DELETE FROM refresh_tokens WHERE expires_at <= ?`), micro(now))
	if err != nil {
		return fmt.Errorf("store: delete expired refresh tokens: %w", err)
	}
	return nil
}

// AccountByExternal returns the account linked to an issuer's subject,
// or ErrNotFound.
func (db *DB) AccountByExternal(ctx context.Context, issuer, subject string) (Account, error) {
	a, err := scanAccount(db.SQL.QueryRowContext(ctx, db.rebind(`
		SELECT a.id, a.name, a.email, a.password_hash, a.created_at, a.banned_until, a.ban_reason, a.revoked_before
		FROM accounts a
		JOIN external_identities x ON x.account_id = a.id
		WHERE x.issuer = ? AND x.subject = ?`), issuer, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("store: account by external identity: %w", ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: account by external identity: %w", err)
	}
	return a, nil
}

// LinkExternal links an issuer's subject to an account, now. Linking it
// again to the same account is a no-op; to another, ErrExternalLinked.
// An unknown account is ErrNotFound.
func (db *DB) LinkExternal(ctx context.Context, issuer, subject, accountID string) error {
	const op = "link external identity"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.rebind(`
			INSERT INTO external_identities (issuer, subject, account_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (issuer, subject) DO NOTHING`),
			issuer, subject, accountID, micro(time.Now()))
		if err != nil {
			return accountError(op, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			if err != nil {
				return fmt.Errorf("store: %s: %w", op, err)
			}
			return nil
		}
		var holder string
		if err := tx.QueryRowContext(ctx, db.rebind(`SELECT account_id FROM external_identities WHERE issuer = ? AND subject = ?`), issuer, subject).Scan(&holder); err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		if holder != accountID {
			return fmt.Errorf("store: %s: %w", op, ErrExternalLinked)
		}
		return nil
	})
}

// ExternalLinks returns an account's external identities, oldest first.
func (db *DB) ExternalLinks(ctx context.Context, accountID string) ([]ExternalLink, error) {
	rows, err := db.SQL.QueryContext(ctx, db.rebind(`
		SELECT issuer, subject, created_at FROM external_identities WHERE account_id = ?
		ORDER BY created_at, issuer, subject`), accountID)
	if err != nil {
		return nil, fmt.Errorf("store: external links: %w", err)
	}
	defer rows.Close()
	var ls []ExternalLink
	for rows.Next() {
		var (
			l  ExternalLink
			at int64
		)
		if err := rows.Scan(&l.Issuer, &l.Subject, &at); err != nil {
			return nil, fmt.Errorf("store: external links: %w", err)
		}
		l.CreatedAt = fromMicro(at)
		ls = append(ls, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: external links: %w", err)
	}
	return ls, nil
}

// SigningKeys returns every signing key, newest first.
func (db *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT id, secret, created_at FROM signing_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: signing keys: %w", err)
	}
	defer rows.Close()
	var ks []SigningKey
	for rows.Next() {
		var (
			k  SigningKey
			at int64
		)
		if err := rows.Scan(&k.ID, &k.Secret, &at); err != nil {
			return nil, fmt.Errorf("store: signing keys: %w", err)
		}
		k.CreatedAt = fromMicro(at)
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: signing keys: %w", err)
	}
	return ks, nil
}

// AddSigningKey stores a signing key.
func (db *DB) AddSigningKey(ctx context.Context, k SigningKey) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`INSERT INTO signing_keys (id, secret, created_at) VALUES (?, ?, ?)`),
		k.ID, k.Secret, micro(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add signing key: %w", err)
	}
	return nil
}

// DeleteSigningKeysBefore deletes the signing keys created before t.
func (db *DB) DeleteSigningKeysBefore(ctx context.Context, t time.Time) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`DELETE FROM signing_keys WHERE created_at < ?`), micro(t))
	if err != nil {
		return fmt.Errorf("store: delete signing keys: %w", err)
	}
	return nil
}

// Audit appends an entry to the audit log; e.ID is ignored, the store
// numbers entries.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`
		INSERT INTO audit_log (at, actor, action, account_id, detail) VALUES (?, ?, ?, ?, ?)`),
		micro(e.At), e.Actor, e.Action, e.AccountID, e.Detail)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditLog returns an account's audit entries, or every entry if
// accountID is "", newest first. limit < 1 means no limit.
func (db *DB) AuditLog(ctx context.Context, accountID string, limit int) ([]AuditEntry, error) {
	q, args := `SELECT id, at, actor, action, account_id, detail FROM audit_log`, []any{}
	if accountID != "" {
		q, args = q+` WHERE account_id = ?`, append(args, accountID)
	}
	rows, err := db.SQL.QueryContext(ctx, db.rebind(q+` ORDER BY at DESC, id DESC`+limitClause(limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var es []AuditEntry
	for rows.Next() {
		var (
			e  AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.AccountID, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: audit log: %w", err)
		}
		e.At = fromMicro(at)
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	return es, nil
}
