// Package natstest runs a real nats-server with JetStream inside the test
// process, so packages that talk to NATS are tested against the real thing.
package natstest

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Start runs a JetStream server on a free loopback port, storing in a
// temporary directory; it is shut down when the test ends.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return start(t, -1, t.TempDir())
}

// Restart shuts s down and starts a new server on the same port and store
// directory, as a NATS box coming back after a crash or an upgrade would.
func Restart(t testing.TB, s *server.Server) *server.Server {
	t.Helper()
	port := s.Addr().(*net.TCPAddr).Port
	// The server keeps its files in a "jetstream" folder of the directory
	// it was given.
	dir := filepath.Dir(s.JetStreamConfig().StoreDir)
	s.Shutdown()
	s.WaitForShutdown()
	return start(t, port, dir)
}

func start(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		s.Shutdown()
		t.Fatalf("nats server on port %d not ready", port)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// Connect returns a client of s that keeps reconnecting quickly, so a test
// that restarts the server does not wait out the default back-off; it is
// closed when the test ends.
func Connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond),
		nats.ReconnectJitter(0, 0),
	)
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
