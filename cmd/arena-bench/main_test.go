package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/loadgen"
	"github.com/arena-server/arena/server"
)

func TestLoadArena(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Room.Capacity = 0 }})
	out := filepath.Join(t.TempDir(), "result.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"-url", srv.WSURL, "-players", "30", "-probes", "5", "-rooms", "3",
		"-ramp", "300ms", "-warmup", "300ms", "-duration", "1500ms",
		"-pid", strconv.Itoa(os.Getpid()), "-label", "arena", "-json", out,
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"arena: seed protocol, 30 players (5 probes) in 3 room(s)", "updates/s per player", "server CPU", "generator CPU"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "window") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res loadgen.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if res.Connected != 30 || res.ConnErrors != 0 || res.ClosedEarly != 0 {
		t.Errorf("connected %d, errors %d, closes %d (%v); want 30, 0, 0", res.Connected, res.ConnErrors, res.ClosedEarly, res.CloseReasons)
	}
	if res.UpdatesPerClient < 12 || res.UpdatesPerClient > 22 {
		t.Errorf("updates/s per player %.2f; arena ticks at 20 Hz", res.UpdatesPerClient)
	}
	if res.LatSamples == 0 || res.LatP50 <= 0 {
		t.Errorf("latency: %d samples, p50 %.1f ms", res.LatSamples, res.LatP50)
	}
	var rooms []string
	for _, st := range srv.Manager().Rooms() {
		rooms = append(rooms, st.Name)
	}
	for _, want := range []string{"bench-0", "bench-1", "bench-2"} {
		if !slices.Contains(rooms, want) {
			t.Errorf("rooms %v lack %s", rooms, want)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-protocol", "carrier-pigeon"},
		{"-behaviour", "dance"},
		{"-players", "0"},
		{"stray"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

func rec(server string, repeat, players int, upd, p99, cpu float64) record {
	return record{Server: server, Repeat: repeat, Result: loadgen.Result{
		Protocol: "seed", Clients: players, Connected: players, UpdatesPerClient: upd, UpdatesMinPerClient: upd - 0.1,
		LatSamples: 100, LatP50: p99 / 2, LatP90: p99 * 0.9, LatP99: p99, LatMax: p99 + 1, ServerCPU: &cpu,
	}}
}

func TestMatrixReport(t *testing.T) {
	recs := []record{
		rec("seed", 1, 500, 14, 200, 80), rec("arena", 1, 500, 20, 55, 15),
		rec("seed", 2, 500, 15, 210, 90), rec("arena", 2, 500, 19.9, 65, 30),
		rec("seed", 3, 500, 13, 190, 70), rec("arena", 3, 500, 19.95, 58, 16),
		rec("arena", 1, 1000, 19.4, 90, 50),
	}
	got := matrixBlock(recs)
	for _, want := range []string{
		"Median of 3 run(s)",
		"| 500 | seed | 14.00 (13.00–15.00) |",
		"| 500 | arena | 19.95 (19.90–20.00) |",
		// p99 58 is the median of 55, 58, 65.
		"| 58 (55–65) |",
		"updates/s ≥ 19.8: **met** (19.95 (19.90–20.00))",
		"p99 latency ≤ 60 ms: **met** (58 (55–65) ms)",
		// Arena/seed CPU by repeat: 15/80, 30/90, 16/70 → median 16/70 = 0.23.
		"¼ of the seed's in the same run: **met** (arena/seed = 0.23 (0.19–0.33))",
		"1000 players, updates/s ≥ 19.5: **not met** (19.40)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if i, j := strings.Index(got, "| 500 | seed"), strings.Index(got, "| 1000 | arena"); i < 0 || j < i {
		t.Errorf("rows are not by size:\n%s", got)
	}
}

func TestCapacityReport(t *testing.T) {
	recs := []record{
		rec("arena", 1, 1000, 20, 50, 40), rec("arena", 1, 2000, 19.6, 90, 80),
		rec("arena", 1, 3000, 19.6, 150, 95), rec("arena", 1, 4000, 15, 300, 99),
		rec("seed", 1, 200, 19.3, 60, 40),
	}
	dropped := rec("arena", 1, 2500, 19.9, 80, 90)
	dropped.Result.ClosedEarly = 3
	floor := 42.5
	recs[1].FloorCPU = &floor
	// The mean holds, but the slowest player does not.
	uneven := rec("arena", 1, 1500, 19.8, 60, 60)
	uneven.Result.UpdatesMinPerClient = 18
	recs = append(recs, dropped, uneven)
	got := capacityBlock(recs)
	for _, want := range []string{
		"| arena | 2000 | 1 | 19.60 | 19.50 | 90 | 80.0 | 42.5 | 0 |",
		"| arena | 2500 | 1 | 19.90 | 19.80 | 80 | 90.0 | – | 0 | – | no |",
		"| arena | 1500 | 1 | 19.80 | 18.00 | 60 | 60.0 | – | 0 | – | no |",
		"Largest room that holds the bar, arena: **2000 players**",
		"seed: none of the sizes tried holds the bar",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestStat(t *testing.T) {
	for _, tt := range []struct {
		vals []float64
		want string
	}{
		{nil, "–"},
		{[]float64{3}, "3.0"},
		{[]float64{3, 1, 2}, "2.0 (1.0–3.0)"},
		{[]float64{4, 1, 2, 3}, "2.5 (1.0–4.0)"},
		{[]float64{2, 2}, "2.0"},
	} {
		if got := statOf(tt.vals).format(1); got != tt.want {
			t.Errorf("statOf(%v) = %s, want %s", tt.vals, got, tt.want)
		}
	}
}

func TestReplaceBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	if err := os.WriteFile(path, []byte("# Benchmarks\n\nProse.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceBlock(path, matrixBegin, matrixEnd, "table one\n"); err != nil {
		t.Fatal(err)
	}
	if err := replaceBlock(path, capacityBegin, capacityEnd, "capacity\n"); err != nil {
		t.Fatal(err)
	}
	if err := replaceBlock(path, matrixBegin, matrixEnd, "table two\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "# Benchmarks\n\nProse.\n\n" + matrixBegin + "\ntable two\n" + matrixEnd + "\n\n" + capacityBegin + "\ncapacity\n" + capacityEnd + "\n"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if err := os.WriteFile(path, []byte(matrixEnd+"\n"+matrixBegin+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceBlock(path, matrixBegin, matrixEnd, "x"); err == nil {
		t.Error("markers out of order: no error")
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	records := filepath.Join(dir, "m.jsonl")
	var lines []byte
	for _, r := range []record{rec("seed", 1, 50, 19.3, 55, 10), rec("arena", 1, 50, 20, 50, 5)} {
		b, _ := json.Marshal(r)
		lines = append(append(lines, b...), '\n')
	}
	// A line as scripts/bench writes it around drive.mjs's output.
	lines = append(lines, `{"server":"colyseus","repeat":1,"other_cpu_pct":3.5,"result":{"label":"colyseus","clients":50,"rooms":1,"connected":50,"conn_errors":0,"closed_early":0,"updates_per_client_s":19.96,"kib_per_client_s":2.3,"lat_samples":124,"lat_lost":0,"lat_p50_ms":26.1,"lat_p90_ms":46.9,"lat_p99_ms":51.0,"lat_max_ms":51.9,"server_cpu_pct":12.3,"server_rss_mib":87.6,"driver_cpu_pct":20.9,"procs":2}}`+"\n"...)
	if err := os.WriteFile(records, lines, 0o644); err != nil {
		t.Fatal(err)
	}
	header := filepath.Join(dir, "h.md")
	os.WriteFile(header, []byte("Run on a test machine."), 0o644)
	md := filepath.Join(dir, "B.md")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"report", "-header", header, "-md", md, records}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, _ := os.ReadFile(md)
	for _, want := range []string{"Run on a test machine.", "| 50 | colyseus | 19.96 | – | 26 | 47 | 51 | 12.3 | 88 | 2 | 21 | 4 | 0 |", "| 50 | arena | 20.00 |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("BENCHMARKS lacks %q:\n%s", want, b)
		}
	}
}

// TestMain lets the test binary stand in for arena-bench when floor starts
// its reader process, and when accounts starts its servers.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "floor-readers" {
		os.Exit(runFloorReaders(os.Args[2:], os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "accounts-server" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := runAccountsServer(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func TestFloor(t *testing.T) {
	var out, errs strings.Builder
	code := run(context.Background(), []string{"floor", "-players", "20", "-bytes", "100", "-duration", "300ms"}, &out, &errs)
	if code != 0 || !strings.Contains(out.String(), "20 loopback sockets") || !strings.Contains(out.String(), "kernel") {
		t.Fatalf("floor exit %d: %s %s", code, out.String(), errs.String())
	}
	out.Reset()
	code = run(context.Background(), []string{"floor", "-players", "20", "-bytes", "100", "-in-rate", "20", "-duration", "300ms"}, &out, &errs)
	if code != 0 || !strings.Contains(out.String(), "reading 40 B from each 20 times a second") {
		t.Fatalf("floor -in-rate exit %d: %s %s", code, out.String(), errs.String())
	}
}

// The attack command plays its attack from one address and its victims from
// another, so that per-address limits see two players.
func TestAttackPlaysVictimsFromAnotherAddress(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"attack", "-kind", "burst", "-url", srv.WSURL, "-room", "target", "-conns", "2",
		"-victims", "3", "-lead", "200ms", "-ramp", "200ms", "-warmup", "200ms", "-duration", "1s",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"attack burst from 127.0.0.1:", "players connected         3 of 3", "updates/s per player"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, ": 0 attempts") {
		t.Errorf("the attack made no attempt:\n%s", out)
	}
}

// Victims who join through another node (-via) follow its redirect; on one
// server there is none, and they join and play as the table says.
func TestAttackFollowingVictims(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"attack", "-kind", "none", "-url", srv.WSURL, "-via", srv.WSURL, "-room", "target",
		"-victims", "3", "-lead", "100ms", "-ramp", "100ms", "-warmup", "100ms", "-duration", "500ms",
		"-pid", strconv.Itoa(os.Getpid()),
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"attack none from 127.0.0.1:", "players connected     3 of 3 (0 redirected, 0 with a seat)", "join latency          p50", "updates/s per player", "server CPU"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestAttackFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-kind", "teleport"},
		{"-kind", "redirects"},                       // no -via
		{"-kind", "quickjoins", "-via", "ws://b/ws"}, // no -mode
		{"-pid", "12,x"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"attack"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("attack %v: exit %d; want 2", args, code)
		}
	}
	var pids pidList
	if err := pids.Set("12, 34,0"); err != nil || !slices.Equal(pids, pidList{12, 34}) {
		t.Errorf("-pid 12, 34,0: %v %v; want [12 34]", pids, err)
	}
	for _, c := range []struct {
		kind, via, victimURL string
		want                 bool
	}{
		{"fill", "", "", false},
		{"none", "", "", false},
		{"none", "ws://b/ws", "", true},
		{"none", "", "ws://c/ws", true},
		{"fragments", "", "", true},
		{"joinflood", "", "", true},
	} {
		if got := followingVictims(c.kind, c.via, c.victimURL); got != c.want {
			t.Errorf("followingVictims(%q, %q, %q) = %v; want %v", c.kind, c.via, c.victimURL, got, c.want)
		}
	}
}

// A redirected client asks the node named for the room, with its seat, as
// the SDK does, keeping the rest of its query.
func TestRedirectURL(t *testing.T) {
	for _, c := range []struct{ page, query, room, seat, want string }{
		{"http://127.0.0.1:8761/", "room=duel", "duel", "s3at", "ws://127.0.0.1:8761/ws?room=duel&seat=s3at"},
		{"https://a.example.com", "mode=tag&name=ann", "tag-k3x9", "", "wss://a.example.com/ws?mode=tag&name=ann&room=tag-k3x9"},
	} {
		if got := redirectURL(c.page, c.query, c.room, c.seat); got != c.want {
			t.Errorf("redirectURL(%q, %q, %q, %q) = %q; want %q", c.page, c.query, c.room, c.seat, got, c.want)
		}
	}
}

func TestNATS(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"nats", "-port", "-1"}, &stdout, &stderr); code != 2 {
		t.Errorf("nats without -dir: exit %d; want 2", code)
	}
	s, err := startNATS(-1, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if !s.JetStreamEnabled() || !strings.HasPrefix(s.ClientURL(), "nats://127.0.0.1:") {
		t.Errorf("JetStream %v, URL %s; want JetStream on 127.0.0.1", s.JetStreamEnabled(), s.ClientURL())
	}
}
