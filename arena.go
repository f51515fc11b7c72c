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
//
// A program that decides who may play, or keeps the results, gives its
// hooks in a Config and keeps everything else, flags included:
//
//	arena.New(arena.Config{
//		Modes:    []game.Mode{dots.Mode, Mode},
//		OnJoin:   checkTicket, // refuse a join, or say who the player is
//		OnResult: saveResult,  // every finished game's result, off the rooms
//	}).Main()
package arena

import (
	"cmp"
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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
	"github.com/arena-server/arena/web"
)

// Main runs the server with the given modes, the first of them the default,
// and exits the process when it stops. It reads its options from os.Args and
// the environment (run the program with -h for the list), serves until
// SIGINT or SIGTERM, then drains gracefully and exits 0. Bad options exit 2,
// a port that cannot be listened on 1. Without modes it refuses to start.
func Main(modes ...game.Mode) { New(Config{Modes: modes}).Main() }

// Run is Main for tests and for programs that embed arena: it takes the
// command-line arguments (without the program name), the environment lookup
// and where to log, serves the modes (the first the default) until ctx is
// done, and returns the exit code instead of exiting.
func Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, modes ...game.Mode) int {
	return New(Config{Modes: modes}).Run(ctx, args, getenv, stderr)
}

// Config is what a program gives arena besides its options, which come
// from flags and the environment as for Main.
type Config struct {
	// Modes are the game modes served, the first the default. At least
	// one.
	Modes []game.Mode
	// OnJoin, if set, decides on every new player's join, and may say who
	// the player is (see JoinHook).
	OnJoin JoinHook
	// OnResult, if set, is given every finished game's result (see
	// ResultHook).
	OnResult ResultHook
}

// JoinHook decides whether a new player may join, and who it is, from the
// WebSocket's HTTP request (headers, cookies, query) and the join. It runs
// on the connection's goroutine before the join reaches a room, so it may
// make a round trip to the program's own backend, within ctx: the
// handshake timeout (-handshake-timeout). A nil error admits the player as
// the Identity says, which no client can override: the game sees its
// Account in game.Player.Account, the player keeps it through resumes,
// room moves and checkpoints, and results carry it; a Name it sets
// replaces ?name=. An error refuses the player: the client gets the error
// code "unauthorized" with the error's text, which it shows, and close
// 1008, after which it does not retry. A hook that does not answer in time
// refuses with "server_error" and 1013, to try again.
//
// Resumes do not run it: the resume token, which only an admitted player
// holds, is their credential, and a token that resumes nobody is refused
// ("resume_failed") rather than seated as a player the hook never saw.
type JoinHook = server.JoinHook

// JoinInfo is the join a JoinHook decides on, as the client asked for it.
type JoinInfo = server.JoinInfo

// Identity is who a JoinHook says a player is.
type Identity = server.Identity

// ResultHook is given every finished game's result, with its room, mode,
// game number and players with their accounts. It runs on a goroutine of
// its own, one result at a time, never on a room's: it may write to a
// file or a database. Results wait for it in a bounded queue; one that
// falls too far behind loses results, counted in
// arena_results_dropped_total and logged. Each result has a key
// (ResultInfo.Key) that names its game of its room: a room restored from a
// checkpoint written before its game ended may play that end again, and
// report it again under the same key, so keep results once by key.
type ResultHook = server.ResultHook

// ResultInfo is a finished game's result, as a ResultHook is given it.
type ResultInfo = server.ResultInfo

// ResultPlayer is one player of a finished game.
type ResultPlayer = server.ResultPlayer

// App is arena as a program configured it: Main or Run it.
type App struct{ cfg Config }

// New returns arena with cfg; its options come from flags and the
// environment when it runs. cfg is checked then: without modes, Run
// refuses to start.
func New(cfg Config) *App {
	cfg.Modes = slices.Clone(cfg.Modes)
	return &App{cfg: cfg}
}

