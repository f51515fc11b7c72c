// Package server is arena's network face: the HTTP mux that serves the
// browser client, health checks, metrics and the lobby API, and the
// WebSocket sessions that connect players to rooms.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/addrlimit"
	"github.com/arena-server/arena/matchmaker"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// Config is everything a Server needs. Start from DefaultConfig.
type Config struct {
	// Modes the server offers; the first is the default.
	Modes []game.Mode
	// DefaultRoom is where clients that name no room go.
	DefaultRoom string
	// Room holds the settings of every room (room.Settings): -tick-rate,
	// -room-capacity, -resume-grace, -room-idle-timeout,
	// -max-seats-per-ip-room, -max-spectators. Spectators hold no seat;
	// they are connections, and count toward MaxConnections and
	// MaxConnectionsPerIP.
	Room room.Settings
	// KeepRooms are rooms created as the server starts and kept alive,
	// empty or not, for as long as it runs (-keep-rooms): a lobby, a
	// persistent world. One whose game ends without a rematch is created
	// anew. In a cluster, a kept room another node runs is left to it.
	KeepRooms []room.KeptRoom

	// MaxConnections bounds open WebSockets (503 beyond); 0: no limit.
	MaxConnections int
	// MaxConnectionsPerIP bounds open WebSockets from one address (429
	// beyond); 0: no limit.
	MaxConnectionsPerIP int
	// MaxSeatsPerIP bounds the players, connected or away, one address
	// holds over every room (Room.MaxSeatsPerAddr: in one room). Away
	// players count until their resume grace ends, so an address that
	// drops its connections cannot fill rooms. 0: no limit.
	MaxSeatsPerIP int
	// MaxRooms bounds the live rooms; joins that would create another are
	// refused (the default room is always allowed). 0: no limit.
	MaxRooms int
	// RoomCreateRate (rooms per minute) and RoomCreateBurst bound how fast
	// one address creates rooms. 0 rate: no limit.
	RoomCreateRate  float64
	RoomCreateBurst int
	// JoinRate (joins a second) and JoinBurst bound how fast one address
	// joins rooms, resumes included: every new player takes a player ID
	// for good, and an address joining flat out would otherwise use up a
	// cluster's 2³² IDs in days. 0 rate: no limit.
	JoinRate  float64
	JoinBurst int
	// ClientIPHeader names a header (X-Forwarded-For, X-Real-IP) that holds
	// the client's address, set by a trusted reverse proxy. Empty: the
	// address of the TCP peer.
	ClientIPHeader string
	// HandshakeTimeout bounds reading a request's headers and the WebSocket
	// handshake, so connections that never finish one are dropped.
	HandshakeTimeout time.Duration
	// MaxHTTPConnectionsPerIP bounds open TCP connections from one peer
	// address, plain HTTP and WebSocket alike, so idle or half-sent
	// requests cannot pile up; beyond it a connection is answered 429 and
	// closed at accept. It counts the TCP peer: ClientIPHeader does not
	// apply, so behind a proxy raise it or turn it off. 0: no limit.
	MaxHTTPConnectionsPerIP int
	// HTTPReadTimeout bounds reading a whole plain request, body included;
	// HTTPWriteTimeout bounds answering it; HTTPIdleTimeout closes
	// keep-alive connections that send no next request. WebSockets set
	// their own deadlines once upgraded. 0: no limit.
	HTTPReadTimeout, HTTPWriteTimeout, HTTPIdleTimeout time.Duration
	// MaxMessageBytes closes connections that send a larger message (1009).
	MaxMessageBytes int
	// MessageRate and MessageBurst bound client messages: a client that
	// exceeds the burst at above the rate is closed (1008).
	MessageRate  float64
	MessageBurst int
	// ErrorRate and ErrorBurst bound the error answers sent to one client.
	ErrorRate  float64
	ErrorBurst int
	// MaxQueuedEvents bounds a connection's queue of events; a client that
	// lets it overflow is closed as too slow.
	MaxQueuedEvents int
	// WriteTimeout bounds every write; a client that cannot take a write in
	// time is closed as too slow.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings; a client that has not
	// answered for PongTimeout is closed.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// AllowedOrigins lists browser origins (scheme://host[:port]) allowed
	// to connect besides the server's own host. "*" allows any.
	AllowedOrigins []string
	// AllowNullOrigin lets pages opened from disk (Origin: null), such as
	// the seed's client.html, connect.
	AllowNullOrigin bool
	// Cluster, if set, makes this server a node of a cluster (package
	// cluster): its rooms are claimed in the cluster's directory, joins of
	// rooms on other nodes are redirected there, quick-joins and
	// /api/rooms span every node, and pages of every node may connect.
	Cluster *cluster.Node
	// CheckpointInterval is how often a node of a cluster stores its
	// rooms' state, from which another node restores them if this one
	// dies: the most play such a death loses. 0: no checkpoints.
	CheckpointInterval time.Duration
	// MaxSchedLatency refuses new players (resumes still pass) while the
	// 90th percentile of how long ready goroutines wait for a CPU, over
	// each second, is above it: the box is full, and one more player would
	// slow everyone's game. It lets them in again below half of it. 0: no
	// limit.
	MaxSchedLatency time.Duration
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration
	// SendDelay and SendJitter hold every outgoing message back by the delay
	// plus a random part of the jitter (order kept): a slow network on
	// demand, for testing and demonstrating prediction. Zero in production.
	SendDelay, SendJitter time.Duration

	// TLSCertFile and TLSKeyFile, if both set, serve HTTPS and WSS.
	TLSCertFile, TLSKeyFile string
	// AdminToken enables /admin for requests that present it. Empty
	// disables the admin page.
	AdminToken string
	// AdminAPI, if set, is more of the admin's API (accounts, boards):
	// it is served every path below /admin/api/ but /admin/api/stats,
	// behind the admin token, and the admin page shows its Accounts
	// section. Nil: those paths are not found.
	AdminAPI http.Handler
	// API, if set, is the program's part of the HTTP API (accounts,
	// players' progress): it is served every path below /api/ that the
	// server does not serve itself. Nil: those paths are not found.
	API http.Handler
	// Matchmaker, if set, is the pool of rated matchmaking: its tickets'
	// API is served under /api/matchmake/tickets (and POST /api/matchmake
	// with a bearer makes a ticket; without one it is the quick-join it
	// always was), and Serve runs its matcher, which seats the players it
	// matches in rooms of this server. Nil: those paths are not found.
	Matchmaker *matchmaker.Service
	// Collectors are more metrics for /metrics: the program's own parts'
	// (the results writer's counts, say).
	Collectors []prometheus.Collector
	// PprofAddr, if set, serves net/http/pprof on a separate listener
	// there (keep it on loopback).
	PprofAddr string

	// OnJoin, if set, decides on every new player's join before it reaches
	// a room: it runs on the connection's goroutine (it may make a round
	// trip to the program's own backend) within HandshakeTimeout, and
	// sees the WebSocket's HTTP request and the join. Its error refuses
	// the player with its text and the final code unauthorized (close
	// 1008): the text is shown to the player. One that does not answer in
	// time refuses it with server_error and 1013, to try again. The
	// Identity it returns is the player's: the game sees it
	// (game.Player.Account), and a name it sets replaces ?name=. For a
	// player who signed in (Accounts) the hook sees its account
	// (JoinInfo.Account); an Identity without an account keeps it.
	//
	// A resume does not run it: its token, which only a player the hook
	// admitted was given, is its credential, and the player keeps the
	// identity it joined with (a single-use ticket in the URL the client
	// reconnects with would be spent by then). A token that resumes
	// nobody is refused with resume_failed, never seated as a new player
	// the hook did not see.
	OnJoin JoinHook
	// OnResult, if set, is given every finished game's result, once per
	// game and room: on a goroutine of its own, in order, never on a
	// room's. Results wait for it in a queue of ResultQueue; a hook that
	// falls further behind loses results, counted in
	// arena_results_dropped_total and logged. Its context ends when the
	// server has stopped and handed it what was queued, within
	// ShutdownTimeout.
	OnResult ResultHook
	// ResultQueue is how many results may wait for OnResult.
	ResultQueue int

	// Accounts checks the access tokens of joins that sign in (?auth=1,
	// then an auth message); nil: none can. A player who signs in plays
	// as its account: the game sees it (game.Player.Account), its name
	// replaces ?name=, the welcome tells the client, and one account holds
	// one seat per room (a second device takes it over). OnJoin, if set,
	// still runs, and sees the account in JoinInfo.
	Accounts Authenticator
	// AuthPolicy (-auth) says whether players sign in:
	// game.AuthOptional ("" too: guests play, as before accounts),
	// game.AuthRequired (only players who sign in play or watch), or
	// game.AuthOff (nobody signs in). A mode's own (game.Mode.Auth)
	// overrides it. Required needs Accounts.
	AuthPolicy game.AuthPolicy

	// Storage, if set, keeps players' storage (package progress's
	// Service): a joining player with an account gets its objects of the
	// collections its mode loads (game.Mode.Loads), read on its
	// connection's goroutine before the join reaches the room, and games'
	// saves (game.Saver) are handed to it from the rooms. Nil: players
	// join with none, and saves fail (room.ErrNoStorage).
	Storage Storage

	// Static is the browser client, served at /. Nil serves nothing.
	Static fs.FS
	// Admin is the admin page, served at /admin/ when AdminToken is set.
	Admin  fs.FS
	Logger *slog.Logger
}

