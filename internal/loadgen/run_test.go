package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeSeed is a seed-protocol server in the test process: it welcomes each
// player with its id, applies moves at once as the seed does, and
// broadcasts the whole state every 50 ms, formatted as Python's json.dumps
// formats it (a space after ':' and ',') unless compact.
type fakeSeed struct {
	t       testing.TB
	compact bool
	// kickAfter, if set, closes the connection of player kickID with
	// kickCode (1008 if not set) and kickText once it has received this
	// many states; or, if kickRaw, drops its TCP connection without a
	// close frame.
	kickID    int
	kickAfter int
	kickCode  int
	kickText  string
	kickRaw   bool

	srv  *httptest.Server
	stop chan struct{}
	done sync.WaitGroup

	compress bool // accept permessage-deflate

	mu      sync.Mutex
	offers  int            // handshakes that offered permessage-deflate
	from    map[string]int // handshakes by the client's IP
	closes  map[string]int // close frames received, "code text"
	nextID  int
	players map[int]*fakePlayer // connected
	all     map[int]*fakePlayer // ever
	rooms   map[string]int
}

type fakePlayer struct {
	id     int
	conn   *websocket.Conn
	wmu    sync.Mutex
	x, y   int
	sent   int
	moves  map[string]int
	kicked bool
}

func startFakeSeed(t testing.TB, compact bool, configure func(*fakeSeed)) *fakeSeed {
	f := &fakeSeed{t: t, compact: compact, stop: make(chan struct{}), players: map[int]*fakePlayer{}, all: map[int]*fakePlayer{}, rooms: map[string]int{},
		from: map[string]int{}, closes: map[string]int{}}
	if configure != nil {
		configure(f)
	}
	up := websocket.Upgrader{EnableCompression: f.compress}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if strings.Contains(r.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
			f.offers++
		}
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			f.from[host]++
		}
		f.mu.Unlock()
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.serve(conn, r.URL.Query().Get("room"))
	}))
	f.done.Add(1)
	go f.tickLoop()
	t.Cleanup(func() {
		close(f.stop)
		f.done.Wait()
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeSeed) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/" }

func (f *fakeSeed) serve(conn *websocket.Conn, room string) {
	defer conn.Close()
	f.mu.Lock()
	f.nextID++
	p := &fakePlayer{id: f.nextID, conn: conn, x: 50 + f.nextID*37%400, y: 50 + f.nextID*91%400, moves: map[string]int{}}
	f.rooms[room]++
	p.wmu.Lock() // the init goes out before any state
	f.players[p.id] = p
	f.all[p.id] = p
	f.mu.Unlock()
	err := conn.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type": "init", "id": "%d"}`, p.id))
	p.wmu.Unlock()
	if err != nil {
		return
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			f.mu.Lock()
			delete(f.players, p.id)
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				f.closes[fmt.Sprintf("%d %s", ce.Code, ce.Text)]++
			}
			f.mu.Unlock()
			return
		}
		var m struct{ Type, Direction string }
		if json.Unmarshal(data, &m) != nil || m.Type != "move" {
			f.t.Errorf("player %d sent %q", p.id, data)
			continue
		}
		f.mu.Lock()
		p.moves[m.Direction]++
		switch m.Direction {
		case "UP":
			p.y = max(10, p.y-10)
		case "DOWN":
			p.y = min(490, p.y+10)
		case "LEFT":
			p.x = max(10, p.x-10)
		case "RIGHT":
			p.x = min(490, p.x+10)
		}
		f.mu.Unlock()
	}
}

func (f *fakeSeed) tickLoop() {
	defer f.done.Done()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		var b bytes.Buffer
		sep, colon := ",", ":"
		if !f.compact {
			sep, colon = ", ", ": "
		}
		fmt.Fprintf(&b, `{"type"%s"state_update"%s"players"%s[`, colon, sep, colon)
		var to []*fakePlayer
		first := true
		for id := 1; id <= f.nextID; id++ {
			p, ok := f.players[id]
			if !ok {
				continue
			}
			if !first {
				b.WriteString(sep)
			}
			first = false
			fmt.Fprintf(&b, `{"id"%s"%d"%s"x"%s%d%s"y"%s%d%s"color"%s"#a1b2c3"}`, colon, p.id, sep, colon, p.x, sep, colon, p.y, sep, colon)
			if !p.kicked {
				to = append(to, p)
			}
		}
		b.WriteString("]}")
		f.mu.Unlock()
		for _, p := range to {
			p.wmu.Lock()
			_ = p.conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = p.conn.WriteMessage(websocket.TextMessage, b.Bytes())
			p.sent++
			if p.id == f.kickID && p.sent == f.kickAfter {
				f.mu.Lock()
				p.kicked = true
				f.mu.Unlock()
				code, text := f.kickCode, f.kickText
				if code == 0 {
					code, text = websocket.ClosePolicyViolation, "kicked"
				}
				if f.kickRaw {
					_ = p.conn.NetConn().Close()
				} else {
					_ = p.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
				}
			}
			p.wmu.Unlock()
		}
	}
}

