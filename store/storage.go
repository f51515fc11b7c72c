package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Object is one object of player storage: a JSON value an account keeps
// in one of its collections, under a key.
type Object struct {
	Account, Collection, Key string
	// Value is JSON, as it was written (the store keeps its text).
	Value json.RawMessage
	// Version is the object's version: it grows with every write, and is
	// never reused for the same key, even after a deletion.
	Version int64
	// Read is ReadOwner or ReadPublic; Write is WriteOwner or WriteServer.
	Read, Write string
	UpdatedAt   time.Time // UTC, to the microsecond
}

// An object's permissions.
const (
	ReadOwner   = "owner"  // only its account reads it
	ReadPublic  = "public" // any signed-in player reads it
	WriteOwner  = "owner"  // its account writes it (and the server)
	WriteServer = "server" // only the server writes it: games' records a client must not forge
)

// The expected versions PutObject and DeleteObject take besides a
// version read before.
const (
	// VersionAbsent: the write creates the object, and fails if it exists.
	VersionAbsent int64 = 0
	// VersionAny: the write replaces whatever is there, or nothing.
	VersionAny int64 = -1
)

// Player storage's errors, wrapped with what failed: match them with
// errors.Is. A missing object or account is ErrNotFound.
var (
	// ErrVersionMismatch: the object's version is not the one the write
	// expected (it changed, exists, or does not).
	ErrVersionMismatch = errors.New("store: the object's version is not the expected one")
	// ErrServerOnly: a client's write or deletion of an object only the
	// server writes.
	ErrServerOnly = errors.New("store: only the server writes that object")
	// ErrAccountFull: the write would take the account's objects past its
	// limit in bytes.
	ErrAccountFull = errors.New("store: the account's storage is full")
)

const objectColumns = `account_id, collection, key, value, version, read_perm, write_perm, updated_at`

func scanObject(s scanner) (Object, error) {
	var (
		o       Object
		value   string
		updated int64
	)
	if err := s.Scan(&o.Account, &o.Collection, &o.Key, &value, &o.Version, &o.Read, &o.Write, &updated); err != nil {
		return Object{}, err
	}
	o.Value = json.RawMessage(value)
	o.UpdatedAt = fromMicro(updated)
	return o, nil
}

// GetObject returns an account's object, or ErrNotFound.
func (db *DB) GetObject(ctx context.Context, account, collection, key string) (Object, error) {
	o, err := scanObject(db.SQL.QueryRowContext(ctx, db.rebind(`
		SELECT `+objectColumns+` FROM storage_objects
		WHERE account_id = ? AND collection = ? AND key = ?`), account, collection, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Object{}, fmt.Errorf("store: get object: %w", ErrNotFound)
	}
	if err != nil {
		return Object{}, fmt.Errorf("store: get object: %w", err)
	}
	return o, nil
}

// ListObjects returns an account's objects of a collection, by key, the
// first limit of those whose key comes after after (a page: "" starts at
// the beginning, and the last key of a page is the next page's after).
// publicOnly leaves out those only their owner reads. limit < 1: all.
func (db *DB) ListObjects(ctx context.Context, account, collection, after string, publicOnly bool, limit int) ([]Object, error) {
	q := `SELECT ` + objectColumns + ` FROM storage_objects
		WHERE account_id = ? AND collection = ? AND key > ?`
	args := []any{account, collection, after}
	if publicOnly {
		q += ` AND read_perm = ?`
		args = append(args, ReadPublic)
	}
	// Keys compare bytewise on both backends (the column's collation is
	// "C" in Postgres): pages come out in one order, the primary key's.
	q += ` ORDER BY key` + limitClause(limit)
	return db.objects(ctx, "list objects", q, args...)
}

// LoadObjects returns an account's objects of the collections named, by
// collection and key: what a game loads for a joining player.
func (db *DB) LoadObjects(ctx context.Context, account string, collections []string) ([]Object, error) {
	if len(collections) == 0 {
		return nil, nil
	}
	args := []any{account}
	for _, c := range collections {
		args = append(args, c)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(collections)), ", ")
	return db.objects(ctx, "load objects", `SELECT `+objectColumns+` FROM storage_objects
		WHERE account_id = ? AND collection IN (`+marks+`)
		ORDER BY collection, key`, args...)
}

func (db *DB) objects(ctx context.Context, op, q string, args ...any) ([]Object, error) {
	rows, err := db.SQL.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	defer rows.Close()
	var os []Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		os = append(os, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return os, nil
}

// ObjectsSize returns the bytes of all an account's objects' values: what
// its limit counts.
func (db *DB) ObjectsSize(ctx context.Context, account string) (int64, error) {
	var n int64
	err := db.SQL.QueryRowContext(ctx, db.rebind(`SELECT COALESCE(SUM(size), 0) FROM storage_objects WHERE account_id = ?`), account).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: objects size: %w", err)
	}
	return n, nil
}