// DefaultConfig returns the configuration arena runs with out of the box:
// safe to expose, generous enough for real games.
func DefaultConfig() Config {
	return Config{
		DefaultRoom:         "default",
		Room:                room.DefaultSettings(),
		MaxConnections:      10000,
		MaxConnectionsPerIP: 100,
		MaxSeatsPerIP:       100,
		MaxRooms:            1000,
		RoomCreateRate:      30,
		RoomCreateBurst:     10,
		// A household or a LAN party behind one address joins at once;
		// flat out, 20 a second would take 7 years to use up 2³² IDs.
		JoinRate:  20,
		JoinBurst: 100,
		// A WebSocket is a TCP connection too: room for the WebSocket
		// limit and the page's own requests besides.
		MaxHTTPConnectionsPerIP: 200,
		HTTPReadTimeout:         10 * time.Second,
		HTTPWriteTimeout:        10 * time.Second,
		HTTPIdleTimeout:         time.Minute,
		HandshakeTimeout:        5 * time.Second,
		MaxMessageBytes:         4096,
		MessageRate:             100,
		MessageBurst:            200,
		ErrorRate:               5,
		ErrorBurst:              10,
		MaxQueuedEvents:         256,
		WriteTimeout:            5 * time.Second,
		PingInterval:            2 * time.Second,
		PongTimeout:             6 * time.Second,
		AllowNullOrigin:         true,
		MaxSchedLatency:         25 * time.Millisecond,
		CheckpointInterval:      5 * time.Second,
		ShutdownTimeout:         4 * time.Second,
		ResultQueue:             1024,
	}
}