// moves returns every player's moves by direction, by id.
func (f *fakeSeed) moves() map[int]map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int]map[string]int{}
	for id, p := range f.all {
		m := map[string]int{}
		for k, v := range p.moves {
			m[k] = v
		}
		out[id] = m
	}
	return out
}

func quickConfig(url string, players, probes int) Config {
	return Config{
		URL:      url,
		Protocol: Seed,
		Players:  players,
		Rooms:    1,
		Probes:   probes,
		Ramp:     200 * time.Millisecond,
		Warmup:   300 * time.Millisecond,
		Duration: 1500 * time.Millisecond,
		Seed:     7,
	}
}

func TestRunMeasuresUpdatesLatencyAndBandwidth(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) {
			f := startFakeSeed(t, compact, nil)
			cfg := quickConfig(f.url(), 30, 5)
			cfg.ServerPID = os.Getpid()
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Connected != 30 || res.ConnErrors != 0 || res.ClosedEarly != 0 || res.Measured != 30 {
				t.Errorf("connected %d, errors %d, closes %d, measured %d; want 30, 0, 0, 30", res.Connected, res.ConnErrors, res.ClosedEarly, res.Measured)
			}
			// The fake server ticks at 20 Hz; a loaded test machine may
			// lose a few ticks but not most.
			if res.UpdatesPerClient < 12 || res.UpdatesPerClient > 22 {
				t.Errorf("updates/s per player = %.2f; want about 20", res.UpdatesPerClient)
			}
			if res.UpdatesMinPerClient > res.UpdatesPerClient || res.UpdatesMinPerClient < 8 {
				t.Errorf("slowest player's updates/s = %.2f, mean %.2f", res.UpdatesMinPerClient, res.UpdatesPerClient)
			}
			// A state of 30 players is about 2 KB: 20 a second is ~40 KiB/s.
			if res.KiBPerClient < 15 || res.KiBPerClient > 80 {
				t.Errorf("KiB/s per player = %.1f; want about 40", res.KiBPerClient)
			}
			// 5 probes, a move every ~0.5 s, for 1.5 s.
			if res.LatSamples < 5 {
				t.Errorf("%d latency samples; want at least 5", res.LatSamples)
			}
			// The server applies moves at once and sends a state every
			// 50 ms, so a move shows within about a tick.
			if res.LatSamples > 0 && (res.LatP50 <= 0 || res.LatP50 > 200 || res.LatMax < res.LatP99 || res.LatP99 < res.LatP50) {
				t.Errorf("latency p50 %.1f p99 %.1f max %.1f ms", res.LatP50, res.LatP99, res.LatMax)
			}
			if res.OtherCPU == nil || res.StealCPU == nil {
				t.Errorf("no figure for other load")
			}
			if res.ServerCPU == nil || res.ServerRSS == nil || *res.ServerRSS <= 0 {
				t.Errorf("no server CPU or RSS for our own pid: %v %v", res.ServerCPU, res.ServerRSS)
			}
			var table strings.Builder
			if err := res.WriteTable(&table); err != nil || !strings.Contains(table.String(), "updates/s per player") {
				t.Errorf("table: %v\n%s", err, table.String())
			}
		})
	}
}

func TestCompressOffersDeflate(t *testing.T) {
	for _, compress := range []bool{false, true} {
		f := startFakeSeed(t, false, func(f *fakeSeed) { f.compress = true })
		cfg := quickConfig(f.url(), 5, 2)
		cfg.Compress = compress
		cfg.Duration = 500 * time.Millisecond
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		offers := f.offers
		f.mu.Unlock()
		if want := map[bool]int{false: 0, true: 5}[compress]; offers != want {
			t.Errorf("compress=%v: %d of 5 handshakes offered permessage-deflate, want %d", compress, offers, want)
		}
		// Compressed or not, players see and count states. (How many is
		// the machine's load's to say, not this test's: a rate here
		// failed on a loaded box.)
		if res.Compress != compress || res.Measured != 5 || res.UpdatesPerClient <= 0 || res.LatSamples == 0 || res.ClosedEarly != 0 {
			t.Errorf("compress=%v: %+v", compress, res)
		}
	}
}

