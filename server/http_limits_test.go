package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// victimDialer dials from victimIP, the address of well-behaved clients;
// attackers use attackerIP.
func victimDialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(victimIP)}, Timeout: 2 * time.Second}
}

func victimClient() *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DialContext: victimDialer().DialContext, DisableKeepAlives: true},
	}
}

// victimMetric reads a sample from /metrics as the victim, since the
// attacker's address may be at its limit.
func victimMetric(t *testing.T, srv *arenatest.Server, sample string) float64 {
	t.Helper()
	resp, err := victimClient().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// waitClosed reads from conn until the server closes it, failing the test
// if that takes longer than within.
func waitClosed(t *testing.T, conn net.Conn, within time.Duration) {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was still open after %v", within)
	}
	t.Logf("closed after %v (%v)", time.Since(start).Round(time.Millisecond), err)
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// A request that announces a body and never sends it is dropped once the
// read timeout ends, instead of holding its goroutine forever.
func TestHTTPPromisedBodyIsCut(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.HTTPReadTimeout = 500 * time.Millisecond }})
	conn := dialRaw(t, srv.Addr)
	if _, err := io.WriteString(conn, "POST /api/matchmake HTTP/1.1\r\nHost: arena\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, conn, 3*time.Second)
}

// Headers sent a byte at a time are cut by the header timeout, and a
// keep-alive connection that sends no next request by the idle timeout.
func TestHTTPTricklersAndIdlersAreDropped(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.HandshakeTimeout = 500 * time.Millisecond
		c.HTTPIdleTimeout = 500 * time.Millisecond
	}})
	t.Run("trickle", func(t *testing.T) {
		conn := dialRaw(t, srv.Addr)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for _, b := range []byte("GET /healthz HTTP/1.1\r\nHost: arena\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n") {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := conn.Write([]byte{b}); err != nil {
					return
				}
			}
		}()
		waitClosed(t, conn, 3*time.Second)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn := dialRaw(t, srv.Addr)
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: arena\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("healthz: %d", resp.StatusCode)
		}
		waitClosed(t, conn, 3*time.Second) // before: two minutes
	})
}