// Server serves arena over HTTP and WebSocket.
type Server struct {
	cfg      Config
	log      *slog.Logger
	rooms    *room.Manager
	upgrader websocket.Upgrader
	mux      *http.ServeMux
	metrics  *metrics
	traffic  traffic
	started  time.Time

	draining atomic.Bool
	nextConn atomic.Uint64
	mu       sync.Mutex
	sessions map[*session]struct{}
	// byAccount indexes the sessions that signed in by their account, for
	// CloseAccount.
	byAccount map[string]map[*session]struct{}
	perIP     map[string]int
	// accountsOn: a join may sign in (some mode takes accounts, and there
	// is an Authenticator); authRequired: every mode requires it.
	accountsOn, authRequired bool
	wg                       sync.WaitGroup
	pprofLn                  net.Listener // bound by ListenPprof before Serve, or by Serve
	overload                 *overload    // nil: no limit

	adminAuth *authThrottle      // failed admin logins by address
	joins     *addrlimit.Limiter // joins by address; nil: no limit
	passwords *addrlimit.Limiter // wrong room passwords by address
	results   *results           // nil without Config.OnResult

	cluster Cluster // Config.Cluster's, or the standalone one
}

// traffic counts what crosses the WebSockets; metrics and the admin page
// read it.
type traffic struct {
	messagesIn, messagesOut atomic.Uint64
	bytesIn, bytesOut       atomic.Uint64
}

// New validates cfg and returns a server. Its rooms run until Serve returns.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	resolveAuth(&cfg)
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		sessions:  make(map[*session]struct{}),
		byAccount: make(map[string]map[*session]struct{}),
		perIP:     make(map[string]int),
		started:   time.Now(),

		adminAuth: newAuthThrottle(),
		cluster:   newCluster(cfg.Cluster),
		passwords: newPasswordThrottle(),
	}
	s.accountsOn, s.authRequired = authPolicies(&cfg)
	if cfg.JoinRate > 0 {
		s.joins = addrlimit.New(rate.Limit(cfg.JoinRate), max(cfg.JoinBurst, 1), maxTrackedJoinAddrs)
	}
	if cfg.MaxSchedLatency > 0 {
		s.overload = newOverload(cfg.MaxSchedLatency, time.Second)
	}
	s.metrics = newMetrics(func() []room.Stats { return s.rooms.Rooms() }, &s.traffic, s.connectionCount, s.overload)
	s.metrics.reg.MustRegister(s.cluster.collectors()...)
	s.metrics.reg.MustRegister(cfg.Collectors...)
	var onResult func(room.Report)
	if cfg.OnResult != nil {
		s.results = newResults(cfg.OnResult, cfg.ResultQueue, cfg.Logger, s.metrics.resultsDropped)
		onResult = s.results.offer
	}
	var load room.LoadFunc
	var save room.SaveFunc
	var submit func(game.Submission)
	if cfg.Storage != nil {
		load, save, submit = cfg.Storage.Load, cfg.Storage.Save, cfg.Storage.Score
	}
	rooms, err := room.NewManager(room.ManagerConfig{
		Modes:           cfg.Modes,
		DefaultRoom:     cfg.DefaultRoom,
		Room:            cfg.Room,
		KeepRooms:       cfg.KeepRooms,
		MaxSeatsPerAddr: cfg.MaxSeatsPerIP,
		MaxRooms:        cfg.MaxRooms,
		Full:            s.overload.full,
		Directory:       s.cluster.directory(),
		NewPlayerID:     s.cluster.playerIDs(),
		OnResult:        onResult,
		Load:            load,
		Save:            save,
		Submit:          submit,
		CreateRate:      cfg.RoomCreateRate / 60,
		CreateBurst:     cfg.RoomCreateBurst,
		Metrics:         s.metrics.roomMetrics(),
		Logger:          cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s.rooms = rooms
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		// The native protocol by preference order; a client that asks for
		// no subprotocol speaks the seed's.
		Subprotocols: []string{protocol.SubprotocolBinary, protocol.SubprotocolJSON},
		// Client messages are a few bytes: a small read buffer serves
		// (larger ones take more reads). Write buffers are lent from a
		// pool for the length of a write, not held by every idle
		// connection between ticks.
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		// Browsers offer permessage-deflate. Seed states are framed once
		// per tick, so compressing them costs one deflate per tick per
		// room and cuts their bytes about threefold; native messages are
		// already compact and written per client, so they go uncompressed.
		EnableCompression: true,
		// serveWS checks the origin before upgrading, with a clearer answer.
		CheckOrigin: func(*http.Request) bool { return true },
		Error:       s.handshakeError,
	}
	s.routes()
	return s, nil
}

