// Package arenatest starts real arena servers on loopback for tests and
// talks to them over real WebSockets, waiting on events with deadlines.
package arenatest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/blasters"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/games/world"
	"github.com/arena-server/arena/internal/natstest"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/web"
)

// Server is an arena server running in this process on a loopback port.
type Server struct {
	*server.Server
	Addr  string // host:port
	URL   string // http://host:port
	WSURL string // ws://host:port/ws

	cancel context.CancelFunc
	done   chan error
}

// Options adjust a test server.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0.
	Addr string
	// Config changes the defaults (server.DefaultConfig with the dots mode
	// and the embedded web client) before the server starts.
	Config func(*server.Config)
	// NATS, if set, makes the server a node called Node of a cluster on
	// that NATS server (natstest.Start), reached at its own URL.
	NATS *natsserver.Server
	Node string
	// NATSURL, if set, is where the node reaches NATS instead of the
	// server's own URL (a natstest.Proxy's, to cut it off).
	NATSURL string
	// NATSOptions are added to the node's NATS connection: credentials,
	// TLS, handlers.
	NATSOptions []nats.Option
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Modes = []game.Mode{dots.Mode, tag.Mode, blasters.Mode, world.Mode}
	cfg.Static = web.FS()
	cfg.Admin = web.AdminFS()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	// The overload guard watches the whole process, and a test process
	// runs many servers and tests at once on a shared machine: their load
	// is not one server's. The tests of the guard turn it on.
	cfg.MaxSchedLatency = 0
	// Tests seat hundreds of players from one loopback address in a burst;
	// the tests of the join rate turn it on.
	cfg.JoinRate = 0
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.Config != nil {
		opts.Config(&cfg)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	if opts.NATS != nil {
		natsURL := cmp.Or(opts.NATSURL, opts.NATS.ClientURL())
		cfg.Cluster = joinCluster(t, natsURL, opts.NATSOptions, opts.Node, "http://"+ln.Addr().String()+"/", cfg.Logger)
	}
	srv, err := server.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		Server: srv,
		Addr:   ln.Addr().String(),
		cancel: cancel,
		done:   make(chan error, 1),
	}
	s.URL = "http://" + s.Addr
	s.WSURL = "ws://" + s.Addr + "/ws"
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// joinCluster opens a node of the cluster on ns, as arena.Run does with
// -nats; the node leaves when the test ends, after its server stopped.
func joinCluster(t testing.TB, natsURL string, natsOpts []nats.Option, node, url string, log *slog.Logger) *cluster.Node {
	t.Helper()
	nc := natstest.ConnectURL(t, natsURL, natsOpts...)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir, err := cluster.Open(ctx, js, cluster.Config{Node: node, URL: url, TTL: 2 * time.Second, Logger: log})
	if err != nil {
		t.Fatalf("cluster.Open %s: %v", node, err)
	}
	// Cleanups run last first: this one after the server's Stop.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = dir.Leave(ctx)
	})
	return cluster.NewNode(dir, log)
}

