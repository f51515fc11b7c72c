package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/internal/loadgen"
	"github.com/arena-server/arena/internal/password"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/protocol"
)

// accountsOpts are the knobs of `arena-bench accounts`; the defaults are
// the run BENCHMARKS.md reports, the test's are tiny.
type accountsOpts struct {
	backends   []string
	postgres   string
	repeats    int
	joins      int           // per kind, backend and repeat
	clients    int           // closed-loop clients of the throughput runs
	opWindow   time.Duration // each throughput run
	accounts   int           // registered accounts logins rotate over
	players    int
	rooms      int
	loginRate  int
	ramp       time.Duration
	warmup     time.Duration
	window     time.Duration // each rooms run
	hashes     int
	skipRooms  bool
	skipThrput bool
}

// runAccounts measures issue 24's targets, every backend side by side in
// one run: what a token adds to a join (with the real accounts.Service
// checking it), whether rooms keep their rate while logins arrive, what a
// login's hash costs, and how many guest creations, logins and refreshes
// a second each backend answers. Each backend's server is a child process
// (runAccountsServer) and all of them run at once, so that the runs can
// take turns backend by backend within each repeat and noise falls on
// both. PostgreSQL is one this process starts (internal/pgtest) unless
// -postgres names one.
func runAccounts(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arena-bench accounts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o accountsOpts
	backends := fs.String("backends", "sqlite,postgres", "stores to measure, side by side: sqlite, postgres")
	fs.StringVar(&o.postgres, "postgres", "", "an empty PostgreSQL database's URL to use (default: start a throwaway server, as the tests do)")
	fs.IntVar(&o.repeats, "repeats", 3, "repeats of every measurement; figures are medians with the min–max spread")
	fs.IntVar(&o.joins, "joins", 300, "joins with and without a token, per backend and repeat")
	fs.IntVar(&o.clients, "clients", 8, "concurrent clients of the throughput runs (closed loop)")
	fs.DurationVar(&o.opWindow, "op-duration", 2*time.Second, "each throughput run (guest creations, logins, refreshes)")
	fs.IntVar(&o.accounts, "accounts", 32, "accounts registered beforehand for the logins to use")
	fs.IntVar(&o.players, "players", 80, "players of the rooms run (native protocol, every one holding a key)")
	fs.IntVar(&o.rooms, "rooms", 10, "rooms the players are spread over")
	fs.IntVar(&o.loginRate, "login-rate", 100, "logins a second during the rooms run (open loop)")
	fs.DurationVar(&o.ramp, "ramp", 2*time.Second, "the rooms run's ramp")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "the rooms run's warm-up")
	fs.DurationVar(&o.window, "duration", 6*time.Second, "the rooms run's measured window")
	fs.IntVar(&o.hashes, "hashes", 20, "argon2id verifications timed for the hash's cost")
	fs.BoolVar(&o.skipRooms, "no-rooms", false, "skip the rooms run")
	fs.BoolVar(&o.skipThrput, "no-throughput", false, "skip the throughput runs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	o.backends = strings.Split(*backends, ",")
	for _, b := range o.backends {
		if b != "sqlite" && b != "postgres" {
			fmt.Fprintf(stderr, "arena-bench accounts: unknown backend %q\n", b)
			return 2
		}
	}
	if fs.NArg() > 0 || o.repeats < 1 || o.joins < 1 || o.clients < 1 || o.accounts < 1 || o.players < 1 || o.rooms < 1 || o.hashes < 1 {
		fmt.Fprintln(stderr, "arena-bench accounts: counts must be positive, and nothing may follow the flags")
		return 2
	}
	if err := benchAccounts(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "arena-bench accounts:", err)
		return 1
	}
	return 0
}

// backend is one store's server, a child process.
type backend struct {
	name string
	base string // http://127.0.0.1:PORT
	pid  int
	cmd  *exec.Cmd
	in   io.Closer // closing it stops the child
	http *http.Client

	logins  []credential // registered accounts
	refresh []string     // one refresh token per throughput client, each a chain
}

type credential struct{ Email, Password string }

