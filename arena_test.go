package arena

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/gorilla/websocket"
)

// TestMain lets a test run the stock binary's main, Main(dots.Mode,
// tag.Mode), in a child process.
func TestMain(m *testing.M) {
	if os.Getenv(arenatest.RunMainEnv) == "1" {
		Main(dots.Mode, tag.Mode)
		return
	}
	dir, err := os.MkdirTemp("", "arena-test-data-")
	if err != nil {
		panic(err)
	}
	testDataDir = dir
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// testDataDir is the -data-dir of every Run of this package's tests that
// names none (through env): the store goes there, not into the package's
// directory.
var testDataDir string

// run is Run with the stock binary's modes.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	return Run(ctx, args, getenv, stderr, dots.Mode, tag.Mode)
}

func TestBadOptionsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"-port", "70000"}, {"-nope"}, {"stray"}} {
		if _, err := parseOptions(args, env(nil), &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	for _, args := range [][]string{{"-tick-rate", "0"}, {"-tls-cert", "x.pem"}, {"-ping-interval", "5s", "-pong-timeout", "1s"}} {
		if code := run(context.Background(), args, env(nil), &bytes.Buffer{}); code != 2 {
			t.Errorf("%v: exit code %d; want 2", args, code)
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-log-format", "xml"}, env(nil), &stderr); code != 2 {
		t.Errorf("bad log format exit code %d; want 2", code)
	}
}

// TestSignalClosesConnectionsAndExitsZero runs the real binary's main in a
// child process, connects, sends SIGTERM and SIGINT, and checks that clients
// are told 1001 and the process exits 0 within 5 s.
func TestSignalClosesConnectionsAndExitsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-port", "0", "-host", "127.0.0.1")
			cmd.Env = append(os.Environ(), arenatest.RunMainEnv+"=1", "ARENA_DATA_DIR="+t.TempDir())
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			addr := make(chan string, 1)
			logs := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(stderr)
				re := regexp.MustCompile(`msg="arena listening" addr=(\S+)`)
				for sc.Scan() {
					if m := re.FindStringSubmatch(sc.Text()); m != nil {
						addr <- m[1]
					}
					select {
					case logs <- sc.Text():
					default:
					}
				}
				close(logs)
			}()
			var a string
			select {
			case a = <-addr:
			case <-time.After(10 * time.Second):
				t.Fatal("arena did not start listening within 10 s")
			}
			var clients []*arenatest.Client
			for range 3 {
				c := arenatest.Dial(t, "ws://"+a+"/", nil)
				c.Init()
				clients = append(clients, c)
			}
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for _, c := range clients {
				ce := c.WaitClose(5 * time.Second)
				if ce.Code != websocket.CloseGoingAway || ce.Text != "server shutting down" {
					t.Errorf("closed with %d %q; want 1001 server shutting down", ce.Code, ce.Text)
				}
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("arena exited with %v; want 0", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("arena did not exit within 5 s of the signal")
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("shutdown took %v", took)
			}
		})
	}
}

func TestInvalidLimitsNameTheirFlag(t *testing.T) {
	for _, flagName := range []string{"message-rate", "message-burst", "max-message-bytes", "write-timeout", "handshake-timeout"} {
		var stderr bytes.Buffer
		if code := run(context.Background(), []string{"-" + flagName, "0"}, env(nil), &stderr); code != 2 {
			t.Errorf("-%s 0: exit code %d; want 2", flagName, code)
		}
		if !strings.Contains(stderr.String(), "-"+flagName+") must be positive") {
			t.Errorf("-%s 0: %q does not name the flag", flagName, stderr.String())
		}
	}
	for _, flagName := range []string{"room-capacity", "max-connections", "max-connections-per-ip", "send-delay", "send-jitter", "room-idle-timeout"} {
		v := "-1"
		if strings.HasSuffix(flagName, "-delay") || strings.HasSuffix(flagName, "-jitter") || strings.HasSuffix(flagName, "-timeout") {
			v = "-1s"
		}
		var stderr bytes.Buffer
		if code := run(context.Background(), []string{"-" + flagName, v}, env(nil), &stderr); code != 2 {
			t.Errorf("-%s %s: exit code %d; want 2", flagName, v, code)
		}
		if !strings.Contains(stderr.String(), "-"+flagName+") cannot be negative") {
			t.Errorf("-%s %s: %q does not name the flag", flagName, v, stderr.String())
		}
	}
}