// Stop shuts the server down gracefully and waits for it; a node of a
// cluster then leaves it, as arena.Run's does. It is safe to call more
// than once.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.cancel()
	select {
	case err, ok := <-s.done:
		if ok && err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
		if ok {
			close(s.done)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("server did not stop within 10s")
	}
	if c := s.Cluster(); c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Directory().Leave(ctx)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Client is a WebSocket client of a test server.
type Client struct {
	t    testing.TB
	Conn *websocket.Conn
	Resp *http.Response
}

// Dial connects to url (ws://...). It fails the test if the handshake fails.
func Dial(t testing.TB, url string, header http.Header) *Client {
	t.Helper()
	c, err := TryDial(t, url, header)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return c
}

// TryDial connects to url and returns the handshake's error, if any.
func TryDial(t testing.TB, url string, header http.Header) (*Client, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(url, header)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(resp.Body)
			return &Client{t: t, Resp: resp}, fmt.Errorf("%w (HTTP %d: %s)", err, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return nil, err
	}
	c := &Client{t: t, Conn: conn, Resp: resp}
	t.Cleanup(func() { _ = conn.Close() })
	return c, nil
}

// Message is a decoded JSON message of the seed protocol.
type Message struct {
	Type    string         `json:"type"`
	ID      string         `json:"id"`
	Token   string         `json:"token"`
	Room    string         `json:"room"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Players []SeedPlayer   `json:"players"`
	Raw     map[string]any `json:"-"`
}

// SeedPlayer is one entry of a state_update.
type SeedPlayer struct {
	ID    string `json:"id"`
	X     int    `json:"x"`
	Y     int    `json:"y"`
	Color string `json:"color"`
}

// Player returns the entry for id, if present.
func (m *Message) Player(id string) (SeedPlayer, bool) {
	for _, p := range m.Players {
		if p.ID == id {
			return p, true
		}
	}
	return SeedPlayer{}, false
}

// Send writes a text message.
func (c *Client) Send(text string) {
	c.t.Helper()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.Conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		c.t.Fatalf("send %q: %v", text, err)
	}
}

// Move sends a seed move.
func (c *Client) Move(direction string) {
	c.t.Helper()
	c.Send(`{"type":"move","direction":"` + direction + `"}`)
}

// Read returns the next message, or an error (a *websocket.CloseError when
// the server closed the connection) if none arrives by the deadline.
func (c *Client) Read(timeout time.Duration) (*Message, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(timeout))
	typ, data, err := c.Conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ != websocket.TextMessage {
		return nil, fmt.Errorf("got a binary message of %d bytes", len(data))
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode %q: %w", data, err)
	}
	if err := json.Unmarshal(data, &m.Raw); err != nil {
		return nil, err
	}
	return &m, nil
}

// WaitFor reads messages until one satisfies ok, failing the test if none
// does within timeout.
func (c *Client) WaitFor(timeout time.Duration, what string, ok func(*Message) bool) *Message {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			c.t.Fatalf("no %s within %v", what, timeout)
		}
		m, err := c.Read(left)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok(m) {
			return m
		}
	}
}

// Init waits for the init message and returns the player's id.
func (c *Client) Init() *Message {
	c.t.Helper()
	return c.WaitFor(5*time.Second, "init", func(m *Message) bool { return m.Type == "init" })
}

// WaitClose reads until the server closes the connection and returns its
// close frame.
func (c *Client) WaitClose(timeout time.Duration) *websocket.CloseError {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_ = c.Conn.SetReadDeadline(deadline)
		_, _, err := c.Conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce
		}
		c.t.Fatalf("waiting for a close frame: %v", err)
		return nil
	}
}

// Eventually polls cond every step until it holds or total elapses, like
// NATS's checkFor: it is for state that has no event to wait on.
func Eventually(t testing.TB, total, step time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", total, err)
		}
		time.Sleep(step)
	}
}

// StartCluster runs n nodes, a, b, c…, of a cluster on the NATS server ns,
// each with config (nil: the defaults) on its own loopback port, and
// returns once every node sees all n: a node's URL, in the others'
// directories, is what a redirect to it needs.
func StartCluster(t testing.TB, ns *natsserver.Server, n int, config func(*server.Config)) []*Server {
	t.Helper()
	nodes := make([]*Server, n)
	for i := range nodes {
		nodes[i] = Start(t, Options{NATS: ns, Node: string(rune('a' + i)), Config: config})
	}
	WaitForNodes(t, nodes...)
	return nodes
}

// WaitForNodes waits until each of nodes sees all of them in its
// directory.
func WaitForNodes(t testing.TB, nodes ...*Server) {
	t.Helper()
	for _, nd := range nodes {
		Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
			if got := len(nd.Cluster().Directory().Nodes()); got != len(nodes) {
				return fmt.Errorf("%s sees %d nodes of %d", nd.URL, got, len(nodes))
			}
			return nil
		})
	}
}
