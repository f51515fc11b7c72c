package server

import (
	"net"
	"sync"
	"time"
)

// connLimitListener counts every TCP connection, plain HTTP or WebSocket,
// against a limit per peer address, so that idle keep-alives, half-sent
// requests and header tricklers from one address cannot pile up. It counts
// the TCP peer, never ClientIPHeader: behind a reverse proxy every
// connection comes from the proxy, so the limit should then be raised or
// turned off (0) and enforced at the proxy.
type connLimitListener struct {
	net.Listener
	limit   int
	refused func() // counts a refusal

	mu    sync.Mutex
	perIP map[string]int
}

func newConnLimitListener(ln net.Listener, limit int, refused func()) net.Listener {
	if limit <= 0 {
		return ln
	}
	return &connLimitListener{Listener: ln, limit: limit, refused: refused, perIP: make(map[string]int)}
}

// tooManyConns is all a refused connection is told; it is written into a
// fresh socket's send buffer, so it never blocks the accept loop.
const tooManyConns = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 39\r\n\r\ntoo many connections from your address\n"

// Accept returns the next connection within the limit; those beyond it are
// answered 429 and closed here, so http.Server never spends a goroutine on
// them.
func (l *connLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := peerIP(c.RemoteAddr())
		if l.acquire(ip) {
			return &limitedConn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		l.refused()
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = c.Write([]byte(tooManyConns))
		_ = c.Close()
	}
}

func (l *connLimitListener) acquire(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip] >= l.limit {
		return false
	}
	l.perIP[ip]++
	return true
}

func (l *connLimitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

func peerIP(addr net.Addr) string {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// limitedConn gives its slot back when closed, however often and by
// whomever (net/http, or a hijacked WebSocket) it is closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