func benchAccounts(ctx context.Context, o accountsOpts, stdout, stderr io.Writer) error {
	// The servers' stderr is copied into it by exec's goroutines while
	// this one writes progress.
	stderr = &lockedWriter{w: stderr}
	start := time.Now()
	fmt.Fprintf(stdout, "# arena-bench accounts, %s\n\n", start.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(stdout, "Machine: %s; load average at start %s\n\n", machine(), loadavg())

	// The hash first, while nothing else of ours runs: its CPU is the
	// process's.
	cpuMS, wallMS, err := hashCost(ctx, o.hashes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "## Hashing cost per login (argon2id, m=19 MiB, t=2, p=1)\n\n")
	fmt.Fprintf(stdout, "%d password.Verify in turn: %.1f ms of CPU per hash (%.1f ms wall); two at a time at most (the pool), so at most %.0f logins/s if they had both cores to themselves\n\n",
		o.hashes, cpuMS, wallMS, 2*1000/cpuMS)

	tmp, err := os.MkdirTemp("", "arena-bench-accounts-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var bes []*backend
	defer func() {
		for _, b := range bes {
			b.stop()
		}
	}()
	for _, name := range o.backends {
		url := "sqlite:" + filepath.Join(tmp, "arena.db")
		if name == "postgres" {
			url, err = postgresURL(ctx, o.postgres, stderr)
			if err != nil {
				return err
			}
		}
		b, err := startBackend(ctx, name, url, stderr)
		if err != nil {
			return err
		}
		bes = append(bes, b)
	}
	for _, b := range bes {
		if err := b.prepare(ctx, o); err != nil {
			return fmt.Errorf("%s: preparing: %w", b.name, err)
		}
	}
	fmt.Fprintf(stderr, "arena-bench accounts: servers ready in %v\n", time.Since(start).Round(time.Millisecond))

	if err := benchJoins(ctx, o, bes, stdout, stderr); err != nil {
		return err
	}
	if !o.skipRooms {
		if err := benchRooms(ctx, o, bes, stdout, stderr); err != nil {
			return err
		}
	}
	if !o.skipThrput {
		if err := benchThroughput(ctx, o, bes, stdout, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "Load average at the end %s; took %v\n", loadavg(), time.Since(start).Round(time.Second))
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// hashCost times n verifications of one argon2id hash in turn, as a login
// does: the process's CPU (user and system) and the wall time, per hash.
func hashCost(ctx context.Context, n int) (cpuMS, wallMS float64, err error) {
	h, err := password.Hash(ctx, "correct horse battery")
	if err != nil {
		return 0, 0, err
	}
	cpu0, t0 := processCPU(), time.Now()
	for range n {
		ok, err := password.Verify(ctx, h, "correct horse battery")
		if err != nil || !ok {
			return 0, 0, fmt.Errorf("verify: %v %v", ok, err)
		}
	}
	wall := time.Since(t0)
	cpu := processCPU() - cpu0
	return float64(cpu.Microseconds()) / 1000 / float64(n), float64(wall.Microseconds()) / 1000 / float64(n), nil
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresURL is the URL of an empty database: -postgres's, or a fresh
// one on a throwaway server that stops when the benchmark does.
var pgServer *pgtest.Server

func postgresURL(ctx context.Context, given string, stderr io.Writer) (string, error) {
	if given != "" {
		return given, nil
	}
	t0 := time.Now()
	s, err := pgtest.Start()
	if err != nil {
		return "", err
	}
	pgServer = s
	fmt.Fprintf(stderr, "arena-bench: PostgreSQL started in %v\n", time.Since(t0).Round(time.Millisecond))
	admin, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE arena_bench"); err != nil {
		return "", err
	}
	return s.URL("arena_bench"), nil
}

func startBackend(ctx context.Context, name, dbURL string, stderr io.Writer) (*backend, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "accounts-server", "-db", dbURL)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &backend{name: name, pid: cmd.Process.Pid, cmd: cmd, in: in}
	line, err := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "serving ") {
		b.stop()
		return nil, fmt.Errorf("%s server: %q, %v", name, line, err)
	}
	b.base = strings.TrimSpace(strings.TrimPrefix(line, "serving "))
	b.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}
	return b, nil
}

func (b *backend) stop() {
	if b.cmd == nil {
		return
	}
	b.in.Close()
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
	if pgServer != nil && b.name == "postgres" {
		pgServer.Stop()
		pgServer = nil
	}
}

// session is the part of the API's Session the benchmark uses.
type session struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
}