func TestHoldSendsOneDirectionEveryInterval(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 20, 0)
	cfg.Duration = time.Second
	start := time.Now()
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	moves := f.moves()
	if len(moves) != 20 {
		t.Fatalf("%d players still known to the server; want 20", len(moves))
	}
	for id, m := range moves {
		if len(m) != 1 {
			t.Errorf("player %d moved %v; a held key is one direction", id, m)
		}
		n := 0
		for _, c := range m {
			n += c
		}
		// One move per 50 ms while connected: at most elapsed/50ms.
		most := int(elapsed/(50*time.Millisecond)) + 1
		if n < most/3 || n > most {
			t.Errorf("player %d sent %d moves in %v; want about one per 50 ms (at most %d)", id, n, elapsed, most)
		}
	}
}

func TestIdleSendsNothingButProbesMove(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 10, 2)
	cfg.Behaviour = Idle
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for id, m := range f.moves() {
		probe := id <= 2 // probes connect first
		if !probe && len(m) > 0 {
			t.Errorf("idle player %d moved %v", id, m)
		}
	}
	if res.LatSamples == 0 {
		t.Errorf("probes of an idle run took no samples")
	}
}

func TestWalkTurns(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 10, 0)
	cfg.Behaviour = Walk
	cfg.Duration = 2 * time.Second
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	turned := 0
	for _, m := range f.moves() {
		if len(m) > 1 {
			turned++
		}
	}
	// Each of ~50 moves turns with probability 1/20 (to one of 4
	// directions): nearly every walker turns at least once.
	if turned < 5 {
		t.Errorf("%d of 10 walkers ever changed direction", turned)
	}
}

func TestRoomsAreRoundRobin(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 12, 0)
	cfg.Rooms = 3
	cfg.Behaviour = Idle
	cfg.Duration = 200 * time.Millisecond
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := map[string]int{"bench-0": 4, "bench-1": 4, "bench-2": 4}
	if fmt.Sprint(f.rooms) != fmt.Sprint(want) {
		t.Errorf("players per room = %v, want %v", f.rooms, want)
	}
}

func TestUnexpectedClosesAreCounted(t *testing.T) {
	f := startFakeSeed(t, false, func(f *fakeSeed) { f.kickID, f.kickAfter = 3, 15 })
	cfg := quickConfig(f.url(), 6, 0)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ClosedEarly != 1 || res.CloseReasons["close 1008 kicked"] != 1 {
		t.Errorf("closed early %d, reasons %v; want 1 kicked", res.ClosedEarly, res.CloseReasons)
	}
	// The generator's own closes at the end do not count.
	if res.ConnErrors != 0 || res.Connected != 6 {
		t.Errorf("errors %d connected %d", res.ConnErrors, res.Connected)
	}
}

// TestCloseReasonsAreLabelled: a close frame is labelled with its code and
// text, a normal one too, and a connection dropped without one says so.
func TestCloseReasonsAreLabelled(t *testing.T) {
	for _, tc := range []struct {
		configure func(*fakeSeed)
		want      string
	}{
		{func(f *fakeSeed) { f.kickCode, f.kickText = 1000, "bye" }, "close 1000 bye"},
		{func(f *fakeSeed) { f.kickCode, f.kickText = 4001, "" }, "close 4001"},
		// arena's "full", which nbio refuses to read.
		{func(f *fakeSeed) { f.kickCode, f.kickText = 1013, "full" }, "close 1012-1014 (nbio keeps no code)"},
		// RFC 6455's code for a close without a frame, which gorilla's
		// clients reported too.
		{func(f *fakeSeed) { f.kickRaw = true }, "close 1006 unexpected EOF"},
	} {
		f := startFakeSeed(t, false, func(f *fakeSeed) { f.kickID, f.kickAfter = 2, 10; tc.configure(f) })
		cfg := quickConfig(f.url(), 4, 0)
		cfg.Duration = time.Second
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.ClosedEarly != 1 || res.CloseReasons[tc.want] != 1 || res.ConnErrors != 0 {
			t.Errorf("closed early %d, reasons %v, errors %d; want 1 %q", res.ClosedEarly, res.CloseReasons, res.ConnErrors, tc.want)
		}
	}
}

