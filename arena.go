// Package arena runs a complete arena server (flags and their environment
// variables, limits, metrics, the admin page and the embedded browser client)
// around the game modes it is given. A program that adds a mode needs no copy
// of cmd/arena's main:
//
//	package main
//
//	import (
//		"github.com/arena-server/arena"
//		"github.com/arena-server/arena/games/dots"
//		"github.com/arena-server/arena/games/tag"
//	)
//
//	func main() { arena.Main(dots.Mode, tag.Mode, Mode) }
//
// The first mode given is the default. The stock binary, cmd/arena, is
// arena.Main(dots.Mode, tag.Mode, blasters.Mode, world.Mode).
package arena

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/web"
)

// Main runs the server with the given modes, the first of them the default,
// and exits the process when it stops. It reads its options from os.Args and
// the environment (run the program with -h for the list), serves until
// SIGINT or SIGTERM, then drains gracefully and exits 0. Bad options exit 2,
// a port that cannot be listened on 1. Without modes it refuses to start.
func Main(modes ...game.Mode) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Getenv, os.Stderr, modes...)
	stop()
	os.Exit(code)
}

// Run is Main for tests and for programs that embed arena: it takes the
// command-line arguments (without the program name), the environment lookup
// and where to log, serves the modes (the first the default) until ctx is
// done, and returns the exit code instead of exiting.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, modes ...game.Mode) int {
	if len(modes) == 0 {
		fmt.Fprintln(stderr, "arena: no game modes: pass at least one to arena.Main or arena.Run; the first is the default")
		return 2
	}
	opts, err := parseOptions(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "arena:", err)
		return 2
	}
	if opts.version {
		fmt.Fprintln(stderr, "arena", version())
		return 0
	}
	log, err := newLogger(opts.logFormat, opts.logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "arena:", err)
		return 2
	}
	cfg := opts.server
	cfg.Modes = slices.Clone(modes)
	cfg.Static = web.FS()
	cfg.Admin = web.AdminFS()
	cfg.Logger = log
	srv, err := server.New(cfg)
	if err != nil {
		log.Error("bad configuration", "err", err)
		return 2
	}
	// pprof first: a busy -pprof-addr must fail the start before arena
	// says it is listening.
	if err := srv.ListenPprof(); err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(opts.host, strconv.Itoa(opts.port)))
	if err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	log.Info("arena listening", "addr", ln.Addr().String(), "url", scheme+"://"+displayAddr(ln.Addr())+"/")
	if err := srv.Serve(ctx, ln); err != nil {
		log.Error("server failed", "err", err)
		return 1
	}
	log.Info("arena stopped")
	return 0
}

// version is the module version arena was built as, with the VCS revision
// when the build recorded one.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown version)"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " (" + rev + dirty + ")"
	}
	return v + " " + bi.GoVersion
}

// displayAddr is where a person on this machine can open the page.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
		}
		return a.String()
	}
	return tcp.String()
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