// Check reports what New would refuse in cfg, without starting anything,
// so that a program can check its configuration before it opens what the
// server needs, such as the store of its accounts.
func (cfg Config) Check() error { return validate(&cfg) }

func validate(cfg *Config) error {
	switch {
	case len(cfg.Modes) == 0:
		return errors.New("no game modes")
	case cfg.Room.TickRate < 1 || cfg.Room.TickRate > 1000:
		return fmt.Errorf("Room.TickRate (-tick-rate) %d out of range 1..1000", cfg.Room.TickRate)
	}
	// Each limit names its field and flag, so the error says what to fix.
	for _, c := range []struct {
		bad  bool
		name string
		want string
	}{
		{cfg.MaxMessageBytes <= 0, "MaxMessageBytes (-max-message-bytes)", "must be positive"},
		{cfg.MessageRate <= 0, "MessageRate (-message-rate)", "must be positive"},
		{cfg.MessageBurst <= 0, "MessageBurst (-message-burst)", "must be positive"},
		{cfg.ErrorRate < 0, "ErrorRate", "cannot be negative"},
		{cfg.MaxQueuedEvents <= 0, "MaxQueuedEvents", "must be positive"},
		{cfg.WriteTimeout <= 0, "WriteTimeout (-write-timeout)", "must be positive"},
		{cfg.HandshakeTimeout <= 0, "HandshakeTimeout (-handshake-timeout)", "must be positive"},
		{cfg.PingInterval <= 0, "PingInterval (-ping-interval)", "must be positive"},
		{cfg.PongTimeout <= cfg.PingInterval, "PongTimeout (-pong-timeout)", "must be longer than PingInterval (-ping-interval)"},
		{cfg.Room.Capacity < 0, "Room.Capacity (-room-capacity)", "cannot be negative"},
		{cfg.Room.IdleTimeout < 0, "Room.IdleTimeout (-room-idle-timeout)", "cannot be negative"},
		{cfg.MaxConnections < 0, "MaxConnections (-max-connections)", "cannot be negative"},
		{cfg.MaxConnectionsPerIP < 0, "MaxConnectionsPerIP (-max-connections-per-ip)", "cannot be negative"},
		{cfg.SendDelay < 0, "SendDelay (-send-delay)", "cannot be negative"},
		{cfg.SendJitter < 0, "SendJitter (-send-jitter)", "cannot be negative"},
		{cfg.MaxSchedLatency < 0, "MaxSchedLatency (-max-sched-latency)", "cannot be negative"},
		{cfg.MaxHTTPConnectionsPerIP < 0, "MaxHTTPConnectionsPerIP (-max-http-connections-per-ip)", "cannot be negative"},
		{cfg.HTTPReadTimeout < 0, "HTTPReadTimeout (-http-read-timeout)", "cannot be negative"},
		{cfg.HTTPWriteTimeout < 0, "HTTPWriteTimeout (-http-write-timeout)", "cannot be negative"},
		{cfg.HTTPIdleTimeout < 0, "HTTPIdleTimeout (-http-idle-timeout)", "cannot be negative"},
		{cfg.Room.MaxSeatsPerAddr < 0, "Room.MaxSeatsPerAddr (-max-seats-per-ip-room)", "cannot be negative"},
		{cfg.MaxSeatsPerIP < 0, "MaxSeatsPerIP (-max-seats-per-ip)", "cannot be negative"},
		{cfg.Room.MaxSpectators < 0, "Room.MaxSpectators (-max-spectators)", "cannot be negative"},
		{cfg.MaxRooms < 0, "MaxRooms (-max-rooms)", "cannot be negative"},
		{cfg.RoomCreateRate < 0, "RoomCreateRate (-room-create-rate)", "cannot be negative"},
		{cfg.RoomCreateBurst < 0, "RoomCreateBurst (-room-create-burst)", "cannot be negative"},
		{cfg.JoinRate < 0, "JoinRate (-join-rate)", "cannot be negative"},
		{cfg.JoinBurst < 0, "JoinBurst (-join-burst)", "cannot be negative"},
		{cfg.OnResult != nil && cfg.ResultQueue <= 0, "ResultQueue", "must be positive with OnResult"},
		{(cfg.TLSCertFile == "") != (cfg.TLSKeyFile == ""), "TLS", "needs both a certificate and a key file (-tls-cert and -tls-key)"},
	} {
		if c.bad {
			return fmt.Errorf("%s %s", c.name, c.want)
		}
	}
	if err := cfg.AuthPolicy.Check(); err != nil {
		return fmt.Errorf("AuthPolicy (-auth): %w", err)
	}
	for _, m := range cfg.Modes {
		if err := m.Check(); err != nil {
			return err
		}
		if cmp.Or(m.Auth, cfg.AuthPolicy) == game.AuthRequired && cfg.Accounts == nil {
			return fmt.Errorf("mode %s requires accounts (-auth required), and the server has none to check them (Accounts)", m.Name)
		}
	}
	for _, k := range cfg.KeepRooms {
		switch {
		case !room.ValidName(k.Name):
			return fmt.Errorf("KeepRooms (-keep-rooms) %q: %w", k.Name, room.ErrBadRoomName)
		case !slices.ContainsFunc(cfg.Modes, func(m game.Mode) bool { return m.Name == k.Mode }):
			return fmt.Errorf("KeepRooms (-keep-rooms) %s:%s: no such game mode", k.Name, k.Mode)
		}
	}
	if cfg.TLSCertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
	}
	return nil
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /api/rooms", s.serveRooms)
	s.mux.HandleFunc("GET /api/modes", s.serveModes)
	s.mux.HandleFunc("POST /api/matchmake", s.serveMatchmake)
	s.mux.HandleFunc("POST /api/rooms", s.serveCreateRoom)
	s.mux.HandleFunc("POST /api/rooms/{name}/join", s.serveRoomJoin)
	s.mux.HandleFunc("GET /admin/", s.serveAdminPage)
	s.mux.HandleFunc("GET /admin/api/stats", s.requireAdmin(s.serveAdminStats))
	// The program's own parts of the APIs take every path below /api/ and
	// /admin/api/ that the server does not serve itself (a more specific
	// pattern wins). By method: a pattern of any method would overlap
	// "GET /" and "GET /admin/" with neither the more specific, which
	// ServeMux refuses.
	methods := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	if s.cfg.AdminAPI != nil {
		api := s.requireAdmin(s.cfg.AdminAPI.ServeHTTP)
		for _, m := range methods {
			s.mux.HandleFunc(m+" /admin/api/", api)
		}
	}
	if s.cfg.API != nil {
		for _, m := range methods {
			s.mux.Handle(m+" /api/", s.cfg.API)
		}
	}
	if s.cfg.Matchmaker != nil {
		mm := s.cfg.Matchmaker.Handler()
		s.mux.Handle("POST /api/matchmake/tickets", mm)
		s.mux.Handle("GET /api/matchmake/tickets/{id}", mm)
		s.mux.Handle("DELETE /api/matchmake/tickets/{id}", mm)
	}
	var static http.Handler = http.NotFoundHandler()
	if s.cfg.Static != nil {
		static = http.FileServerFS(s.cfg.Static)
	}
	// The browser SDK (/sdk/arena.js) and the modules it imports (/js/) may
	// be imported by pages of other sites: module scripts load with CORS.
	// They are the same public files for everyone and carry no credentials,
	// so any origin may read them; the WebSocket's origin check still
	// decides who may play.
	s.mux.Handle("GET /sdk/", allowAnyOrigin(static))
	s.mux.Handle("GET /js/", allowAnyOrigin(static))
	s.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && websocket.IsWebSocketUpgrade(r) {
			s.serveWS(w, r) // the seed's client connects to ws://host:8765/
			return
		}
		pageHeaders(w.Header(), pagePolicy)
		static.ServeHTTP(w, r)
	})
}