// TestClosingHandshake: at the end every player sends a normal close frame
// that says why, and the server's answer is no unexpected close.
func TestClosingHandshake(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 8, 2)
	cfg.Duration = 300 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ClosedEarly != 0 || res.ConnErrors != 0 {
		t.Errorf("closed early %d (%v), errors %d", res.ClosedEarly, res.CloseReasons, res.ConnErrors)
	}
	// The server has seen the frames once its readers are done with them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		closes := fmt.Sprint(f.closes)
		f.mu.Unlock()
		if closes == "map[1000 load test done:8]" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("close frames received: %s; want 8 × 1000 load test done", closes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLocalAddrDialsFromIt: with LocalAddr, every player connects from
// that address.
func TestLocalAddrDialsFromIt(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 6, 1)
	cfg.Duration = 300 * time.Millisecond
	cfg.LocalAddr = "127.0.0.2"
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	from := fmt.Sprint(f.from)
	f.mu.Unlock()
	if res.Connected != 6 || from != "map[127.0.0.2:6]" {
		t.Errorf("connected %d, from %s; want 6 from 127.0.0.2", res.Connected, from)
	}
}

func TestBadHandshakeIsAConnectionError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "full", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cfg := quickConfig("ws"+strings.TrimPrefix(srv.URL, "http")+"/", 3, 1)
	cfg.Duration = 100 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ConnErrors != 3 || res.ErrorReasons["bad handshake"] != 3 || res.Connected != 0 {
		t.Errorf("errors %d (%v), connected %d; want 3 bad handshakes", res.ConnErrors, res.ErrorReasons, res.Connected)
	}
}

// goroutineCounter, as a Config.Progress, counts the goroutines that are
// running the generator's code (not the fake server's) each time a line of
// progress comes.
type goroutineCounter struct {
	mu  sync.Mutex
	max int
}

func (g *goroutineCounter) Write(b []byte) (int, error) {
	buf := make([]byte, 1<<22)
	stacks := string(buf[:runtime.Stack(buf, true)])
	n := 0
	for _, s := range strings.Split(stacks, "\n\n") {
		if strings.Contains(s, "internal/loadgen.(*runner)") {
			n++
		}
	}
	g.mu.Lock()
	g.max = max(g.max, n)
	g.mu.Unlock()
	return len(b), nil
}

// TestNoGoroutinePerPlayer: players are read by the engine's pollers, not
// by goroutines of their own.
func TestNoGoroutinePerPlayer(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 100, 0)
	cfg.Behaviour = Idle
	cfg.Duration = 2500 * time.Millisecond
	var g goroutineCounter
	cfg.Progress = &g
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 100 || res.UpdatesPerClient < 10 {
		t.Fatalf("connected %d, updates/s %.1f", res.Connected, res.UpdatesPerClient)
	}
	// The test's own goroutine, in Run, and maybe a poller that is in a
	// callback just then.
	t.Logf("at most %d goroutines in the generator's code", g.max)
	if g.max == 0 || g.max > 10 {
		t.Errorf("%d goroutines in the generator's code for 100 players", g.max)
	}
}

func TestConnectionErrorsAreCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	cfg := quickConfig("ws://"+addr+"/", 5, 1)
	cfg.Duration = 100 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ConnErrors != 5 || res.Connected != 0 || res.ErrorReasons["connection refused"] != 5 {
		t.Errorf("errors %d (%v), connected %d; want 5 refused, 0", res.ConnErrors, res.ErrorReasons, res.Connected)
	}
	if res.LatSamples != 0 || res.LatP99 != -1 {
		t.Errorf("latency without players: %d samples, p99 %v", res.LatSamples, res.LatP99)
	}
}

func TestRunStopsWhenCanceled(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	cfg := quickConfig(f.url(), 5, 1)
	cfg.Duration = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	if _, err := Run(ctx, cfg); err == nil {
		t.Fatal("a canceled run returned no error")
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Run took %v to stop", el)
	}
}

