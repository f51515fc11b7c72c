package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"
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

// TestServerGoesDownAndComesBack: a test's own server, taken down, refuses
// its clients; brought up, it answers on the same URL with the data it
// had, and a pool that held connections from before uses it again.
func TestServerGoesDownAndComesBack(t *testing.T) {
	s := StartServer(t)
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Down(); err != nil {
		t.Fatal(err)
	}
	qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = db.QueryRowContext(qctx, "SELECT 1").Scan(new(int))
	qcancel()
	if err == nil {
		t.Fatal("a query succeeded on a server that is down")
	}
	if err := s.Up(); err != nil {
		t.Fatal(err)
	}
	// The pool's connections from before the stop are dead: a query on
	// one fails, and the pool drops it, so retry, each try with a
	// deadline of its own, until one of the whole.
	var v int
	up := time.Now()
	for {
		qctx, qcancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.QueryRowContext(qctx, "SELECT v FROM kept").Scan(&v)
		qcancel()
		if err == nil {
			break
		}
		if time.Since(up) > 20*time.Second {
			t.Fatalf("the server did not come back within 20 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v != 42 {
		t.Fatalf("after Up, kept holds %d; want 42", v)
	}
}