// PutObject writes o (its Account, Collection, Key, Value, Read and
// Write) if the object's version is expect: a version read before,
// VersionAbsent (create only) or VersionAny. It returns the new version;
// o.Version and o.UpdatedAt are ignored (now is the time written).
//
// asServer is the server's write (a game's): it may replace an object
// only the server writes. A client's (false) gets ErrServerOnly for one,
// and should ask for Write = WriteOwner. maxAccount, if positive, bounds
// the bytes of the account's objects: a write that makes the account
// larger than it is ErrAccountFull (one that makes it smaller passes, so
// that an account over a lowered limit can shrink). An account that does
// not exist is ErrNotFound.
//
// The check and the write are one transaction, which first locks the
// account's row in Postgres, so that two writes of one
// account at once (on two nodes) are counted against the limit one after
// the other; SQLite runs one writer at a time already.
func (db *DB) PutObject(ctx context.Context, o Object, expect int64, asServer bool, maxAccount int64, now time.Time) (int64, error) {
	var version int64
	err := db.tx(ctx, "put object", func(tx *sql.Tx) error {
		fail := func(err error) error { return fmt.Errorf("store: put object: %w", err) }
		if err := db.lockAccount(ctx, tx, o.Account); err != nil {
			return fail(err)
		}
		old, exists, err := db.objectHead(ctx, tx, o.Account, o.Collection, o.Key)
		if err != nil {
			return fail(err)
		}
		if err := checkWrite(old, exists, expect, asServer); err != nil {
			return fail(err)
		}
		size := int64(len(o.Value))
		if maxAccount > 0 && size > old.size {
			var total int64
			if err := tx.QueryRowContext(ctx, db.rebind(`SELECT COALESCE(SUM(size), 0) FROM storage_objects WHERE account_id = ?`), o.Account).Scan(&total); err != nil {
				return fail(err)
			}
			if total-old.size+size > maxAccount {
				return fail(ErrAccountFull)
			}
		}
		version = nextVersion(old.version, now)
		if exists {
			_, err = tx.ExecContext(ctx, db.rebind(`
				UPDATE storage_objects SET value = ?, size = ?, version = ?, read_perm = ?, write_perm = ?, updated_at = ?
				WHERE account_id = ? AND collection = ? AND key = ?`),
				string(o.Value), size, version, o.Read, o.Write, micro(now), o.Account, o.Collection, o.Key)
		} else {
			_, err = tx.ExecContext(ctx, db.rebind(`
				INSERT INTO storage_objects (account_id, collection, key, value, size, version, read_perm, write_perm, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				o.Account, o.Collection, o.Key, string(o.Value), size, version, o.Read, o.Write, micro(now))
		}
		if err != nil {
			return fail(err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// DeleteObject deletes an account's object if its version is expect (a
// version read before, or VersionAny): ErrNotFound if there is none,
// ErrVersionMismatch if it has another version, ErrServerOnly for a
// client's (asServer false) deletion of one only the server writes.
func (db *DB) DeleteObject(ctx context.Context, account, collection, key string, expect int64, asServer bool) error {
	return db.tx(ctx, "delete object", func(tx *sql.Tx) error {
		fail := func(err error) error { return fmt.Errorf("store: delete object: %w", err) }
		old, exists, err := db.objectHead(ctx, tx, account, collection, key)
		switch {
		case err != nil:
			return fail(err)
		case !exists:
			return fail(ErrNotFound)
		}
		if err := checkWrite(old, exists, expect, asServer); err != nil {
			return fail(err)
		}
		_, err = tx.ExecContext(ctx, db.rebind(`DELETE FROM storage_objects WHERE account_id = ? AND collection = ? AND key = ?`), account, collection, key)
		if err != nil {
			return fail(err)
		}
		return nil
	})
}

// lockAccount reads the account's row, which Postgres locks until the
// transaction ends (FOR UPDATE, which SQLite lacks and needs not: its
// transactions take the one write lock as they begin), and reports
// ErrNotFound if there is no such account.
func (db *DB) lockAccount(ctx context.Context, tx *sql.Tx, account string) error {
	q := `SELECT id FROM accounts WHERE id = ?`
	if db.Dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var id string
	err := tx.QueryRowContext(ctx, db.rebind(q), account).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("no such account: %w", ErrNotFound)
	}
	return err
}

// head is what a write checks of the object it replaces.
type head struct {
	version, size int64
	write         string
}

func (db *DB) objectHead(ctx context.Context, tx *sql.Tx, account, collection, key string) (head, bool, error) {
	var h head
	err := tx.QueryRowContext(ctx, db.rebind(`
		SELECT version, size, write_perm FROM storage_objects
		WHERE account_id = ? AND collection = ? AND key = ?`), account, collection, key).Scan(&h.version, &h.size, &h.write)
	if errors.Is(err, sql.ErrNoRows) {
		return head{}, false, nil
	}
	return h, err == nil, err
}

// checkWrite says whether a write that expects version expect may
// replace (or delete) the object old, which exists or not.
func checkWrite(old head, exists bool, expect int64, asServer bool) error {
	switch {
	case expect == VersionAny:
	case expect == VersionAbsent && exists:
		return ErrVersionMismatch
	case expect > 0 && (!exists || old.version != expect):
		return ErrVersionMismatch
	case expect < VersionAny:
		return fmt.Errorf("expected version %d: %w", expect, ErrVersionMismatch)
	}
	if exists && !asServer && old.write == WriteServer {
		return ErrServerOnly
	}
	return nil
}

// nextVersion is the version of a write over one of version old (0: none):
// one more, or the time in microseconds if that is larger, so that an
// object deleted and created again does not start over at 1 and match a
// version read from the one deleted.
func nextVersion(old int64, now time.Time) int64 {
	return max(old+1, now.UnixMicro())
}