// post sends one API request and decodes a 2xx answer into out.
func (b *backend) post(ctx context.Context, path string, body any, out any) error {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, bytes.TrimSpace(answer))
	}
	if out != nil {
		return json.Unmarshal(answer, out)
	}
	return nil
}

// prepare registers the accounts logins use and a session per throughput
// client for its chain of refreshes.
func (b *backend) prepare(ctx context.Context, o accountsOpts) error {
	b.logins = make([]credential, o.accounts)
	errs := make(chan error, o.accounts)
	var wg sync.WaitGroup
	for i := range o.accounts {
		b.logins[i] = credential{Email: fmt.Sprintf("bench%d@example.com", i), Password: fmt.Sprintf("bench password %d", i)}
		wg.Go(func() {
			errs <- b.post(ctx, "/api/auth/register", map[string]string{
				"email": b.logins[i].Email, "password": b.logins[i].Password, "name": fmt.Sprintf("bench%d", i),
			}, nil)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// guestTokens makes n guests and returns their access tokens.
func (b *backend) guestTokens(ctx context.Context, n int) ([]string, error) {
	tokens := make([]string, n)
	for i := range tokens {
		var s session
		if err := b.post(ctx, "/api/auth/guest", struct{}{}, &s); err != nil {
			return nil, err
		}
		tokens[i] = s.Access
	}
	return tokens, nil
}

// join dials the server, joins the room "hall" with arena's binary
// protocol, as a guest (token "") or signed in, and returns how long it
// took from the dial to the welcome.
func (b *backend) join(token string) (time.Duration, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
	url := "ws" + strings.TrimPrefix(b.base, "http") + "/ws?room=hall"
	if token != "" {
		url += "&auth=1"
	}
	start := time.Now()
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if token != "" {
		if err := conn.WriteMessage(websocket.BinaryMessage, protocol.AppendBinaryAuth(nil, token, "")); err != nil {
			return 0, err
		}
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	var m protocol.ServerMessage
	if err == nil {
		err = protocol.ParseServerBinary(&m, data)
	}
	if err != nil || m.Type != protocol.BinWelcome {
		return 0, fmt.Errorf("join: %v, message %#x (%s %s); want a welcome", err, m.Type, m.Code, m.Message)
	}
	return time.Since(start), nil
}

// benchJoins times joins with and without a token, taking turns join by
// join (and backend by backend) so that drift falls on both alike. Each
// signed-in join is a different guest's, as players' are.
func benchJoins(ctx context.Context, o accountsOpts, bes []*backend, stdout, stderr io.Writer) error {
	type key struct{ backend, kind string }
	p50, p99 := map[key][]float64{}, map[key][]float64{}
	diff := map[string][]float64{}
	for r := range o.repeats {
		tokens := map[string][]string{}
		for _, b := range bes {
			t, err := b.guestTokens(ctx, o.joins)
			if err != nil {
				return fmt.Errorf("%s: guests for joins: %w", b.name, err)
			}
			tokens[b.name] = t
		}
		took := map[key][]time.Duration{}
		for i := range o.joins {
			for _, b := range bes {
				kinds := []string{"guest", "token"}
				if i%2 == 1 {
					kinds = []string{"token", "guest"}
				}
				for _, kind := range kinds {
					tok := ""
					if kind == "token" {
						tok = tokens[b.name][i]
					}
					d, err := b.join(tok)
					if err != nil {
						return fmt.Errorf("%s: %s join: %w", b.name, kind, err)
					}
					took[key{b.name, kind}] = append(took[key{b.name, kind}], d)
				}
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		for k, ds := range took {
			slices.Sort(ds)
			p50[k] = append(p50[k], ms(quantile(ds, 0.5)))
			p99[k] = append(p99[k], ms(quantile(ds, 0.99)))
		}
		for _, b := range bes {
			diff[b.name] = append(diff[b.name], p99[key{b.name, "token"}][r]-p99[key{b.name, "guest"}][r])
		}
		fmt.Fprintf(stderr, "arena-bench accounts: joins, repeat %d done\n", r+1)
	}
	fmt.Fprintf(stdout, "## Joins with and without an access token (target: +1 ms at p99 at most)\n\n")
	fmt.Fprintf(stdout, "%d joins of each kind per backend and repeat, taking turns; arena.v1.bin, dial to welcome; the token checked by accounts.Service. Medians of %d repeats (min–max).\n\n", o.joins, o.repeats)
	fmt.Fprintf(stdout, "| backend | without p50 ms | without p99 ms | with p50 ms | with p99 ms | p99 added ms | target |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, b := range bes {
		g, t := key{b.name, "guest"}, key{b.name, "token"}
		verdict := "met"
		if median(diff[b.name]) > 1 {
			verdict = "not met"
		}
		fmt.Fprintf(stdout, "| %s | %s | %s | %s | %s | %s | %s |\n", b.name,
			spread(p50[g], "%.2f"), spread(p99[g], "%.2f"), spread(p50[t], "%.2f"), spread(p99[t], "%.2f"), spread(diff[b.name], "%+.2f"), verdict)
	}
	fmt.Fprintln(stdout)
	return nil
}

// loginDeadline is how long a login of the rooms run may take: about when
// a person gives up, and short enough that a backlog drains before the
// next run.
const loginDeadline = 5 * time.Second

// driveLogins sends logins at a fixed rate (open loop: a slow server does
// not slow the arrivals), each with loginDeadline, until stop, which waits
// for the last.
type loginStats struct {
	sent, ok, failed atomic.Int64
	mu               sync.Mutex
	took             []time.Duration // of the logins answered
	done             []time.Time     // when each was answered
	firstErr         atomic.Value
}

func driveLogins(ctx context.Context, b *backend, rate int, st *loginStats) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			c := b.logins[i%len(b.logins)]
			st.sent.Add(1)
			wg.Go(func() {
				rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), loginDeadline)
				defer rcancel()
				t0 := time.Now()
				var s session
				if err := b.post(rctx, "/api/auth/login", c, &s); err != nil {
					st.failed.Add(1)
					st.firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				d := time.Since(t0)
				st.ok.Add(1)
				st.mu.Lock()
				st.took = append(st.took, d)
				st.done = append(st.done, t0.Add(d))
				st.mu.Unlock()
			})
		}
	})
	return func() { cancel(); wg.Wait() }
}

// benchRooms runs the players of -rooms rooms on each backend's server,
// without logins and then with -login-rate logins a second, and reports
// the updates each player received per second.
func benchRooms(ctx context.Context, o accountsOpts, bes []*backend, stdout, stderr io.Writer) error {
	native, err := loadgen.Lookup("native")
	if err != nil {
		return err
	}
	type key struct{ backend, kind string }
	type runStats struct {
		ups, slowest, p99, cpu, other, loginsPS, loginP50, loginP99, failed []float64
		kib                                                                 []float64
	}
	stats := map[key]*runStats{}
	for r := range o.repeats {
		for _, b := range bes {
			for _, kind := range []string{"no logins", "logins"} {
				cfg := loadgen.Config{
					URL: "ws" + strings.TrimPrefix(b.base, "http") + "/ws", Protocol: native,
					Players: o.players, Rooms: o.rooms, Probes: min(10, o.players), Behaviour: loadgen.Hold, Moving: 1,
					Ramp: o.ramp, Warmup: o.warmup, Duration: o.window, MoveInterval: 50 * time.Millisecond,
					ServerPID: b.pid, Seed: uint64(r + 1), Label: b.name + " " + kind,
				}
				var st loginStats
				stop := func() {}
				t0 := time.Now()
				if kind == "logins" {
					stop = driveLogins(ctx, b, o.loginRate, &st)
				}
				res, err := loadgen.Run(ctx, cfg)
				// The rate is of the logins answered while the rooms
				// ran; those still waiting then are answered (or time
				// out) before the next run, and count in the latencies.
				end := time.Now()
				elapsed := end.Sub(t0)
				stop()
				answered := 0
				for _, at := range st.done {
					if !at.After(end) {
						answered++
					}
				}
				if err != nil {
					return fmt.Errorf("%s, %s: %w", b.name, kind, err)
				}
				if res.Connected != o.players || res.ClosedEarly != 0 {
					return fmt.Errorf("%s, %s: %d of %d players connected, %d closed early (%v %v)", b.name, kind, res.Connected, o.players, res.ClosedEarly, res.ErrorReasons, res.CloseReasons)
				}
				k := key{b.name, kind}
				s := stats[k]
				if s == nil {
					s = &runStats{}
					stats[k] = s
				}
				s.ups = append(s.ups, res.UpdatesPerClient)
				s.slowest = append(s.slowest, res.UpdatesMinPerClient)
				s.p99 = append(s.p99, res.LatP99)
				s.kib = append(s.kib, res.KiBPerClient)
				if res.ServerCPU != nil {
					s.cpu = append(s.cpu, *res.ServerCPU)
				}
				if res.OtherCPU != nil {
					s.other = append(s.other, *res.OtherCPU)
				}
				if kind == "logins" {
					slices.Sort(st.took)
					s.loginsPS = append(s.loginsPS, float64(answered)/elapsed.Seconds())
					s.loginP50 = append(s.loginP50, ms(quantile(st.took, 0.5)))
					s.loginP99 = append(s.loginP99, ms(quantile(st.took, 0.99)))
					s.failed = append(s.failed, float64(st.failed.Load()))
					if e := st.firstErr.Load(); e != nil {
						fmt.Fprintf(stderr, "arena-bench accounts: %s: %d of %d logins failed, the first: %s\n", b.name, st.failed.Load(), st.sent.Load(), e)
					}
				}
				fmt.Fprintf(stderr, "arena-bench accounts: rooms, %s, %s, repeat %d: %.2f updates/s, server CPU %s\n", b.name, kind, r+1, res.UpdatesPerClient, spread(s.cpu[len(s.cpu)-1:], "%.1f%%"))
			}
		}
	}
	fmt.Fprintf(stdout, "## Rooms while %d logins a second arrive (target: ≥ 19.5 updates/s)\n\n", o.loginRate)
	fmt.Fprintf(stdout, "%d native players holding a key in %d rooms of dots; ramp %v, warm-up %v, window %v; logins sent open loop from the ramp's start to the window's end, over %d accounts, each with a %v deadline; answered/s counts those answered by the window's end; latencies and failures are of every login sent. Medians of %d repeats (min–max).\n\n",
		o.players, o.rooms, o.ramp, o.warmup, o.window, o.accounts, loginDeadline, o.repeats)
	fmt.Fprintf(stdout, "| backend | logins | updates/s per player | slowest player | input p99 ms | server CPU %% | other CPU %% | logins answered/s | login p50 ms | login p99 ms | logins failed |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var kib []float64
	for _, b := range bes {
		for _, kind := range []string{"no logins", "logins"} {
			s := stats[key{b.name, kind}]
			kib = append(kib, s.kib...)
			rate, p50, p99, failed := "–", "–", "–", "–"
			if kind == "logins" {
				rate, p50, p99, failed = spread(s.loginsPS, "%.1f"), spread(s.loginP50, "%.0f"), spread(s.loginP99, "%.0f"), spread(s.failed, "%.0f")
			}
			fmt.Fprintf(stdout, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", b.name, kind,
				spread(s.ups, "%.2f"), spread(s.slowest, "%.2f"), spread(s.p99, "%.0f"), spread(s.cpu, "%.1f"), spread(s.other, "%.0f"), rate, p50, p99, failed)
		}
	}
	fmt.Fprintln(stdout)
	for _, b := range bes {
		s := stats[key{b.name, "logins"}]
		verdict := "met"
		if median(s.ups) < 19.5 {
			verdict = "not met"
		}
		fmt.Fprintf(stdout, "- %s: updates/s ≥ 19.5 with %d logins/s sent: **%s** (%s)\n", b.name, o.loginRate, verdict, spread(s.ups, "%.2f"))
	}
	// For `arena-bench floor`: the same sockets and bytes with no server.
	fmt.Fprintf(stdout, "\nfloor-args: -players %d -bytes %.0f -in-rate 2\n\n", o.players, median(kib)*1024/20)
	return nil
}

// benchThroughput: closed-loop clients make guests, log in or refresh
// for a window each, backend after backend within each repeat.
func benchThroughput(ctx context.Context, o accountsOpts, bes []*backend, stdout, stderr io.Writer) error {
	ops := []string{"guest", "login", "refresh"}
	type key struct{ backend, op string }
	rates := map[key][]float64{}
	p99s := map[key][]float64{}
	for r := range o.repeats {
		for _, op := range ops {
			order := bes
			if r%2 == 1 {
				order = slices.Clone(bes)
				slices.Reverse(order)
			}
			for _, b := range order {
				n, took, err := b.closedLoop(ctx, op, o)
				if err != nil {
					return fmt.Errorf("%s, %s: %w", b.name, op, err)
				}
				k := key{b.name, op}
				rates[k] = append(rates[k], float64(n)/o.opWindow.Seconds())
				p99s[k] = append(p99s[k], ms(quantile(took, 0.99)))
				fmt.Fprintf(stderr, "arena-bench accounts: %s, %s, repeat %d: %.0f/s\n", b.name, op, r+1, float64(n)/o.opWindow.Seconds())
			}
		}
	}
	fmt.Fprintf(stdout, "## Guest creations, logins and refreshes a second\n\n")
	fmt.Fprintf(stdout, "%d clients in a closed loop (each sends its next request when the last is answered) for %v per run, backends taking turns; medians of %d repeats (min–max).\n\n", o.clients, o.opWindow, o.repeats)
	fmt.Fprintf(stdout, "| operation |")
	for _, b := range bes {
		fmt.Fprintf(stdout, " %s /s | %s p99 ms |", b.name, b.name)
	}
	if len(bes) == 2 {
		fmt.Fprintf(stdout, " %s/%s |", bes[1].name, bes[0].name)
	}
	fmt.Fprintf(stdout, "\n|---|%s\n", strings.Repeat("---:|", 2*len(bes)+map[bool]int{true: 1}[len(bes) == 2]))
	for _, op := range ops {
		fmt.Fprintf(stdout, "| %s |", op)
		for _, b := range bes {
			fmt.Fprintf(stdout, " %s | %s |", spread(rates[key{b.name, op}], "%.0f"), spread(p99s[key{b.name, op}], "%.1f"))
		}
		if len(bes) == 2 {
			// The ratio of each repeat's pair, which ran minutes apart at most.
			var ratio []float64
			a, c := rates[key{bes[0].name, op}], rates[key{bes[1].name, op}]
			for i := range a {
				ratio = append(ratio, c[i]/a[i])
			}
			fmt.Fprintf(stdout, " %s |", spread(ratio, "%.2f"))
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintln(stdout)
	return nil
}

// closedLoop runs o.clients clients doing op for o.opWindow and returns the
// requests answered in the window and their times.
func (b *backend) closedLoop(ctx context.Context, op string, o accountsOpts) (int, []time.Duration, error) {
	// A refresh chain per client, started before the window.
	chains := make([]string, o.clients)
	if op == "refresh" {
		for i := range chains {
			var s session
			if err := b.post(ctx, "/api/auth/guest", struct{}{}, &s); err != nil {
				return 0, nil, err
			}
			chains[i] = s.Refresh
		}
	}
	wctx, cancel := context.WithTimeout(ctx, o.opWindow)
	defer cancel()
	var mu sync.Mutex
	var took []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			for i := 0; ; i++ {
				t0 := time.Now()
				var s session
				var err error
				switch op {
				case "guest":
					err = b.post(wctx, "/api/auth/guest", struct{}{}, &s)
				case "login":
					err = b.post(wctx, "/api/auth/login", b.logins[(c+i*o.clients)%len(b.logins)], &s)
				case "refresh":
					err = b.post(wctx, "/api/auth/refresh", map[string]string{"refresh_token": chains[c]}, &s)
					chains[c] = s.Refresh
				}
				if wctx.Err() != nil {
					return // cut by the window's end: not counted
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				took = append(took, time.Since(t0))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, nil, firstErr
	}
	slices.Sort(took)
	return len(took), took, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// spread formats the median of vs with their min–max range, as the other
// tables of BENCHMARKS.md do.
func spread(vs []float64, format string) string {
	if len(vs) == 0 {
		return "–"
	}
	s := fmt.Sprintf(format, median(vs))
	lo, hi := fmt.Sprintf(format, slices.Min(vs)), fmt.Sprintf(format, slices.Max(vs))
	if lo == hi {
		return s
	}
	return s + " (" + lo + "–" + hi + ")"
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	release := ""
	if syscall.Uname(&u) == nil {
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			release += string(rune(c))
		}
	}
	return fmt.Sprintf("%d CPUs (%s), Linux %s, %s", runtime.NumCPU(), model, release, runtime.Version())
}
