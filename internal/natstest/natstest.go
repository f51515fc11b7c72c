// Package natstest runs a real nats-server with JetStream inside the test
// process, so packages that talk to NATS are tested against the real thing.
package natstest

import (
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Start runs a JetStream server on a free loopback port, storing in a
// temporary directory. When the test ends, it is shut down, or the server
// Restart put in its place: after the cleanups registered later, such as
// those of nodes that must leave the cluster through it.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith is Start with options changed by configure before the server
// starts (users, permissions, TLS: see auth.go). Restart applies them
// again to the server that takes its place.
func StartWith(t testing.TB, configure func(*server.Options)) *server.Server {
	t.Helper()
	s := start(t, -1, t.TempDir(), configure)
	t.Cleanup(func() {
		s := latest(s)
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Restart shuts s down and starts a new server on the same port and store
// directory, as a NATS box coming back after a crash or an upgrade would.
func Restart(t testing.TB, s *server.Server) *server.Server {
	t.Helper()
	return RestartAfter(t, s, 0)
}

// RestartAfter is Restart with an outage: NATS stays down for down (the
// outage is the scenario, not a wait for something to happen).
func RestartAfter(t testing.TB, s *server.Server, down time.Duration) *server.Server {
	t.Helper()
	port := s.Addr().(*net.TCPAddr).Port
	// The server keeps its files in a "jetstream" folder of the directory
	// it was given.
	dir := filepath.Dir(s.JetStreamConfig().StoreDir)
	restartsMu.Lock()
	configure := configures[s]
	restartsMu.Unlock()
	s.Shutdown()
	s.WaitForShutdown()
	time.Sleep(down)
	next := start(t, port, dir, configure)
	restartsMu.Lock()
	restarted[s] = next
	restartsMu.Unlock()
	return next
}

var (
	restartsMu sync.Mutex
	restarted  = map[*server.Server]*server.Server{} // a server → the one that took its place
	configures = map[*server.Server]func(*server.Options){}
)

// latest is the server that runs in s's place now.
func latest(s *server.Server) *server.Server {
	restartsMu.Lock()
	defer restartsMu.Unlock()
	for next, ok := restarted[s]; ok; next, ok = restarted[s] {
		delete(restarted, s)
		s = next
	}
	return s
}

func start(t testing.TB, port int, dir string, configure func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	}
	if configure != nil {
		configure(opts)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		s.Shutdown()
		t.Fatalf("nats server on port %d not ready", port)
	}
	restartsMu.Lock()
	configures[s] = configure
	restartsMu.Unlock()
	return s
}

// Connect returns a client of s that keeps reconnecting quickly, so a test
// that restarts the server does not wait out the default back-off; it is
// closed when the test ends.
func Connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	return ConnectURL(t, s.ClientURL())
}

// Proxy is a TCP proxy in front of a NATS server, which a test cuts to
// play a network partition between one node and NATS, while others keep
// their own connections.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

// NewProxy listens on a loopback port and forwards to s until the test
// ends.
func NewProxy(t testing.TB, s *server.Server) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: s.Addr().String()}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go p.serve()
	return p
}

// URL is where clients connect to reach NATS through the proxy.
func (p *Proxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// Cut drops every connection through the proxy and refuses new ones.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Mend lets connections through again.
func (p *Proxy) Mend() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// ConnectURL is Connect to a NATS server at url (a Proxy's, say), with
// more options if given (credentials, TLS).
func ConnectURL(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.ReconnectBufSize(-1), // as cluster.Open requires
	}, opts...)...)
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