func TestKeepRoomsOfUnknownModesStopTheStart(t *testing.T) {
	for _, v := range []string{"lobby:nope", "bad name!:dots"} {
		var stderr bytes.Buffer
		if code := run(context.Background(), []string{"-keep-rooms", v, "-port", "0"}, env(nil), &stderr); code != 2 {
			t.Errorf("-keep-rooms %s: exit code %d; want 2", v, code)
		}
		if !strings.Contains(stderr.String(), "-keep-rooms") {
			t.Errorf("-keep-rooms %s: %q does not name the flag", v, stderr.String())
		}
	}
}

func TestBusyPprofAddrFailsBeforeListening(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, []string{"-host", "127.0.0.1", "-port", "0", "-pprof-addr", busy.Addr().String()}, env(nil), &stderr)
	if code != 1 {
		t.Errorf("exit code %d; want 1", code)
	}
	if strings.Contains(stderr.String(), "arena listening") || !strings.Contains(stderr.String(), "-pprof-addr") {
		t.Errorf("a busy -pprof-addr logged:\n%s", stderr.String())
	}
}

func TestHelpHasNoEmptyDefaultsAndVersionPrints(t *testing.T) {
	var help bytes.Buffer
	if _, err := parseOptions([]string{"-h"}, env(nil), &help); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	if strings.Contains(help.String(), `(default "")`) || strings.Contains(help.String(), "(default false)") || !strings.Contains(help.String(), "(default 8765)") {
		t.Errorf("-h defaults:\n%s", help.String())
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-version"}, env(nil), &out); code != 0 || !strings.HasPrefix(out.String(), "arena ") || !strings.Contains(out.String(), "go1.") {
		t.Errorf("-version: exit %d, printed %q", code, out.String())
	}
	// An environment variable cannot turn every start into a version print.
	if o, err := parseOptions(nil, env(map[string]string{"ARENA_VERSION": "true"}), &bytes.Buffer{}); err != nil || o.version {
		t.Errorf("ARENA_VERSION applied: %+v, %v", o, err)
	}
}

func TestNoModesIsRefused(t *testing.T) {
	var stderr bytes.Buffer
	if code := Run(context.Background(), []string{"-port", "0"}, env(nil), &stderr); code != 2 {
		t.Errorf("exit code %d; want 2", code)
	}
	if !strings.Contains(stderr.String(), "no game modes") {
		t.Errorf("no modes said %q", stderr.String())
	}
}

// startRun runs Run in this process with args on a free loopback port and
// returns the address it listens on. When the test ends it cancels Run's
// context and checks that Run returns 0 within 10 s.
func startRun(t *testing.T, args []string, modes ...game.Mode) string {
	t.Helper()
	return startApp(t, args, func(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
		return Run(ctx, args, getenv, stderr, modes...)
	})
}

// startApp is startRun for run, which is Run or an App's Run.
func startApp(t *testing.T, args []string, run func(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dataDir := t.TempDir()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"-host", "127.0.0.1", "-port", "0", "-data-dir", dataDir}, args...), env(nil), pw)
		pw.Close()
	}()
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="arena listening" addr=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		io.Copy(io.Discard, pr) // never block Run's logging
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case c := <-code:
			if c != 0 {
				t.Errorf("Run returned %d after its context ended; want 0", c)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of its context ending")
		}
	})
	select {
	case a := <-addr:
		return a
	case c := <-code:
		code <- c
		t.Fatalf("Run returned %d before listening", c)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not listen within 10 s")
	}
	return ""
}

func TestRunServesTheModesGivenTheFirstByDefault(t *testing.T) {
	hill := game.Mode{Name: "hill", Description: "a third mode", New: dots.Mode.New}
	addr := startRun(t, []string{"-admin-token", "secret"}, tag.Mode, hill, dots.Mode)
	if got, want := arenatest.ModeList(arenatest.Modes(t, addr)), "tag* hill dots"; got != want {
		t.Errorf("GET /api/modes lists %q; want %q", got, want)
	}
	// The complete server: the client, the admin page, the metrics and a
	// game over a WebSocket.
	for _, path := range []string{"/", "/admin/", "/metrics"} {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}
	c := arenatest.Dial(t, "ws://"+addr+"/?mode=hill", nil)
	if m := c.Init(); !strings.HasPrefix(m.Room, "hill") {
		t.Errorf("?mode=hill joined room %q", m.Room)
	}
}