// allowAnyOrigin lets scripts of any origin read h's answers. The pages'
// policy headers are left off: they would not bind the page that imports
// these scripts, which has its own. nosniff is kept: a browser then runs
// them only as the JavaScript they are served as.
func allowAnyOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// pagePolicy is the Content-Security-Policy of the game's page: it loads
// scripts, styles and images from this server only, runs no inline script
// or style (it has none), may not be framed (clickjacking), and posts no
// form elsewhere.
//
// It connects to this server and, in a cluster, to whatever node a
// redirect names: a redirect keeps the page here and moves only its
// WebSocket, and nodes come and go after the page has loaded, so no list
// of them written into this header would stay right. Hence ws: and wss:,
// for sockets to any host; fetch stays on 'self'. (And 'self' covers this
// server's own ws: and wss: only since CSP level 3.) The policy guards
// against scripts that are not the page's own, which script-src 'self'
// keeps out; the page's own scripts open sockets only where this server
// or a node of its cluster sent them.
const pagePolicy = "default-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pageHeaders sets a page's policy, X-Frame-Options for browsers that do
// not know frame-ancestors, no MIME sniffing, and no Referer, which would
// carry the page's URL (its room) to other sites.
func pageHeaders(h http.Header, policy string) {
	h.Set("Content-Security-Policy", policy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Manager returns the server's room manager.
func (s *Server) Manager() *room.Manager { return s.rooms }

// Serve accepts connections on ln until ctx is done, then shuts down
// gracefully: it stops accepting, closes every WebSocket with 1001 and a
// reason, stops the rooms, and returns within ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// The read and write timeouts also put deadlines on connections that
	// become WebSockets; serveWS clears them after the upgrade.
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.cfg.HandshakeTimeout,
		ReadTimeout:       s.cfg.HTTPReadTimeout,
		WriteTimeout:      s.cfg.HTTPWriteTimeout,
		IdleTimeout:       s.cfg.HTTPIdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	ln = newConnLimitListener(ln, s.cfg.MaxHTTPConnectionsPerIP, s.metrics.refused.WithLabelValues("http_connections_per_ip").Inc)
	if s.cfg.ClientIPHeader != "" && s.cfg.MaxHTTPConnectionsPerIP > 0 {
		// Behind a proxy every TCP connection comes from the proxy.
		s.log.Warn("the per-address TCP connection limit counts the proxy's address, not the client's: it caps all clients behind it",
			"max_http_connections_per_ip", s.cfg.MaxHTTPConnectionsPerIP, "client_ip_header", s.cfg.ClientIPHeader)
	}
	if s.overload != nil {
		octx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.overload.run(octx) }()
		defer func() { stop(); <-done }()
	}
	stopCluster, err := s.cluster.run(ctx, s)
	if err != nil {
		s.rooms.Close()
		return err
	}
	defer stopCluster()
	// Once the cluster runs: a kept room another node runs is its.
	s.rooms.OpenKept()
	if s.cfg.Matchmaker != nil {
		stopMatcher := s.runMatchmaker(ctx)
		defer stopMatcher()
	}
	errc := make(chan error, 2)
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- hs.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	var debug *http.Server
	if s.cfg.PprofAddr != "" {
		if err := s.ListenPprof(); err != nil {
			_ = hs.Close()
			s.rooms.Close()
			return err
		}
		dln := s.pprofLn
		debug = &http.Server{Handler: pprofMux(), ReadHeaderTimeout: s.cfg.HandshakeTimeout}
		s.log.Info("pprof listening", "addr", dln.Addr().String())
		go func() { _ = debug.Serve(dln) }()
	}
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.Shutdown(sctx)
	// WebSockets are hijacked, so http.Server.Shutdown does not wait for
	// them; by now they are closed and only plain requests remain.
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	if debug != nil {
		_ = debug.Close()
	}
	return serveErr
}

