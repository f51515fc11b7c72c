package server_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/server"
)

// TestMain fails the package if any test leaves a goroutine behind: every
// server stops, every session ends, every room's goroutine returns.
func TestMain(m *testing.M) {
	code := pgtest.Main(m) // and stops the PostgreSQL server the tests started, if any
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// metric returns the value of a sample in Prometheus text format, or -1.
func metric(t *testing.T, srv *arenatest.Server, sample string) float64 {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	c := arenatest.Dial(t, srv.WSURL+"?room=m1", nil)
	id := c.Init().ID
	c.Send("nonsense")
	c.Move("UP")
	position(t, c, id)
	flood := arenatest.Dial(t, srv.WSURL+"?room=m1", nil)
	flood.Init()
	for range 400 {
		if flood.Conn.WriteMessage(websocket.TextMessage, []byte("{}")) != nil {
			break
		}
	}
	flood.WaitClose(3 * time.Second)
	arenatest.Eventually(t, 3*time.Second, 20*time.Millisecond, func() error {
		if metric(t, srv, `arena_disconnects_total{reason="flood"}`) != 1 {
			return errString("flood disconnect not counted")
		}
		return nil
	})
	for sample, atLeast := range map[string]float64{
		"arena_connections":                                 1,
		"arena_connections_total":                           2,
		"arena_rooms":                                       1,
		"arena_players":                                     1,
		"arena_tick_seconds_count":                          1,
		"arena_tick_overruns_total":                         0,
		"arena_messages_received_total":                     3,
		"arena_messages_sent_total":                         3,
		"arena_received_bytes_total":                        10,
		"arena_sent_bytes_total":                            100,
		`arena_bad_messages_total{code="invalid_json"}`:     1,
		`arena_bad_messages_total{code="missing_type"}`:     1,
		"arena_states_coalesced_total":                      0,
		`arena_inputs_dropped_total{reason="superseded"}`:   0,
		`arena_inputs_dropped_total{reason="inbox_full"}`:   0,
		"arena_error_answers_dropped_total":                 0,
		"go_goroutines":                                     1,
		"process_resident_memory_bytes":                     1,
		`arena_tick_seconds_bucket{le="+Inf"}`:              1,
		`arena_disconnects_total{reason="flood"}`:           1,
		`arena_inputs_dropped_total{reason="superseded"} `:  -1, // sanity: an exact sample never has a trailing space
		`arena_connections_refused_total{reason="origin"}`:  -1,
		`arena_connections_refused_total{reason="unknown"}`: -1,
	} {
		got := metric(t, srv, sample)
		if (atLeast < 0 && got != -1) || (atLeast >= 0 && got < atLeast) {
			t.Errorf("%s = %v; want at least %v", sample, got, atLeast)
		}
	}
}

func TestReadyzFailsWhileDraining(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("readyz before draining: %d", rec.Code)
	}
	srv.Server.Shutdown(context.Background())
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "draining") {
		t.Errorf("readyz while draining: %d %s; want 503 draining", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("healthz while draining: %d; want 200 (alive, just not ready)", rec.Code)
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.MaxConnectionsPerIP = 2
		c.MaxConnections = 4
		c.ClientIPHeader = "X-Forwarded-For"
	}})
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip + ", 10.0.0.1"}} }
	arenatest.Dial(t, srv.WSURL, from("192.0.2.1")).Init()
	arenatest.Dial(t, srv.WSURL, from("192.0.2.1")).Init()
	c, err := arenatest.TryDial(t, srv.WSURL, from("192.0.2.1"))
	if err == nil || c.Resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(err.Error(), "too many connections") {
		t.Errorf("third connection from one address: %v; want 429 with a reason", err)
	}
	arenatest.Dial(t, srv.WSURL, from("192.0.2.2")).Init()
	last := arenatest.Dial(t, srv.WSURL, from("192.0.2.3"))
	last.Init()
	c, err = arenatest.TryDial(t, srv.WSURL, from("192.0.2.4"))
	if err == nil || c.Resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "connection limit") {
		t.Errorf("fifth connection: %v; want 503 with a reason", err)
	}
	// A slot frees when a connection ends.
	last.Conn.Close()
	arenatest.Eventually(t, 3*time.Second, 20*time.Millisecond, func() error {
		c, err := arenatest.TryDial(t, srv.WSURL, from("192.0.2.4"))
		if err != nil {
			return err
		}
		c.Conn.Close()
		return nil
	})
	if metric(t, srv, `arena_connections_refused_total{reason="max_connections_per_ip"}`) < 1 ||
		metric(t, srv, `arena_connections_refused_total{reason="max_connections"}`) < 1 {
		t.Error("refusals not counted by reason")
	}
}