// Main runs the server, reading its options from os.Args and the
// environment (run the program with -h for the list), and exits the
// process when it stops: it serves until SIGINT or SIGTERM, then drains
// gracefully and exits 0. Bad options exit 2, a port that cannot be
// listened on 1.
func (a *App) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := a.Run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// Run is Main for tests and for programs that embed arena: it takes the
// command-line arguments (without the program name), the environment
// lookup and where to log, serves until ctx is done, and returns the exit
// code instead of exiting.
func (a *App) Run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	modes := a.cfg.Modes
	if len(modes) == 0 {
		fmt.Fprintln(stderr, "arena: no game modes: pass at least one to arena.Main, arena.Run or arena.Config.Modes; the first is the default")
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
	cfg.OnJoin, cfg.OnResult = a.cfg.OnJoin, a.cfg.OnResult
	cfg.Static = web.FS()
	cfg.Admin = web.AdminFS()
	cfg.Logger = log
	// The configuration is checked before the store opens: a bad option
	// must not create a database, or migrate one.
	pre := cfg
	if opts.accounts() {
		pre.Accounts = (*storeApp)(nil) // there will be accounts
	}
	if err := pre.Check(); err != nil {
		log.Error("bad configuration", "err", err)
		return 2
	}
	var acc *storeApp
	if opts.accounts() {
		acc, err = openAccounts(ctx, opts, cfg.Modes, log)
		if err != nil {
			log.Error("cannot open the store of accounts", "db", store.Redact(opts.dbURL()), "err", err)
			return 1
		}
		defer acc.close()
		acc.configure(&cfg)
	}
	// The listener comes first: a node tells the cluster its URL, which
	// holds the port it got.
	ln, err := net.Listen("tcp", net.JoinHostPort(opts.host, strconv.Itoa(opts.port)))
	if err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	defer ln.Close()
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	pageURL := scheme + "://" + displayAddr(ln.Addr()) + "/"
	if opts.nats != "" {
		if opts.node == "" {
			host, err := os.Hostname()
			if err != nil {
				log.Error("no -node given, and no host name", "err", err)
				return 1
			}
			// The port too: the usual way to try a cluster is two nodes
			// on one machine, and a name they shared would break it.
			opts.node = cluster.NodeName(host + "-" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		}
		node, leave, err := joinCluster(ctx, opts, cmp.Or(opts.publicURL, pageURL), log)
		if errors.Is(err, cluster.ErrNameTaken) {
			log.Error("cannot join the cluster: another live node has this node's name; give each node its own with -node (ARENA_NODE)", "node", opts.node, "err", err)
			return 1
		}
		if err != nil {
			log.Error("cannot join the cluster", "nats", redactURLs(opts.nats), "err", scrub(err, urlSecrets(opts.nats)))
			return 1
		}
		defer leave()
		cfg.Cluster = node
		if acc != nil {
			if err := acc.joinCluster(node); err != nil {
				log.Error("cannot join the cluster", "err", err)
				return 1
			}
		}
	}
	srv, err := server.New(cfg)
	if err != nil {
		log.Error("bad configuration", "err", err)
		return 2
	}
	if acc != nil {
		acc.srv.Store(srv)
	}
	// pprof before the announcement: a busy -pprof-addr must fail the
	// start before arena says it is listening.
	if err := srv.ListenPprof(); err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	log.Info("arena listening", "addr", ln.Addr().String(), "url", pageURL)
	if err := srv.Serve(ctx, ln); err != nil {
		log.Error("server failed", "err", err)
		return 1
	}
	log.Info("arena stopped")
	return 0
}

// joinCluster connects to NATS and opens this node's part of the cluster's
// directory; leave takes the node out of the cluster and disconnects.
func joinCluster(ctx context.Context, opts *options, url string, log *slog.Logger) (*cluster.Node, func(), error) {
	name := opts.node
	connect := []nats.Option{
		nats.Name("arena " + name),
		// Running games do not need NATS: a node keeps trying for as long
		// as it runs, and its rooms play on meanwhile.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		// A directory write made while NATS is away fails at once rather
		// than wait in a buffer and land after its caller gave up on it.
		nats.ReconnectBufSize(-1),
	}
	connect = append(connect, natsHandlers(log)...)
	connect = append(connect, opts.natsAuth...)
	nc, err := nats.Connect(opts.nats, connect...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	dir, err := cluster.Open(octx, js, cluster.Config{Node: name, URL: url, Logger: log})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	log.Info("joined the cluster", "node", name, "url", url, "nats", redactURLs(nc.ConnectedUrl()))
	leave := func() {
		lctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := dir.Leave(lctx); err != nil {
			log.Warn("cluster: leaving", "err", err)
		}
		nc.Close()
	}
	return cluster.NewNode(dir, log), leave, nil
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
