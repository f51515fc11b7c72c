package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/arenatest"
	"github.com/gorilla/websocket"
)

// TestMain lets a test run the real main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("ARENA_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestPortFromFlagEnvAndPORT(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{nil, nil, 8765},
		{nil, map[string]string{"PORT": "9000"}, 9000},
		{nil, map[string]string{"PORT": "9000", "ARENA_PORT": "9001"}, 9001},
		{[]string{"-port", "9002"}, map[string]string{"PORT": "9000", "ARENA_PORT": "9001"}, 9002},
	} {
		o, err := parseOptions(tc.args, env(tc.env), &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if o.port != tc.want {
			t.Errorf("args %v env %v: port %d; want %d", tc.args, tc.env, o.port, tc.want)
		}
	}
}

func TestEveryFlagHasAnEnvironmentVariable(t *testing.T) {
	o, err := parseOptions(nil, env(map[string]string{
		"ARENA_TICK_RATE":       "30",
		"ARENA_ALLOWED_ORIGINS": "https://a.example, https://b.example",
		"ARENA_RESUME_GRACE":    "5s",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.server.TickRate != 30 || o.server.ResumeGrace != 5*time.Second || len(o.server.AllowedOrigins) != 2 {
		t.Errorf("environment not applied: %+v", o.server)
	}
	if _, err := parseOptions(nil, env(map[string]string{"ARENA_TICK_RATE": "fast"}), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "ARENA_TICK_RATE") {
		t.Errorf("bad environment value: %v; want an error naming the variable", err)
	}
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

// flagNames lists every flag arena defines.
func flagNames(t *testing.T) []string {
	var help bytes.Buffer
	if _, err := parseOptions([]string{"-h"}, env(nil), &help); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)\s`).FindAllStringSubmatch(help.String(), -1) {
		names = append(names, m[1])
	}
	if len(names) < 10 {
		t.Fatalf("-h listed only %v:\n%s", names, help.String())
	}
	return names
}

func TestHelpAndREADMEListEveryOption(t *testing.T) {
	var help bytes.Buffer
	parseOptions([]string{"-h"}, env(nil), &help)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range flagNames(t) {
		if name != "version" && !strings.Contains(help.String(), envName(name)) {
			t.Errorf("-h does not name the environment variable of -%s", name)
		}
		if !strings.Contains(string(readme), "`-"+name+"`") {
			t.Errorf("README.md's options table lacks -%s", name)
		}
	}
	// The table's defaults are the flags' own, as -h prints them.
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)\t.*\n.*\(default "?([^")]*)"?\)$`).FindAllStringSubmatch(help.String(), -1) {
		defaults[m[1]] = m[2]
	}
	if len(defaults) < 10 {
		t.Fatalf("found the defaults of only %v in -h", defaults)
	}
	for _, m := range regexp.MustCompile("(?m)^\\| `-([a-z-]+)` \\| [^|]* \\| ([^|]*) \\|").FindAllStringSubmatch(string(readme), -1) {
		if want, ok := defaults[m[1]]; ok && strings.Trim(strings.TrimSpace(m[2]), "`") != want {
			t.Errorf("README.md says -%s defaults to %q; it is %q", m[1], strings.TrimSpace(m[2]), want)
		}
	}
}

// TestSignalClosesConnectionsAndExitsZero runs the real binary's main in a
// child process, connects, sends SIGTERM and SIGINT, and checks that clients
// are told 1001 and the process exits 0 within 5 s.
func TestSignalClosesConnectionsAndExitsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-port", "0", "-host", "127.0.0.1")
			cmd.Env = append(os.Environ(), "ARENA_TEST_RUN_MAIN=1")
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

func TestConfigurationErrorsSayWhatToFix(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		want    []string
		notWant string
	}{
		{nil, map[string]string{"PORT": "abc"}, []string{`PORT="abc"`}, "ARENA_PORT"},
		{nil, map[string]string{"ARENA_PORT": "abc"}, []string{`ARENA_PORT="abc"`}, ""},
		{[]string{"-resume-grace", "5"}, nil, []string{"-resume-grace", "unit", "5s"}, ""},
		{nil, map[string]string{"ARENA_PING_INTERVAL": "2"}, []string{"ARENA_PING_INTERVAL", "unit", "2s"}, ""},
		{[]string{"-write-timeout", "soon"}, nil, []string{"-write-timeout", "5s"}, ""},
	} {
		_, err := parseOptions(tc.args, env(tc.env), &bytes.Buffer{})
		if err == nil {
			t.Errorf("args %v env %v accepted", tc.args, tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("args %v env %v: %q does not say %q", tc.args, tc.env, err, w)
			}
		}
		if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
			t.Errorf("args %v env %v: %q blames %s", tc.args, tc.env, err, tc.notWant)
		}
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
	for _, flagName := range []string{"room-capacity", "max-connections", "max-connections-per-ip", "send-delay", "send-jitter"} {
		v := "-1"
		if strings.HasPrefix(flagName, "send-") {
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
