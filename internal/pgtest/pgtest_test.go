package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestDBIsAFreshDatabase checks a real server answers, and that two calls
// get two databases.
func TestDBIsAFreshDatabase(t *testing.T) {
	a, b := DB(t), DB(t)
	if a == b {
		t.Fatalf("two calls gave one database: %s", a)
	}
	db, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if want := a[len(a)-len(name)-len("?sslmode=disable"):][:len(name)]; name != want {
		t.Errorf("connected to %q, want %q (%s)", name, want, a)
	}
}
