package arena

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
)

// options are arena's settings. Every flag can also be set by an environment
// variable named ARENA_ and the flag in upper case with - as _ (-tick-rate:
// ARENA_TICK_RATE); a flag on the command line wins. PORT is honoured as in
// the seed.
type options struct {
	host           string
	port           int
	logFormat      string
	logLevel       string
	allowedOrigins string
	version        bool
	server         server.Config
	// The cluster (docs/cluster.md): none without nats.
	nats, node, publicURL string
	// How the node proves who it is to NATS, and checks NATS is NATS
	// (docs/cluster.md#security).
	natsCreds, natsNkey, natsCA, natsCert, natsKey string
	natsAuth                                       []nats.Option // from those files
	// The store (docs/operations.md#store): -db, or an SQLite file under
	// -data-dir. Accounts live in it; -auth off opens none.
	db, dataDir string
	// Accounts (docs/accounts.md): whether players sign in, a studio's
	// own tokens, and OpenID Connect sign-in.
	auth                                                     string
	jwtSecret, jwks, jwtIssuer, jwtAudience                  string
	oidcIssuer, oidcClientID, oidcClientSecret, oidcRedirect string
}

// dbURL is the store's URL: -db, or the SQLite file under -data-dir.
func (o *options) dbURL() string {
	if o.db != "" {
		return o.db
	}
	return "sqlite:" + filepath.Join(o.dataDir, "arena.db")
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{server: server.DefaultConfig()}
	sc := &o.server
	fs := flag.NewFlagSet("arena", flag.ContinueOnError)
	fs.SetOutput(stderr)

	fs.StringVar(&o.host, "host", "", "address to listen on; empty listens on every interface")
	fs.IntVar(&o.port, "port", 8765, "port for the page, the WebSocket and the API (also $PORT)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")

	fs.IntVar(&sc.Room.TickRate, "tick-rate", sc.Room.TickRate, "ticks per second in every room")
	fs.StringVar(&sc.DefaultRoom, "default-room", sc.DefaultRoom, "room of clients that name none")
	fs.IntVar(&sc.Room.Capacity, "room-capacity", sc.Room.Capacity, "most players in one room; 0 for no limit")
	fs.IntVar(&sc.MaxRooms, "max-rooms", sc.MaxRooms, "most live rooms; joins that would create more are refused (the default room aside; 0: no limit)")
	fs.Float64Var(&sc.RoomCreateRate, "room-create-rate", sc.RoomCreateRate, "rooms one address may create per minute, the default room aside (0: no limit)")
	fs.IntVar(&sc.RoomCreateBurst, "room-create-burst", sc.RoomCreateBurst, "rooms one address may create at once before -room-create-rate applies")
	fs.Float64Var(&sc.JoinRate, "join-rate", sc.JoinRate, "joins (resumes included) one address may make per second; each new player takes a player ID for good (0: no limit)")
	fs.IntVar(&sc.JoinBurst, "join-burst", sc.JoinBurst, "joins one address may make at once before -join-rate applies")
	fs.DurationVar(&sc.Room.ResumeGrace, "resume-grace", sc.Room.ResumeGrace, "how long a dropped player may reconnect and resume")
	fs.DurationVar(&sc.Room.IdleTimeout, "room-idle-timeout", sc.Room.IdleTimeout, "how long an empty room lives, unless its mode sets its own (0: for ever)")
	fs.Var(keptRooms{&sc.KeepRooms}, "keep-rooms", "rooms created at start-up and kept alive, empty or not, as comma-separated NAME:MODE pairs (lobby:dots,duel:blasters)")

	fs.IntVar(&sc.MaxConnections, "max-connections", sc.MaxConnections, "most open WebSockets; more are refused with 503 (0: no limit)")
	fs.IntVar(&sc.MaxConnectionsPerIP, "max-connections-per-ip", sc.MaxConnectionsPerIP, "most open WebSockets from one address; more are refused with 429 (0: no limit)")
	fs.IntVar(&sc.Room.MaxSeatsPerAddr, "max-seats-per-ip-room", sc.Room.MaxSeatsPerAddr, "most players, connected or away, from one address in one room (0: no limit)")
	fs.IntVar(&sc.MaxSeatsPerIP, "max-seats-per-ip", sc.MaxSeatsPerIP, "most players, connected or away, from one address over every room (0: no limit)")
	fs.IntVar(&sc.Room.MaxSpectators, "max-spectators", sc.Room.MaxSpectators, "most spectators (?spectate=1) in one room; more are refused with room_full and 1013 (0: no limit)")
	fs.StringVar(&sc.ClientIPHeader, "client-ip-header", "", "header a trusted reverse proxy puts the client's address in (X-Forwarded-For, X-Real-IP); empty: the TCP peer")
	fs.DurationVar(&sc.HandshakeTimeout, "handshake-timeout", sc.HandshakeTimeout, "connections that do not finish their HTTP request and WebSocket handshake (and, after ?resume=1, their resume message) in this time are dropped; a program's join hook has as long to answer")
	fs.IntVar(&sc.MaxHTTPConnectionsPerIP, "max-http-connections-per-ip", sc.MaxHTTPConnectionsPerIP, "most open TCP connections (HTTP and WebSocket) from one peer address, ignoring -client-ip-header; more are answered 429 and closed (0: no limit)")
	fs.DurationVar(&sc.HTTPReadTimeout, "http-read-timeout", sc.HTTPReadTimeout, "a plain HTTP request, body included, not read in this time is dropped (0: no limit)")
	fs.DurationVar(&sc.HTTPWriteTimeout, "http-write-timeout", sc.HTTPWriteTimeout, "a plain HTTP answer not written in this time is cut off (0: no limit)")
	fs.DurationVar(&sc.HTTPIdleTimeout, "http-idle-timeout", sc.HTTPIdleTimeout, "keep-alive connections idle this long are closed (0: no limit)")
	fs.IntVar(&sc.MaxMessageBytes, "max-message-bytes", sc.MaxMessageBytes, "larger client messages close the connection (1009)")
	fs.Float64Var(&sc.MessageRate, "message-rate", sc.MessageRate, "client messages per second allowed in the long run")
	fs.IntVar(&sc.MessageBurst, "message-burst", sc.MessageBurst, "client messages allowed above the rate before the connection is closed (1008)")
	fs.DurationVar(&sc.WriteTimeout, "write-timeout", sc.WriteTimeout, "a client that cannot take a write in this time is disconnected")
	fs.DurationVar(&sc.PingInterval, "ping-interval", sc.PingInterval, "how often to ping clients")
	fs.DurationVar(&sc.PongTimeout, "pong-timeout", sc.PongTimeout, "a client that answers no ping for this long is disconnected")
	fs.StringVar(&o.allowedOrigins, "allowed-origins", "", "comma-separated browser origins allowed besides the server's own host; * allows any")
	fs.BoolVar(&sc.AllowNullOrigin, "allow-null-origin", sc.AllowNullOrigin, "let pages opened from disk (Origin: null) connect")
	fs.DurationVar(&sc.MaxSchedLatency, "max-sched-latency", sc.MaxSchedLatency, "refuse new players (resumes pass) while goroutines wait longer than this for a CPU (90th percentile over a second): the box is full (0: no limit)")
	fs.DurationVar(&sc.ShutdownTimeout, "shutdown-timeout", sc.ShutdownTimeout, "how long a graceful shutdown may take")
	fs.StringVar(&sc.TLSCertFile, "tls-cert", "", "certificate file (PEM) to serve HTTPS and WSS; needs -tls-key")
	fs.StringVar(&sc.TLSKeyFile, "tls-key", "", "private key file (PEM) for -tls-cert")
	fs.StringVar(&sc.AdminToken, "admin-token", "", "token that opens the admin page at /admin/; empty disables it")
	fs.DurationVar(&sc.SendDelay, "send-delay", 0, "hold every outgoing message back this long: a slow network for testing and demos")
	fs.DurationVar(&sc.SendJitter, "send-jitter", 0, "add up to this much random delay to outgoing messages (order kept)")
	fs.StringVar(&sc.PprofAddr, "pprof-addr", "", "serve Go's pprof profiles on this separate address (e.g. 127.0.0.1:6060); empty disables them")
	fs.StringVar(&o.nats, "nats", "", "NATS server URL(s), comma-separated, of a cluster to join as a node (docs/cluster.md); empty runs alone")
	fs.StringVar(&o.natsCreds, "nats-creds", "", "NATS credentials file (a user JWT and its nkey seed) the node authenticates with")
	fs.StringVar(&o.natsNkey, "nats-nkey", "", "file holding the NATS user nkey seed (SU...) the node authenticates with; not with -nats-creds")
	fs.StringVar(&o.natsCA, "nats-ca", "", "CA certificate file (PEM) that NATS's TLS certificate must be signed by; turns TLS on")
	fs.StringVar(&o.natsCert, "nats-cert", "", "client certificate file (PEM) the node shows NATS over TLS; needs -nats-key")
	fs.StringVar(&o.natsKey, "nats-key", "", "private key file (PEM) for -nats-cert")
	fs.StringVar(&o.node, "node", "", "this node's name in the cluster, unique in it; a name a live node has is refused (default: the host name and the port, host-8765)")
	fs.DurationVar(&sc.CheckpointInterval, "checkpoint-interval", sc.CheckpointInterval, "how often a node of a cluster stores its rooms' state, from which another node restores them if it dies: the most play a crash loses (0: none)")
	fs.StringVar(&o.publicURL, "public-url", "", "the URL clients reach this node's page at, which other nodes redirect to (default: http://<host>:<port>/ of this listener)")
	fs.StringVar(&o.db, "db", "", "the store: sqlite:PATH, or postgres://USER:PASSWORD@HOST/DATABASE, which every node of a cluster must share (default: sqlite:<-data-dir>/arena.db)")
	fs.StringVar(&o.dataDir, "data-dir", "arena-data", "directory of the default SQLite store, created if missing")
	fs.StringVar(&o.auth, "auth", string(game.AuthOptional), "whether players sign in with an account: optional (guests play too), required, or off (no accounts, and no store); a mode may set its own")
	fs.StringVar(&o.jwtSecret, "auth-jwt-secret", "", "a secret of at least 32 bytes shared with the studio's own backend, whose HS256 JWTs then sign its users in (keep it in ARENA_AUTH_JWT_SECRET, not on the command line)")
	fs.StringVar(&o.jwks, "auth-jwks", "", "URL of the studio's JSON Web Key Set, whose keys then sign its users in with their JWTs")
	fs.StringVar(&o.jwtIssuer, "auth-jwt-issuer", "", "the iss every studio JWT must carry (needed with -auth-jwt-secret or -auth-jwks)")
	fs.StringVar(&o.jwtAudience, "auth-jwt-audience", "", "the aud every studio JWT must carry (needed with -auth-jwt-secret or -auth-jwks)")
	fs.StringVar(&o.oidcIssuer, "oidc-issuer", "", "an OpenID Connect provider's issuer URL: players may then sign in through it")
	fs.StringVar(&o.oidcClientID, "oidc-client-id", "", "arena's client ID at the OpenID Connect provider")
	fs.StringVar(&o.oidcClientSecret, "oidc-client-secret", "", "arena's client secret at the OpenID Connect provider (keep it in ARENA_OIDC_CLIENT_SECRET)")
	fs.StringVar(&o.oidcRedirect, "oidc-redirect-url", "", "the URL the provider sends players back to: this server's /api/auth/oidc/callback, as registered with the provider")
	fs.BoolVar(&o.version, "version", false, "print arena's version and exit")
	hintDurationUnits(fs)

	fs.Usage = func() {
		fmt.Fprintf(stderr, "arena: an authoritative real-time multiplayer game server.\n\nUsage: arena [options]\n\nOptions (each also from the environment variable shown):\n")
		fs.VisitAll(func(f *flag.Flag) {
			env := envName(f.Name)
			switch f.Name {
			case "port":
				env += " or PORT"
			case "version":
				env = "(command line only)" // from the environment it would stop every start
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(stderr, "  -%s\t%s\n    \t%s%s\n", f.Name, env, f.Usage, def)
		})
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil || f.Name == "version" {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" && f.Name == "port" {
			name = "PORT" // blame the variable that was actually set
			v = getenv(name)
		}
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment %s=%q: %w", name, v, e)
		}
	})
	if err != nil {
		return nil, err
	}
	if o.allowedOrigins != "" {
		for _, origin := range strings.Split(o.allowedOrigins, ",") {
			if origin = strings.TrimSpace(origin); origin != "" {
				sc.AllowedOrigins = append(sc.AllowedOrigins, origin)
			}
		}
	}
	if o.port < 0 || o.port > 65535 {
		return nil, fmt.Errorf("port %d out of range", o.port)
	}
	if err := o.checkNATSFiles(); err != nil {
		return nil, err
	}
	if err := o.checkAccounts(); err != nil {
		return nil, err
	}
	if err := o.checkDB(); err != nil {
		return nil, err
	}
	return o, nil
}

