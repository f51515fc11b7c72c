package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/pgtest"
)

// TestBackupAndRestore follows docs/operations.md#backups for each backend:
// what a backup taken while arena runs holds comes back in a store opened
// on the restored copy.
func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, u string) {
		t.Helper()
		db, err := Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.SetMeta(ctx, "backed-up", "yes"); err != nil {
			t.Fatal(err)
		}
		a := Account{ID: "backedupaccount", Name: "Kept", Email: "kept@example.com", PasswordHash: "$argon2id$x", CreatedAt: time.Now()}
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, u string) {
		t.Helper()
		db, err := Open(ctx, u)
		if err != nil {
			t.Fatalf("opening the restored store: %v", err)
		}
		defer db.Close()
		if v, ok, err := db.Meta(ctx, "backed-up"); err != nil || !ok || v != "yes" {
			t.Fatalf("restored store: meta = %q, %v, %v; want what was backed up", v, ok, err)
		}
		if a, err := db.AccountByEmail(ctx, "KEPT@example.com"); err != nil || a.ID != "backedupaccount" || a.Name != "Kept" {
			t.Fatalf("restored store: account = %+v, %v; want the one backed up", a, err)
		}
	}

	t.Run(SQLite, func(t *testing.T) {
		dir := t.TempDir()
		live := filepath.Join(dir, "arena.db")
		write(t, "sqlite:"+live)
		// The backup is taken with the store open, as on a running server:
		// VACUUM INTO writes a consistent copy while others write.
		db, err := Open(ctx, "sqlite:"+live)
		if err != nil {
			t.Fatal(err)
		}
		backup := filepath.Join(dir, "backup.db")
		if _, err := db.SQL.ExecContext(ctx, "VACUUM INTO ?", backup); err != nil {
			t.Fatalf("VACUUM INTO: %v", err)
		}
		if err := db.SetMeta(ctx, "backed-up", "no: written after the backup"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		// Restore: with arena stopped, the backup replaces the file, and
		// the WAL and shared-memory files of the old one go.
		for _, f := range []string{live, live + "-wal", live + "-shm"} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		if err := os.Rename(backup, live); err != nil {
			t.Fatal(err)
		}
		check(t, "sqlite:"+live)
	})

	t.Run(Postgres, func(t *testing.T) {
		bin, err := pgtest.Bin()
		if err != nil {
			t.Fatal(err)
		}
		from, to := pgtest.DB(t), pgtest.DB(t)
		write(t, from)
		dump := filepath.Join(t.TempDir(), "arena.dump")
		if out, err := exec.Command(filepath.Join(bin, "pg_dump"), "--format=custom", "--file="+dump, "--dbname="+from).CombinedOutput(); err != nil {
			t.Fatalf("pg_dump: %v\n%s", err, out)
		}
		if out, err := exec.Command(filepath.Join(bin, "pg_restore"), "--no-owner", "--dbname="+to, dump).CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, out)
		}
		check(t, to)
	})
}