func TestMatchmakeBodyLimit(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"mode":"tag"}`, http.StatusOK},
		{`{"mode":"tag","pad":"` + strings.Repeat("x", 5000) + `"}`, http.StatusRequestEntityTooLarge},
		{`{"mode":`, http.StatusBadRequest},
	} {
		resp, err := http.Post(srv.URL+"/api/matchmake", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("matchmake with a %d-byte body: %d; want %d", len(tc.body), resp.StatusCode, tc.want)
		}
	}
}

// Every TCP connection from one address counts: idle ones from 127.0.0.1
// fill its quota, the next is answered 429 at accept, and 127.0.0.2 is
// served as before, plain HTTP and WebSocket.
func TestHTTPConnectionsPerIP(t *testing.T) {
	t.Parallel()
	const limit = 20
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.MaxHTTPConnectionsPerIP = limit
		c.HandshakeTimeout = 30 * time.Second // the idlers must outlive the test
		c.HTTPReadTimeout = 30 * time.Second
	}})
	idlers := make([]net.Conn, limit)
	for i := range idlers {
		idlers[i] = dialRaw(t, srv.Addr)
	}
	// Connections are accepted in order, so this one is the first past the
	// limit.
	over := dialRaw(t, srv.Addr)
	_ = over.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("connection %d from one address: %v; want a 429", limit+1, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "too many connections") {
		t.Errorf("connection %d from one address: %d %q; want 429", limit+1, resp.StatusCode, body)
	}

	resp, err = victimClient().Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatalf("healthz from another address: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz from another address: %d", resp.StatusCode)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, NetDialContext: victimDialer().DialContext}
	ws, _, err := d.Dial(srv.WSURL, nil)
	if err != nil {
		t.Fatalf("WebSocket from another address: %v", err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil {
		t.Fatalf("WebSocket from another address: %v", err)
	}
	if n := victimMetric(t, srv, `arena_connections_refused_total{reason="http_connections_per_ip"}`); n < 1 {
		t.Errorf("refused{http_connections_per_ip} = %v; want at least 1", n)
	}

	// A closed connection gives its slot back.
	_ = idlers[0].Close()
	arenatest.Eventually(t, 3*time.Second, 20*time.Millisecond, func() error {
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(srv.URL + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	})
}

// The HTTP read and write timeouts put deadlines on the connection before
// it is hijacked; a WebSocket must live, read and write well past them.
func TestWebSocketOutlivesHTTPTimeouts(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.HTTPReadTimeout, c.HTTPWriteTimeout, c.HTTPIdleTimeout = timeout, timeout, timeout
	}})
	c := arenatest.Dial(t, srv.WSURL+"?room=timeouts", nil)
	id := c.Init().ID
	// Keep reading states for several timeouts.
	until := time.Now().Add(5 * timeout)
	for time.Now().Before(until) {
		position(t, c, id)
	}
	// The server still reads: a move shows in the states that follow.
	before := position(t, c, id)
	dir := "UP"
	if before.Y <= 0 {
		dir = "DOWN"
	}
	c.Move(dir)
	c.WaitFor(2*time.Second, "the move applied", func(m *arenatest.Message) bool {
		p, ok := m.Player(id)
		return m.Type == "state_update" && ok && p.Y != before.Y
	})
}

// countingHandler counts log records at warn or above whose message
// contains match.
type countingHandler struct {
	slog.Handler
	match string
	n     *atomic.Int64
}

func (h countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn && strings.Contains(r.Message, h.match) {
		h.n.Add(1)
	}
	return nil
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h countingHandler) WithGroup(string) slog.Handler { return h }

// Guessing the admin token at speed from one address meets 429s after a
// few failures, logged sparingly; the right token from another address
// still works, and the admin answers carry their security headers.
func TestAdminAuthThrottle(t *testing.T) {
	t.Parallel()
	var warnings atomic.Int64
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.AdminToken = "s3cret"
		c.Logger = slog.New(countingHandler{Handler: slog.DiscardHandler, match: "admin authentication failed", n: &warnings})
	}})
	attacker := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}} // one keep-alive connection
	get := func(c *http.Client, path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	checkHeaders := func(what string, h http.Header) {
		t.Helper()
		for name, want := range map[string]string{
			"Content-Security-Policy": "frame-ancestors 'none'",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
		} {
			if !strings.Contains(h.Get(name), want) {
				t.Errorf("%s: %s = %q; want %q in it", what, name, h.Get(name), want)
			}
		}
	}

	start := time.Now()
	statuses := map[int]int{}
	var throttled *http.Response
	for i := range 2000 {
		resp := get(attacker, "/admin/api/stats", "guess-"+strconv.Itoa(i))
		statuses[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && throttled == nil {
			throttled = resp
		}
	}
	elapsed := time.Since(start)
	t.Logf("2000 guesses in %v: %v; %d warnings logged", elapsed.Round(time.Millisecond), statuses, warnings.Load())
	// Five at once, then one a second.
	if most := 5 + int(elapsed.Seconds()) + 1; statuses[http.StatusUnauthorized] > most {
		t.Errorf("%d guesses were compared in %v; want at most %d", statuses[http.StatusUnauthorized], elapsed, most)
	}
	if statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != 2000 {
		t.Errorf("statuses %v; want only 401 and 429", statuses)
	}
	if throttled == nil {
		t.Fatal("no guess was throttled")
	}
	if ra, err := strconv.Atoi(throttled.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("429 Retry-After = %q; want a number of seconds", throttled.Header.Get("Retry-After"))
	}
	checkHeaders("429", throttled.Header)
	if n := warnings.Load(); n < 1 || n > 10 {
		t.Errorf("%d warnings logged for 2000 failures; want a few", n)
	}

	// The throttled address is not even compared, right token or not.
	if resp := get(attacker, "/admin/api/stats", "s3cret"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right token from the throttled address: %d; want 429", resp.StatusCode)
	}
	victim := victimClient()
	resp := get(victim, "/admin/api/stats", "s3cret")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("right token from another address: %d; want 200", resp.StatusCode)
	}
	checkHeaders("stats", resp.Header)
	resp = get(victim, "/admin/", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("admin page: %d", resp.StatusCode)
	}
	checkHeaders("page", resp.Header)

	if n := victimMetric(t, srv, `arena_connections_refused_total{reason="admin_auth"}`); n < 5 {
		t.Errorf("refused{admin_auth} = %v; want at least 5", n)
	}
	if n := victimMetric(t, srv, `arena_connections_refused_total{reason="admin_auth_throttled"}`); n < 1000 {
		t.Errorf("refused{admin_auth_throttled} = %v; want most of the 2000", n)
	}
}
