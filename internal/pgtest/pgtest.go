// Package pgtest gives tests a real PostgreSQL server, as natstest gives
// them NATS: no test skips for want of one.
//
// The server is the one ARENA_TEST_POSTGRES_URL names if it is set, or
// else one this package starts once per test process: Debian's postgresql
// package (scripts/test installs it if missing), initdb into a fresh
// temporary directory with trust authentication, listening on a free
// loopback port only. As root, the server runs as the postgres user,
// since initdb refuses root. Each call of DB makes its own database, so
// tests do not see each other's rows.
//
// The test process starts the server, rather than scripts/test, so that
// `go test ./store/` by hand works the same as the whole suite, and the
// server's lifetime is the test binary's: the package's TestMain calls
// Main, which stops it and removes its directory however the tests end.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the environment variable of a server to use instead of
// starting one: postgres://USER@HOST:PORT/DATABASE, whose user may create
// databases.
const EnvURL = "ARENA_TEST_POSTGRES_URL"

var (
	once    sync.Once
	server  *Server
	baseURL string
	err     error
	dbs     atomic.Int64
)

// Main runs a package's tests and stops the server they started, if any.
// Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	return code
}

// DB makes a fresh, empty database on the test server and returns its
// URL. It fails the test, never skips it, if there is no server.
func DB(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			baseURL = u
			return
		}
		server, err = Start()
		if err == nil {
			baseURL = server.URL("postgres")
		}
	})
	if err != nil {
		tb.Fatalf("pgtest: no PostgreSQL for the test: %v", err)
	}
	name := fmt.Sprintf("arena_test_%d_%d", os.Getpid(), dbs.Add(1))
	admin, e := sql.Open("pgx", baseURL)
	if e != nil {
		tb.Fatal(e)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, e := admin.ExecContext(ctx, "CREATE DATABASE "+name); e != nil {
		tb.Fatalf("pgtest: create database: %v", e)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if a, e := sql.Open("pgx", baseURL); e == nil {
			a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			a.Close()
		}
	})
	return withDatabase(baseURL, name)
}

func withDatabase(u, name string) string {
	// The database is the URL's path; keep its query (sslmode).
	for i := len("postgres://"); i < len(u); i++ {
		if u[i] == '/' {
			j := i + 1
			for j < len(u) && u[j] != '?' {
				j++
			}
			return u[:i+1] + name + u[j:]
		}
	}
	return u + "/" + name
}

// Server is a PostgreSQL server Start started.
type Server struct {
	dir, pgCtl, data, log string
	port                  int
	asUser                string // run its commands as this user; empty: as we are
	durable               bool   // synchronous commits: see start
}

// URL is a URL of the server's database name, as the postgres superuser.
func (s *Server) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// Bin finds PostgreSQL's programs: Debian's /usr/lib/postgresql/N/bin,
// the newest first, or else initdb on the PATH.
func Bin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL's initdb is not installed; install it with: apt-get install -y postgresql (scripts/test does, as root)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start starts a throwaway server. Stop it with Stop.
func Start() (*Server, error) { return start(false) }

// start starts a server; a durable one keeps every commit it answered
// through Down, as a real server does through a crash.
func start(durable bool) (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "arena-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, pgCtl: filepath.Join(bin, "pg_ctl"), data: filepath.Join(dir, "data"), log: filepath.Join(dir, "postgres.log"), durable: durable}
	if os.Geteuid() == 0 {
		// initdb refuses root: the server runs as postgres, which owns
		// the directory.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.asUser = "postgres"
	}
	fail := func(err error) (*Server, error) {
		logs, _ := os.ReadFile(s.log)
		s.Stop()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	if out, err := s.run(filepath.Join(bin, "initdb"), "-D", s.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return fail(fmt.Errorf("initdb: %v: %s", err, out))
	}
	// A free port can be taken between our look and the server's bind:
	// try a few.
	for try := 0; ; try++ {
		s.port, err = freePort()
		if err != nil {
			return fail(err)
		}
		err = s.start()
		if err == nil {
			break
		}
		if try == 2 {
			return fail(err)
		}
	}
	if err := s.wait(); err != nil {
		return fail(err)
	}
	return s, nil
}

// start starts the server on its data directory and port.
//
// Tests want speed, not durability against the machine's crash: fsync
// is off, and, on the shared server, so are synchronous commits. A
// durable server's commits are synchronous, though, since Down kills it
// as a crash would (the process, not the machine): an asynchronous
// commit answered in the last moments before Down, its WAL not yet
// handed to the OS, would be lost, and a test that stops the database
// under a program must find after Up everything the program was told
// was committed.
func (s *Server) start() error {
	commit := "off"
	if s.durable {
		commit = "on"
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -k %s -c fsync=off -c synchronous_commit=%s -c full_page_writes=off", s.port, s.dir, commit)
	if out, err := s.run(s.pgCtl, "-D", s.data, "-l", s.log, "-o", opts, "-w", "-t", "60", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v: %s", err, out)
	}
	return nil
}

// wait waits, for 30 s at most, until the server answers a query.
func (s *Server) wait() error {
	// pg_ctl -w waits until the server accepts connections; check from
	// here too, with a deadline.
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL did not answer in 30s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StartServer starts a PostgreSQL server of the test's own, stopped and
// removed when the test ends, for a test that takes the database away
// (Down) and brings it back (Up) under a program, which the shared
// server of DB must never be. Its commits are synchronous, so that what
// it answered as committed outlives Down. It fails the test if the
// server cannot start.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(true)
	if err != nil {
		tb.Fatalf("pgtest: no PostgreSQL for the test: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Down stops the server at once, as a crash would (pg_ctl -m
// immediate): its clients' connections drop, and new ones are refused,
// until Up. Every commit it answered stays.
func (s *Server) Down() error {
	if out, err := s.run(s.pgCtl, "-D", s.data, "-m", "immediate", "-w", "-t", "30", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

// Up starts the server Down stopped again, on the same data directory
// and port (so the URLs its clients hold work again), and waits until it
// answers.
func (s *Server) Up() error {
	if err := s.start(); err != nil {
		return err
	}
	return s.wait()
}

// Port is the loopback port the server listens on.
func (s *Server) Port() int { return s.port }

// Stop stops the server, at once, and removes its directory.
func (s *Server) Stop() {
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err == nil {
		s.run(s.pgCtl, "-D", s.data, "-m", "immediate", "-w", "-t", "30", "stop")
	}
	os.RemoveAll(s.dir)
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	if s.asUser != "" {
		args = append([]string{"-u", s.asUser, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir // readable by the postgres user, unlike the caller's cwd may be
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
