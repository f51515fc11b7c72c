package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arena-server/arena/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends gives each test a fresh database of each kind: an SQLite file
// and a database on a real PostgreSQL server.
var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "sub", "arena.db") }},
	{Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

// TestContract runs the one contract suite against every backend.
func TestContract(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			contract(t, b.name, b.url)
		})
	}
}

func contract(t *testing.T, dialect string, newURL func(t *testing.T) string) {
	ctx := context.Background()
	open := func(t *testing.T, u string) *DB {
		t.Helper()
		db, err := Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	known := func(t *testing.T) int64 {
		es, err := migrations.ReadDir("migrations/" + dialect)
		if err != nil || len(es) == 0 {
			t.Fatalf("no migrations for %s: %v", dialect, err)
		}
		return int64(len(es))
	}

	t.Run("migrates to the newest version, and again is a no-op", func(t *testing.T) {
		u := newURL(t)
		db := open(t, u)
		if db.Dialect != dialect || db.Version != known(t) {
			t.Fatalf("opened %s at version %d, want %s at %d", db.Dialect, db.Version, dialect, known(t))
		}
		if err := db.SetMeta(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		again := open(t, u)
		if again.Version != known(t) {
			t.Fatalf("reopened at version %d", again.Version)
		}
		if v, ok, err := again.Meta(ctx, "k"); err != nil || !ok || v != "v" {
			t.Fatalf("after reopening, meta k = %q, %v, %v", v, ok, err)
		}
	})

	t.Run("meta", func(t *testing.T) {
		db := open(t, newURL(t))
		if v, ok, err := db.Meta(ctx, "absent"); err != nil || ok || v != "" {
			t.Fatalf("absent key: %q, %v, %v", v, ok, err)
		}
		for _, v := range []string{"one", "two", "ünï?côdé"} {
			if err := db.SetMeta(ctx, "key", v); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := db.Meta(ctx, "key"); err != nil || !ok || got != v {
				t.Fatalf("meta key = %q, %v, %v; want %q", got, ok, err, v)
			}
		}
	})

	t.Run("refuses a newer schema", func(t *testing.T) {
		u := newURL(t)
		db := open(t, u)
		// A newer arena applied migration 999.
		if _, err := db.SQL.ExecContext(ctx, db.rebind(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)`), 999, true); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := Open(ctx, u)
		if !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("Open of a newer schema: %v, want ErrNewerSchema", err)
		}
		for _, want := range []string{"version 999", "up to version 1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})

	if dialect == SQLite {
		t.Run("pragmas", func(t *testing.T) {
			db := open(t, newURL(t))
			for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000"} {
				var got string
				if err := db.SQL.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
					t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
				}
			}
		})
	}
}

func TestKind(t *testing.T) {
	for u, want := range map[string]string{
		"sqlite:arena-data/arena.db":            SQLite,
		"postgres://u:secret@db:5432/arena":     Postgres,
		"postgresql://db/arena?sslmode=require": Postgres,
		"sqlite:":                               "",
		"mysql://u:secret@db/arena":             "",
		"arena.db":                              "",
	} {
		got, err := Kind(u)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Kind(%q) = %q, %v; want %q", u, got, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("Kind(%q) error shows the password: %v", u, err)
		}
	}
}

func TestOpenFailsClearly(t *testing.T) {
	_, err := Open(context.Background(), "postgres://nobody:secret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Open of nothing: %v", err)
	}
}