// checkAccounts checks the accounts' options: a policy, and the pieces of
// a studio's tokens and of OpenID Connect given whole or not at all.
func (o *options) checkAccounts() error {
	policy := game.AuthPolicy(o.auth)
	if err := policy.Check(); err != nil || policy == "" {
		return fmt.Errorf("-auth %q: want optional, required or off", o.auth)
	}
	o.server.AuthPolicy = policy
	external := o.jwtSecret != "" || o.jwks != ""
	switch {
	case o.jwtSecret != "" && o.jwks != "":
		return errors.New("-auth-jwt-secret and -auth-jwks both given: a studio's tokens are checked one way")
	case external && (o.jwtIssuer == "" || o.jwtAudience == ""):
		return errors.New("-auth-jwt-secret and -auth-jwks need -auth-jwt-issuer and -auth-jwt-audience: tokens minted for another service must not sign players in")
	case !external && (o.jwtIssuer != "" || o.jwtAudience != ""):
		return errors.New("-auth-jwt-issuer and -auth-jwt-audience need -auth-jwt-secret or -auth-jwks")
	}
	oidc := o.oidcIssuer != "" || o.oidcClientID != "" || o.oidcClientSecret != "" || o.oidcRedirect != ""
	if oidc && (o.oidcIssuer == "" || o.oidcClientID == "" || o.oidcRedirect == "") {
		return errors.New("OpenID Connect needs -oidc-issuer, -oidc-client-id and -oidc-redirect-url (and usually -oidc-client-secret)")
	}
	if policy == game.AuthOff && (external || oidc) {
		return errors.New("-auth off turns accounts off: drop the -auth-jwt-* and -oidc-* options, or choose -auth optional or required")
	}
	return nil
}