func TestNoGoroutinesLeft(t *testing.T) {
	f := startFakeSeed(t, false, nil)
	before := runtime.NumGoroutine()
	cfg := quickConfig(f.url(), 10, 2)
	cfg.Duration = 300 * time.Millisecond
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// The fake server's goroutines end with the test; ours must be gone
	// already, give or take the runtime finishing its timers.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConfigValidation(t *testing.T) {
	ok := quickConfig("ws://127.0.0.1:1/", 1, 0)
	for name, change := range map[string]func(*Config){
		"no url":        func(c *Config) { c.URL = "" },
		"http url":      func(c *Config) { c.URL = "http://x/" },
		"no protocol":   func(c *Config) { c.Protocol = nil },
		"no players":    func(c *Config) { c.Players = 0 },
		"no rooms":      func(c *Config) { c.Rooms = 0 },
		"no window":     func(c *Config) { c.Duration = 0 },
		"negative ramp": func(c *Config) { c.Ramp = -1 },
		"bad behaviour": func(c *Config) { c.Behaviour = 9 },
	} {
		c := ok
		change(&c)
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%s: Run accepted the config", name)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]float64{0.5: 51, 0.9: 91, 0.99: 100, 1: 100, 0: 1} {
		if got := percentileMS(d, q); got != want {
			t.Errorf("percentile %v = %v, want %v", q, got, want)
		}
	}
	if got := percentileMS(nil, 0.5); got != -1 {
		t.Errorf("percentile of nothing = %v, want -1", got)
	}
}

func TestParseProc(t *testing.T) {
	stat := []byte("4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 125 0 0 20 0 9 0 123 456 789\n")
	got, err := parseStatCPU(stat)
	if err != nil || got.User != 2500*time.Millisecond || got.System != 1250*time.Millisecond || got.Total() != 3750*time.Millisecond {
		t.Errorf("parseStatCPU = %+v, %v; want 2.5s user, 1.25s system", got, err)
	}
	if _, err := parseStatCPU([]byte("4242 (x) S 1 2")); err == nil {
		t.Error("parseStatCPU accepted a short line")
	}
	status := []byte("Name:\tarena\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t  1024 kB\n")
	if got, err := parseStatusKB(status, "VmHWM:"); err != nil || got != 2<<20 {
		t.Errorf("VmHWM = %d, %v; want 2 MiB", got, err)
	}
	if _, err := parseStatusKB(status, "VmSwap:"); err == nil {
		t.Error("parseStatusKB found a missing key")
	}
	// Our own process: burn some CPU and see it counted.
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self0 := SelfCPU()
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	after, _ := ProcessCPU(os.Getpid())
	if after.User <= before.User || SelfCPU().User <= self0.User {
		t.Errorf("CPU did not advance: /proc %v → %v, rusage %v → %v", before, after, self0, SelfCPU())
	}
	if rss, err := ProcessPeakRSS(os.Getpid()); err != nil || rss < 1<<20 {
		t.Errorf("own peak RSS = %d, %v", rss, err)
	}
}

func TestParseMachineCPU(t *testing.T) {
	stat := []byte("cpu  100 5 50 1000 7 3 2 40 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	got, err := parseMachineCPU(stat)
	// user+nice = 105 ticks; steal 40.
	if err != nil || got.User != 1050*time.Millisecond || got.Steal != 400*time.Millisecond {
		t.Errorf("parseMachineCPU = %+v, %v; want 1.05s user, 400ms steal", got, err)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3\n", "cpu a b c d e f g h\n"} {
		if _, err := parseMachineCPU([]byte(bad)); err == nil {
			t.Errorf("parseMachineCPU(%q) accepted", bad)
		}
	}
	if _, err := MachineCPU(); err != nil {
		t.Errorf("MachineCPU on this machine: %v", err)
	}
}

func TestOtherCPU(t *testing.T) {
	at := time.Now()
	a := counters{at: at, machine: MachineTimes{User: 10 * time.Second, Steal: time.Second},
		gen: CPUTimes{User: time.Second, System: 5 * time.Second}, server: CPUTimes{User: 2 * time.Second}}
	b := a
	b.at = at.Add(2 * time.Second)
	// Over 2 s: machine user +1.5 s, steal +0.1 s; the generator +0.4 s
	// user (and system time, which does not count); the server +0.6 s.
	b.machine = MachineTimes{User: 11500 * time.Millisecond, Steal: 1100 * time.Millisecond}
	b.gen = CPUTimes{User: 1400 * time.Millisecond, System: 9 * time.Second}
	b.server = CPUTimes{User: 2600 * time.Millisecond}
	// (1.5 + 0.1 - 0.4 - 0.6) s over 2 s = 30% of a core.
	if got := otherCPU(a, b); got < 29.99 || got > 30.01 {
		t.Errorf("otherCPU = %v, want 30", got)
	}
	b.machine.User = a.machine.User // ours exceeds the machine's: no negative load
	if got := otherCPU(a, b); got != 0 {
		t.Errorf("otherCPU = %v, want 0", got)
	}
}