// ListenPprof binds PprofAddr now, so that a busy address fails a start
// before it is announced; Serve then serves pprof there. Without PprofAddr it
// does nothing.
func (s *Server) ListenPprof() error {
	if s.cfg.PprofAddr == "" || s.pprofLn != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.PprofAddr)
	if err != nil {
		return fmt.Errorf("pprof listener (-pprof-addr): %w", err)
	}
	s.pprofLn = ln
	return nil
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Shutdown stops accepting WebSockets, closes every session with 1001 and a
// reason, waits for them until ctx is done (then drops the rest), and stops
// the rooms. /readyz reports not ready from its start.
func (s *Server) Shutdown(ctx context.Context) {
	s.draining.Store(true)
	s.mu.Lock()
	open := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()
	s.log.Info("shutting down", "connections", len(open))
	s.cluster.drain(ctx, s)
	// close only signals each session's writer, so one client that does
	// not read holds up nobody; they all close at once.
	for _, sess := range open {
		sess.close(reasonShutdown.wire())
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for sess := range s.sessions {
			_ = sess.ws.NetConn().Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.rooms.Close()
	if s.results != nil {
		s.results.close(ctx)
	}
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	if s.overload.full() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "full"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

// handshakeError answers a refused WebSocket handshake.
func (s *Server) handshakeError(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	s.metrics.refused.WithLabelValues(reasonHandshake.info().label).Inc()
	http.Error(w, reason.Error(), status)
}

// serveWS admits a WebSocket connection and runs its session.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "this endpoint speaks WebSocket", http.StatusUpgradeRequired)
		return
	}
	if !s.checkOrigin(r) {
		s.metrics.refused.WithLabelValues(reasonOrigin.info().label).Inc()
		http.Error(w, "origin not allowed: "+r.Header.Get("Origin"), reasonOrigin.info().status)
		return
	}
	if asked := websocket.Subprotocols(r); len(asked) > 0 && !slices.ContainsFunc(asked, func(p string) bool {
		return p == protocol.SubprotocolBinary || p == protocol.SubprotocolJSON
	}) {
		s.metrics.refused.WithLabelValues(reasonSubprotocol.info().label).Inc()
		http.Error(w, fmt.Sprintf("unsupported subprotocol %q: this server speaks %s and %s, or the seed protocol when none is asked for",
			strings.Join(asked, ", "), protocol.SubprotocolBinary, protocol.SubprotocolJSON), reasonSubprotocol.info().status)
		return
	}
	ip := s.clientIP(r)
	relayedBy := ""
	if relayed, node, ok := s.relayedIP(r); ok {
		ip, relayedBy = relayed, node // another node relays this client's frames
	}
	if why := s.admit(ip); why != reasonNone {
		info := why.info()
		w.Header().Set("Retry-After", strconv.Itoa(info.after))
		http.Error(w, info.text, info.status)
		return
	}
	// The frameConn counts the client's frames. It gives a message that
	// has begun HandshakeTimeout to arrive whole: the time a client has
	// to send its request's headers, which are larger than a message (4
	// KiB by default), and its resume message. A client that cannot send
	// one message in that time cannot play; one that keeps a message open
	// longer holds a session's buffer without playing. A message may take
	// twice MaxMessageBytes on the wire, and some: deflate's worst case
	// adds 5 bytes to 64 KiB, and a client that flushes often a few more.
	ws, err := s.upgrader.Upgrade(frameCounting{w, s.cfg.HandshakeTimeout, 2*uint64(s.cfg.MaxMessageBytes) + 1024}, r, nil)
	if err != nil {
		s.release(ip)
		return // the upgrader has answered with an HTTP error
	}
	// The session runs on a goroutine of its own and the handler returns,
	// so that net/http lets go of the request, of the 8 KiB of buffers a
	// hijacked connection no longer uses, and of the handler's deep stack:
	// with thousands of players, that is most of what each one costs.
	//
	// The request is kept only for a join hook, which sees it, until the
	// join is done.
	var req *http.Request
	if s.cfg.OnJoin != nil {
		req = r
	}
	go s.runSession(ws, req, ip, relayedBy, r.URL.RawQuery, offersDeflate(r.Header.Values("Sec-Websocket-Extensions")))
}

// runSession plays one WebSocket connection, from its query string to
// its end. relayedBy names the node that relays it, if one does; r is its
// HTTP request, for the join hook, if there is one.
func (s *Server) runSession(ws *websocket.Conn, r *http.Request, ip, relayedBy, rawQuery string, deflate bool) {
	// The connection is hijacked: nothing else will ever close it, so every
	// way out of the session must. done is the way out; once the player
	// has joined, play's goroutine takes it.
	var sess *session
	done := func() {
		if sess != nil {
			sess.end()
			s.untrack(sess)
		}
		ws.Close()
		s.release(ip)
	}
	playing := false
	defer func() {
		if !playing {
			done()
		}
	}()
	// http.Server's read and write timeouts left deadlines on the
	// connection; from here the session sets its own.
	_ = ws.NetConn().SetDeadline(time.Time{})
	id := s.nextConn.Add(1)
	who := []any{"conn", id, "ip", ip, "protocol", cmp.Or(ws.Subprotocol(), "seed")}
	encoded := s.metrics.stateEncodings.Inc
	var c codec = &seedCodec{encoded: encoded}
	switch ws.Subprotocol() {
	case protocol.SubprotocolBinary:
		c = newNativeCodec(false, encoded)
	case protocol.SubprotocolJSON:
		c = newNativeCodec(true, encoded)
	}
	sess = newSession(s, ws, c, who, deflate)
	sess.relayQuery, sess.relayIP, sess.relayedBy = rawQuery, ip, relayedBy
	if !s.track(sess) {
		sess.close(reasonShutdown.wire())
		sess.end()
		sess = nil
		return
	}
	s.metrics.connectionsTotal.Inc()

	// r.URL.Query drops pairs it cannot parse, which turned ?room=%zz into
	// a silent join of the default room.
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		sess.refuse(&protocol.Error{Code: protocol.CodeBadRequest, Message: "malformed query string: " + err.Error()})
		return
	}
	name, err := protocol.Nickname(q.Get("name"))
	if err != nil {
		sess.refuse(err)
		return
	}
	roomName, mode, seat := q.Get("room"), q.Get("mode"), q.Get("seat")
	if err := sess.spectate(q, roomName, mode); err != nil {
		sess.refuse(err)
		return
	}
	roomOpts, err1 := prefixed(q, roomOptionPrefix)
	joinOpts, err2 := prefixed(q, joinOptionPrefix)
	if err := cmp.Or(err1, err2); err != nil {
		sess.refuse(err)
		return
	}
	join := func(req room.JoinRequest) (*room.Room, room.Joined, error) {
		req.Addr = ip
		req.Options, req.RoomOptions = joinOpts, roomOpts
		req.Redirectable = sess.codec.redirects()
		req.Seat = seat
		req.Watch = sess.watching
		if hook := s.cfg.OnJoin; hook != nil {
			if req.Token != "" {
				req.ResumeOnly = true // see Config.OnJoin
			} else {
				// Copies: what the hook does with them is not the join's.
				info := JoinInfo{Room: roomName, Mode: mode, Name: req.Name, Account: req.Account, Options: maps.Clone(joinOpts), RoomOptions: maps.Clone(roomOpts), Addr: ip}
				if err := sess.vouch(hook, r, info, &req); err != nil {
					return nil, room.Joined{}, err
				}
			}
			r = nil // the hook has seen it: net/http's buffers may go
		}
		if roomName == "" && mode != "" && req.Token == "" {
			return s.quickJoin(sess.ctx, mode, req)
		}
		return s.rooms.Join(sess.ctx, roomName, mode, req)
	}
	token := q.Get("token")
	if token != "" {
		// Deprecated: the URL is logged by proxies and servers, so the
		// token goes in a resume message now (?resume=1). Clients written
		// against protocol v1 as first published still send it here, and
		// refusing it would turn their reconnects into new players; it
		// stays for a deprecation window, counted so operators can tell
		// when nobody uses it any more.
		s.metrics.deprecated.WithLabelValues("token_query").Inc()
		s.log.Debug("deprecated: resume token in the URL; send it in a resume message", who...)
	}
	signIn, resume := q.Has("auth"), q.Has("resume")
	switch {
	case signIn && !s.accountsOn:
		sess.refuse(errAccountsOff)
		return
	case !signIn && s.authRequired && token == "" && !resume:
		// Every mode requires accounts: no room would take this join.
		// (A resume may pass: its player signed in when it joined.)
		sess.refuse(room.ErrAuthRequired)
		return
	}
	if !s.joins.Allow(ip) {
		sess.refuse(errJoinRate)
		return
	}
	req := room.JoinRequest{Name: name, Token: token}
	switch {
	case signIn:
		// The auth message may carry a resume token, in place of a
		// separate resume message: ?resume=1 beside ?auth=1 changes
		// nothing.
		msg, ok := sess.awaitFirst(protocol.MsgAuth)
		if !ok {
			return
		}
		if msg.Token != "" {
			req.Token = msg.Token
			sess.relayToken = msg.Token // if the room is elsewhere, its node needs them
		}
		sess.relayAccess = msg.Access
		if err := s.signIn(sess, msg.Access, &req); err != nil {
			sess.refuse(err)
			return
		}
	case resume:
		msg, ok := sess.awaitFirst(protocol.MsgResume)
		if !ok {
			return
		}
		req.Token = msg.Token
		sess.relayToken = msg.Token // if the room is elsewhere, its node needs it
	}
	if r, joined, ok := sess.join(join, req); ok {
		playing = true
		go func() {
			defer done()
			sess.play(r, joined)
		}()
	}
}