// accounts reports whether the server keeps accounts, and so a store.
func (o *options) accounts() bool { return game.AuthPolicy(o.auth) != game.AuthOff }

// checkDB checks -db names a store arena can open, and that the nodes of
// a cluster share one PostgreSQL: their players' accounts must be the
// same on every node. A server without accounts (-auth off) needs none.
func (o *options) checkDB() error {
	if o.db == "" {
		if o.nats != "" && o.accounts() {
			return errors.New("a cluster (-nats) keeps its accounts in one PostgreSQL that every node shares: pass -db postgres://USER:PASSWORD@HOST/DATABASE, or -auth off for a cluster without accounts")
		}
		if o.dataDir == "" && o.accounts() {
			return errors.New("-data-dir is empty: name a directory for the SQLite store, or pass -db")
		}
		return nil
	}
	kind, err := store.Kind(o.db)
	if err != nil {
		return err
	}
	if kind == store.SQLite && o.nats != "" {
		return fmt.Errorf("-db %s is an SQLite file, which only this node can see: in a cluster (-nats) every node must share one PostgreSQL; pass -db postgres://USER:PASSWORD@HOST/DATABASE", o.db)
	}
	return nil
}

// hintDurationUnits makes every duration flag say how to fix a number
// without a unit ("5" for "5s"), the commonest mistake with them.
func hintDurationUnits(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		if g, ok := f.Value.(flag.Getter); ok {
			if _, ok := g.Get().(time.Duration); ok {
				f.Value = durationHint{f.Value}
			}
		}
	})
}

type durationHint struct{ flag.Value }

func (d durationHint) Set(s string) error {
	if _, err := time.ParseDuration(s); err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q has no unit: add one, e.g. %ss or %sms", s, s, s)
		}
		return fmt.Errorf("%q is not a duration such as 5s, 500ms or 1m30s", s)
	}
	return d.Value.Set(s)
}

func envName(flagName string) string {
	return "ARENA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// keptRooms is the -keep-rooms flag: NAME:MODE pairs, comma-separated.
// The server checks the names and the modes.
type keptRooms struct{ rooms *[]room.KeptRoom }

func (k keptRooms) String() string {
	if k.rooms == nil {
		return ""
	}
	pairs := make([]string, len(*k.rooms))
	for i, r := range *k.rooms {
		pairs[i] = r.Name + ":" + r.Mode
	}
	return strings.Join(pairs, ",")
}

func (k keptRooms) Set(v string) error {
	var rooms []room.KeptRoom
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		name, mode, ok := strings.Cut(pair, ":")
		if !ok || name == "" || mode == "" {
			return fmt.Errorf("%q is not NAME:MODE", pair)
		}
		rooms = append(rooms, room.KeptRoom{Name: name, Mode: mode})
	}
	*k.rooms = rooms
	return nil
}
