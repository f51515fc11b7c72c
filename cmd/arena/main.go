// Command arena runs the arena game server: the browser client, the
// WebSocket endpoint and the API on one port.
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
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

// run starts arena and blocks until ctx is done. It returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
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
	cfg.Modes = []game.Mode{dots.Mode, tag.Mode}
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
