// Package server is arena's network face: the HTTP mux that serves the
// browser client, health checks and the lobby API, and the WebSocket sessions
// that connect players to rooms.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// Config is everything a Server needs. Zero values take the defaults of
// DefaultConfig.
type Config struct {
	// Modes the server offers; the first is the default.
	Modes []game.Mode
	// DefaultRoom is where clients that name no room go.
	DefaultRoom string
	TickRate    int
	// RoomCapacity is the most players in one room; 0 means no limit.
	RoomCapacity int
	// ResumeGrace is how long a dropped player may resume.
	ResumeGrace time.Duration
	// RoomIdleTimeout is how long an empty room lives.
	RoomIdleTimeout time.Duration

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
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration

	// Static is the browser client, served at /. Nil serves nothing.
	Static fs.FS
	Logger *slog.Logger
}

// DefaultConfig returns the configuration arena runs with out of the box.
func DefaultConfig() Config {
	return Config{
		DefaultRoom:     "default",
		TickRate:        20,
		ResumeGrace:     20 * time.Second,
		RoomIdleTimeout: 30 * time.Second,
		MaxMessageBytes: 4096,
		MessageRate:     100,
		MessageBurst:    200,
		ErrorRate:       5,
		ErrorBurst:      10,
		MaxQueuedEvents: 256,
		WriteTimeout:    5 * time.Second,
		PingInterval:    2 * time.Second,
		PongTimeout:     6 * time.Second,
		AllowNullOrigin: true,
		ShutdownTimeout: 4 * time.Second,
	}
}

// Server serves arena over HTTP and WebSocket.
type Server struct {
	cfg      Config
	log      *slog.Logger
	rooms    *room.Manager
	upgrader websocket.Upgrader
	mux      *http.ServeMux

	draining atomic.Bool
	nextConn atomic.Uint64
	mu       sync.Mutex
	sessions map[*session]struct{}
	wg       sync.WaitGroup
}

// New validates cfg and returns a server. Its rooms run until Serve returns.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMessageBytes <= 0 || cfg.MessageRate <= 0 || cfg.MessageBurst <= 0 ||
		cfg.WriteTimeout <= 0 || cfg.PingInterval <= 0 || cfg.PongTimeout <= cfg.PingInterval {
		return nil, errors.New("server: limits must be positive and the pong timeout longer than the ping interval")
	}
	rooms, err := room.NewManager(room.ManagerConfig{
		Modes:       cfg.Modes,
		DefaultRoom: cfg.DefaultRoom,
		TickRate:    cfg.TickRate,
		Capacity:    cfg.RoomCapacity,
		ResumeGrace: cfg.ResumeGrace,
		IdleTimeout: cfg.RoomIdleTimeout,
		Logger:      cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		rooms:    rooms,
		sessions: make(map[*session]struct{}),
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		CheckOrigin:      s.checkOrigin,
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /ws", s.serveWS)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	if cfg.Static != nil {
		static := http.FileServerFS(cfg.Static)
		s.mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
			if websocket.IsWebSocketUpgrade(r) && r.URL.Path == "/" {
				s.serveWS(w, r) // the seed's client connects to ws://host:8765/
				return
			}
			static.ServeHTTP(w, r)
		})
	} else {
		s.mux.HandleFunc("GET /{$}", s.serveWS)
	}
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Rooms returns the server's room manager.
func (s *Server) Rooms() *room.Manager { return s.rooms }

// Serve accepts connections on ln until ctx is done, then shuts down
// gracefully: it stops accepting, closes every WebSocket with 1001 and a
// reason, stops the rooms, and returns nil within ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.rooms.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 4 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.Shutdown(sctx)
	// WebSockets are hijacked, so http.Server.Shutdown does not wait for
	// them; by now they are closed and only plain requests remain.
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	return nil
}

// Shutdown stops accepting WebSockets, closes every session with 1001 and a
// reason, waits for them until ctx is done (then drops the rest), and stops
// the rooms.
func (s *Server) Shutdown(ctx context.Context) {
	s.draining.Store(true)
	s.mu.Lock()
	open := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()
	s.log.Info("shutting down", "connections", len(open))
	for _, sess := range open {
		sess.close(reasonShutdown)
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
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) serveReady(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveWS upgrades a request to a WebSocket session.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "this endpoint speaks WebSocket", http.StatusUpgradeRequired)
		return
	}
	if s.draining.Load() {
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	id := s.nextConn.Add(1)
	log := s.log.With("conn", id, "remote", r.RemoteAddr)
	sess := newSession(s, ws, &seedCodec{}, log)
	if !s.track(sess) {
		sess.close(reasonShutdown)
		_ = ws.Close()
		return
	}
	defer s.untrack(sess)

	q := r.URL.Query()
	name, err := nickname(q.Get("name"))
	if err != nil {
		sess.refuse(err)
		return
	}
	sess.serve(q.Get("room"), q.Get("mode"), name, q.Get("token"))
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
	s.mu.Unlock()
	s.wg.Done()
}

// checkOrigin lets non-browser clients (no Origin) and pages from the
// server's own host connect, plus pages opened from disk (Origin: null) if
// allowed and any configured origin.
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
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// MaxNameLength is the longest nickname, in characters.
const MaxNameLength = 16

// nickname validates a player's chosen name. Names are shown to others, so
// they are short and printable; rendering them safely is the client's job.
func nickname(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength {
		return "", &protocol.Error{Code: protocol.CodeBadRequest, Message: fmt.Sprintf("names are at most %d characters", MaxNameLength)}
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", &protocol.Error{Code: protocol.CodeBadRequest, Message: "names may only hold printable characters"}
		}
	}
	return name, nil
}
