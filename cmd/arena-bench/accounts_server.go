package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
)

// runAccountsServer is the server `arena-bench accounts` measures: arena's
// server with the accounts of one store (-db), the real accounts.Service
// checking the joins' tokens and answering the HTTP API, on a free
// 127.0.0.1 port. It is a process of its own so that its CPU is not the
// drivers'. It prints "serving http://ADDR" and serves until its standard
// input closes (the parent ended, however it ended) or a signal.
//
// It differs from `arena -db` only where one loopback address stands for
// many players: the per-address throttles of the API and of joins are off,
// since a benchmark of 100 logins a second from 127.0.0.1 would otherwise
// measure the throttle. The overload guard is off too, so that a join is
// never refused on a machine other work shares, and a closed player's seat
// goes at once, so that thousands of sequential joins do not fill a room.
func runAccountsServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arena-bench accounts-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("db", "", "the store: sqlite:PATH or postgres://…")
	if err := fs.Parse(args); err != nil || *dbURL == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "arena-bench accounts-server: -db is required, and nothing else may follow the flags")
		return 2
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	octx, ocancel := context.WithTimeout(ctx, 30*time.Second)
	defer ocancel()
	db, err := store.Open(octx, *dbURL)
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench accounts-server:", err)
		return 1
	}
	defer db.Close()
	// Throttles far above anything the benchmark sends: see above.
	open := accounts.Limit{Burst: 1 << 30, Every: time.Nanosecond}
	svc, err := accounts.New(octx, accounts.Config{
		DB: db, Log: quiet,
		Limits: accounts.Limits{Login: open, Register: open, Refresh: open, Guest: open, External: open, Account: open},
	})
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench accounts-server:", err)
		return 1
	}
	defer svc.Close()
	cfg := server.DefaultConfig()
	cfg.Modes = []game.Mode{dots.Mode}
	cfg.Logger = quiet
	cfg.Accounts = authenticator{svc}
	cfg.API = svc.Handler()
	cfg.MaxConnectionsPerIP, cfg.MaxHTTPConnectionsPerIP = 0, 0
	cfg.Room.MaxSeatsPerAddr, cfg.MaxSeatsPerIP = 0, 0
	cfg.JoinRate, cfg.RoomCreateRate, cfg.MaxRooms = 0, 0, 0
	cfg.MaxSchedLatency = 0
	cfg.Room.ResumeGrace = 0
	srv, err := server.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench accounts-server:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench accounts-server:", err)
		return 1
	}
	fmt.Fprintf(stdout, "serving http://%s\n", ln.Addr())
	if err := srv.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "arena-bench accounts-server:", err)
		return 1
	}
	return 0
}

// authenticator is arena's own adapter (accountsApp.Authenticate in the
// package arena) reduced to what a benchmark's valid tokens take: the
// accounts' check, its identity handed to the server. Every check still
// runs: signature, expiry, revocations.
type authenticator struct{ svc *accounts.Service }

func (a authenticator) Authenticate(ctx context.Context, token string) (server.Identity, error) {
	id, err := a.svc.Authenticate(ctx, token)
	if err != nil {
		return server.Identity{}, err
	}
	return server.Identity{Account: id.Account, Name: id.Name}, nil
}