// errJoinRate refuses a join from an address over JoinRate.
var errJoinRate = errors.New("joins too fast from your address; wait a moment")

// maxTrackedJoinAddrs bounds the addresses whose joins are tracked at once
// (see addrlimit): past it, new addresses share one bucket.
const maxTrackedJoinAddrs = 1 << 16

// admit counts a new connection against the limits, or says why not.
func (s *Server) admit(ip string) reasonID {
	s.mu.Lock()
	defer s.mu.Unlock()
	why := reasonNone
	switch {
	case s.draining.Load():
		why = reasonDraining
	case s.cfg.MaxConnections > 0 && s.openConnections() >= s.cfg.MaxConnections:
		why = reasonMaxConns
	case s.cfg.MaxConnectionsPerIP > 0 && s.perIP[ip] >= s.cfg.MaxConnectionsPerIP:
		why = reasonMaxConnsPerIP
	default:
		s.perIP[ip]++
		return reasonNone
	}
	s.metrics.refused.WithLabelValues(why.info().label).Inc()
	return why
}

func (s *Server) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// openConnections counts admitted connections, handshaking ones included.
// The caller holds s.mu.
func (s *Server) openConnections() int {
	n := 0
	for _, c := range s.perIP {
		n += c
	}
	return n
}

func (s *Server) connectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return false
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	if set := s.byAccount[sess.account]; set != nil {
		if delete(set, sess); len(set) == 0 {
			delete(s.byAccount, sess.account)
		}
	}
	s.mu.Unlock()
	s.wg.Done()
}

// clientIP is the address connection limits count against.
// ClientIP is the address of the client of r, as the server's limits count
// it: from Config.ClientIPHeader behind a proxy, else the peer's.
func (s *Server) ClientIP(r *http.Request) string { return s.clientIP(r) }

func (s *Server) clientIP(r *http.Request) string {
	if h := s.cfg.ClientIPHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			// X-Forwarded-For lists the client first.
			first, _, _ := strings.Cut(v, ",")
			if ip := strings.TrimSpace(first); net.ParseIP(ip) != nil {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// checkOrigin lets non-browser clients (no Origin) and pages from the
// server's own host connect, plus pages opened from disk (Origin: null) if
// allowed and any configured origin. Browsers always send Origin, so this
// stops other web sites from opening connections in their visitors' names.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	switch origin {
	case "":
		return true
	case "null":
		return s.cfg.AllowNullOrigin
	}
	for _, allowed := range s.cfg.AllowedOrigins {
		if allowed == "*" || strings.EqualFold(allowed, origin) {
			return true
		}
	}
	// A page of one node follows redirects to the others.
	if s.cluster.knownOrigin(origin) {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}