func TestSlowHandshakesAreDropped(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.HandshakeTimeout = 300 * time.Millisecond }})
	player := arenatest.Dial(t, srv.WSURL, nil)
	id := player.Init().ID
	// Slowloris: start requests and trickle their headers forever.
	var wg sync.WaitGroup
	dropped := make(chan time.Duration, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			start := time.Now()
			fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n", srv.Addr)
			for i := 0; i < 100; i++ {
				conn.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := fmt.Fprintf(conn, "X-Slow-%d: y\r\n", i); err != nil {
					break
				}
				conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := conn.Read(make([]byte, 1)); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue
					}
					break // the server hung up
				}
			}
			dropped <- time.Since(start)
		}()
	}
	// The real player is not slowed down meanwhile.
	n := 0
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if m, err := player.Read(time.Second); err == nil && m.Type == "state_update" {
			n++
		}
	}
	if n < 18 {
		t.Errorf("player got %d states in a second during the attack", n)
	}
	wg.Wait()
	close(dropped)
	for d := range dropped {
		if d > 3*time.Second {
			t.Errorf("a slow handshake lasted %v; want it dropped after about 300ms", d)
		}
	}
	position(t, player, id)
}

// fragileMode is dots that panics when a player moves up.
var fragileMode = game.Mode{Name: "fragile", New: func(cfg game.Config) game.Game { return fragile{dots.New(cfg)} }}

type fragile struct{ *dots.Dots }

func (f fragile) Step(in []game.Input) {
	for _, i := range in {
		if i.Buttons&game.Up != 0 {
			panic("fragile game broke")
		}
	}
	f.Dots.Step(in)
}

func TestPanickingGameClosesOnlyItsRoom(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Modes = append(c.Modes, fragileMode) }})
	good := arenatest.Dial(t, srv.WSURL+"?room=good", nil)
	goodID := good.Init().ID
	bad := arenatest.Dial(t, srv.WSURL+"?room=bad&mode=fragile", nil)
	bad.Init() // the room exists, running fragile, before the watcher joins it
	badWatcher := arenatest.Dial(t, srv.WSURL+"?room=bad", nil)
	badWatcher.Init()
	bad.Move("UP")
	for _, c := range []*arenatest.Client{bad, badWatcher} {
		ce := c.WaitClose(3 * time.Second)
		if ce.Code != websocket.CloseInternalServerErr || !strings.Contains(ce.Text, "internal error") {
			t.Errorf("player of the crashed room closed with %d %q; want 1011 and a reason", ce.Code, ce.Text)
		}
	}
	// The other room never stopped ticking.
	for range 20 {
		position(t, good, goodID)
	}
	if _, ok := roomByName(t, srv, "bad"); ok {
		t.Error("crashed room still listed")
	}
	arenatest.Dial(t, srv.WSURL+"?room=bad&mode=fragile", nil).Init() // a fresh room
}

func TestChurnLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 connections")
	}
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Room.ResumeGrace = 100 * time.Millisecond
		c.MaxConnectionsPerIP = 0
	}})
	warm := arenatest.Dial(t, srv.WSURL+"?room=churn", nil)
	warm.Init()
	warm.Conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	warm.Conn.Close()
	settle := func() (goroutines int, heap uint64) {
		// Keep-alive connections of the test's own HTTP client are not
		// the server's goroutines.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapInuse
	}
	baseG, baseHeap := settle()

	const total, workers = 5000, 16
	var wg sync.WaitGroup
	jobs := make(chan int)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				conn, _, err := d.Dial(srv.WSURL+"?room=churn", nil)
				if err != nil {
					t.Errorf("connection %d: %v", i, err)
					continue
				}
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, _, err := conn.ReadMessage(); err != nil {
					t.Errorf("connection %d: no init: %v", i, err)
				}
				if i%2 == 0 {
					conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				}
				conn.Close()
			}
		}()
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	arenatest.Eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		if info, ok := roomByName(t, srv, "churn"); ok && info.Players != 0 {
			return fmt.Errorf("%d players still in the room", info.Players)
		}
		if g, _ := settle(); g > baseG+2 {
			return fmt.Errorf("%d goroutines; baseline %d", g, baseG)
		}
		return nil
	})
	_, heap := settle()
	if heap > baseHeap+16<<20 {
		t.Errorf("heap in use %d MiB after churn; baseline %d MiB", heap>>20, baseHeap>>20)
	}
	disconnects := 0.0
	for _, reason := range []string{"left", "client_closed", "network"} {
		disconnects += max(0, metric(t, srv, `arena_disconnects_total{reason="`+reason+`"}`))
	}
	if disconnects < total {
		t.Errorf("%v disconnects counted; want %d", disconnects, total)
	}
}

func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "arena test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSignedCert(t)
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
	}})
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("wss://"+srv.Addr+"/ws", nil)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer conn.Close()
	var init struct{ Type, ID string }
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.ReadJSON(&init); err != nil || init.Type != "init" {
		t.Fatalf("over TLS got %+v, %v", init, err)
	}
	if _, err := server.New(func() server.Config {
		c := server.DefaultConfig()
		c.Modes = []game.Mode{dots.Mode}
		c.TLSCertFile = certFile
		return c
	}()); err == nil {
		t.Error("a certificate without a key was accepted")
	}
}

func TestPprofOnlyOnItsOwnListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr := ln.Addr().String()
	ln.Close()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.PprofAddr = pprofAddr }})
	resp, err := http.Get(srv.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("pprof on the public port: %d; want 404", resp.StatusCode)
	}
	arenatest.Eventually(t, 3*time.Second, 20*time.Millisecond, func() error {
		resp, err := http.Get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(bufio.NewReader(resp.Body))
		if resp.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
			return fmt.Errorf("pprof: %d", resp.StatusCode)
		}
		return nil
	})
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	off := arenatest.Start(t, arenatest.Options{})
	for _, path := range []string{"/admin/", "/admin/api/stats"} {
		resp, err := http.Get(off.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s without an admin token configured: %d; want 404", path, resp.StatusCode)
		}
	}

	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.AdminToken = "s3cret" }})
	watcher := arenatest.Dial(t, srv.WSURL+"?room=watched", nil)
	watcher.Init()
	// The writer counts a batch's bytes after writing it: once a state has
	// followed, the init's bytes are counted.
	watcher.WaitFor(2*time.Second, "a state", func(m *arenatest.Message) bool { return m.Type == "state_update" })
	resp, err := http.Get(srv.URL + "/admin/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<canvas") || strings.Contains(string(page), "s3cret") {
		t.Errorf("admin page: %d; want the dashboard, without the token in it", resp.StatusCode)
	}
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Bearer s3cre"} {
		req, _ := http.NewRequest("GET", srv.URL+"/admin/api/stats", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("stats with %q: %d; want 401", auth, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/admin/api/stats", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var st server.AdminStats
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Connections != 1 || st.Players != 1 || len(st.Rooms) != 1 || st.Rooms[0].Name != "watched" || st.BytesOut == 0 {
		t.Errorf("stats = %+v", st)
	}
}
