// Package store is arena's database: SQLite, embedded in the binary, by
// default, and PostgreSQL, which the nodes of a cluster share. Open takes
// the -db URL, opens the database and brings its schema up to date with
// the migrations embedded here; a schema newer than this binary knows is
// refused.
//
// SQLite goes through modernc.org/sqlite, a pure-Go translation of SQLite:
// arena stays one static binary built without cgo. ncruces/go-sqlite3
// (SQLite compiled to WebAssembly, run by wazero) was the other candidate.
// It was about twice as fast in a micro-benchmark of single-row inserts and
// selects (BENCHMARKS.md, "The SQLite driver"), but both take tens of
// microseconds an operation, far below what arena asks of its store (a few
// writes a match, a read a sign-in); modernc adds 0.8 MB less to the
// binary, runs no WebAssembly runtime, and is the more widely used. The
// choice is confined to openSQLite and the driver import.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// The dialects Open knows, as DB.Dialect names them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

//go:embed migrations
var migrations embed.FS

// DB is an open store.
type DB struct {
	// Dialect is SQLite or Postgres.
	Dialect string
	// SQL is the database. For Postgres it draws on Pool.
	SQL *sql.DB
	// Pool is Postgres's connection pool; nil for SQLite.
	Pool *pgxpool.Pool
	// Version is the schema version, that of the newest migration.
	Version int64
}

// Kind returns the dialect a -db URL names (SQLite or Postgres), without
// opening anything, or an error saying what a URL should look like.
func Kind(dbURL string) (string, error) {
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		if strings.TrimPrefix(dbURL, "sqlite:") == "" {
			return "", errors.New("-db sqlite: needs a file path, as in sqlite:arena-data/arena.db")
		}
		return SQLite, nil
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return Postgres, nil
	}
	return "", fmt.Errorf("-db %q is neither sqlite:PATH nor postgres://USER@HOST/DATABASE", Redact(dbURL))
}

// Redact returns a -db URL without its password, for logs and errors.
func Redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.User == nil {
		if err != nil && strings.Contains(dbURL, "@") {
			return "(unparsable URL)"
		}
		return dbURL
	}
	return u.Redacted()
}

// Open opens the store a -db URL names, sqlite:PATH or postgres://…, and
// applies the migrations it lacks. An SQLite file's directory is created
// if missing. A database whose schema is newer than this binary's
// migrations is refused: an older binary must not write to it.
func Open(ctx context.Context, dbURL string) (*DB, error) {
	kind, err := Kind(dbURL)
	if err != nil {
		return nil, err
	}
	db := &DB{Dialect: kind}
	var dialect goose.Dialect
	switch kind {
	case SQLite:
		dialect = goose.DialectSQLite3
		db.SQL, err = openSQLite(strings.TrimPrefix(dbURL, "sqlite:"))
	case Postgres:
		dialect = goose.DialectPostgres
		db.Pool, err = pgxpool.New(ctx, dbURL)
		if err == nil {
			db.SQL = stdlib.OpenDBFromPool(db.Pool)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", Redact(dbURL), err)
	}
	if err := db.SQL.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", Redact(dbURL), err)
	}
	if err := db.migrate(ctx, dialect); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", Redact(dbURL), err)
	}
	return db, nil
}

// openSQLite opens an SQLite file in WAL mode (readers do not block the
// writer), with a busy timeout (a second process, such as the sqlite3
// shell, waits for a lock rather than failing) and foreign keys on (off
// by default in SQLite).
//
// It keeps one connection. SQLite takes one writer at a time, and a
// deferred transaction that reads and then writes on one connection while
// another connection writes fails with SQLITE_BUSY at once, whatever the
// busy timeout; one connection serializes the store's work in the pool
// instead, and every pragma holds on it. Arena's store work is small
// (results, accounts), far from what one connection can do.
func openSQLite(path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(5000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// migrate applies the migrations the database lacks, after refusing a
// database whose schema is newer than the newest of them.
func (db *DB) migrate(ctx context.Context, dialect goose.Dialect) error {
	fsys, err := fs.Sub(migrations, "migrations/"+db.Dialect)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db.SQL, fsys)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	sources := p.ListSources()
	known := sources[len(sources)-1].Version
	// A fresh database has no version table yet, and GetDBVersion fails:
	// Up creates it, and reports a real fault.
	if v, err := p.GetDBVersion(ctx); err == nil && v > known {
		return newerSchema(v, known)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if v > known {
		return newerSchema(v, known)
	}
	db.Version = v
	return nil
}

// ErrNewerSchema is what Open's error wraps when the database's schema is
// newer than this binary knows.
var ErrNewerSchema = errors.New("the database's schema is newer than this arena knows")

func newerSchema(have, known int64) error {
	return fmt.Errorf("%w: it is at version %d, this arena knows up to version %d; run a newer arena, or restore a backup from before the upgrade", ErrNewerSchema, have, known)
}

// Close closes the store.
func (db *DB) Close() error {
	err := db.SQL.Close()
	if db.Pool != nil {
		db.Pool.Close()
	}
	return err
}

// rebind turns a query's ? placeholders into Postgres's $1, $2, … One
// query text serves both dialects; queries hold no literal ?.
func (db *DB) rebind(q string) string {
	if db.Dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Meta returns the value of a store setting, and whether it is set.
func (db *DB) Meta(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := db.SQL.QueryRowContext(ctx, db.rebind(`SELECT value FROM store_meta WHERE key = ?`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: meta %q: %w", key, err)
	}
	return v, true, nil
}

// SetMeta sets a store setting, replacing its value if it has one.
func (db *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`
		INSERT INTO store_meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = CURRENT_TIMESTAMP`),
		key, value)
	if err != nil {
		return fmt.Errorf("store: set meta %q: %w", key, err)
	}
	return nil
}
