package arena

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/natstest"
)

// running is an arena.Run in this process.
type running struct {
	log    *arenatest.LogBuffer
	cancel context.CancelFunc
	code   chan int
}

// runLogged runs Run with args on a loopback port, logging to a buffer
// the test reads; stop ends it.
func runLogged(t *testing.T, args []string, vars map[string]string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{log: &arenatest.LogBuffer{}, cancel: cancel, code: make(chan int, 1)}
	go func() {
		// Without accounts, which a cluster keeps in PostgreSQL: these
		// tests are about NATS (cluster_test.go runs nodes with both).
		r.code <- run(ctx, append([]string{"-host", "127.0.0.1", "-port", "0", "-auth", "off"}, args...), env(vars), r.log)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitLog waits until the log says want, or Run returns.
func (r *running) waitLog(t *testing.T, want string) {
	t.Helper()
	arenatest.Eventually(t, 15*time.Second, 10*time.Millisecond, func() error {
		if strings.Contains(r.log.String(), want) {
			return nil
		}
		select {
		case c := <-r.code:
			r.code <- c
			t.Fatalf("Run returned %d before logging %q; it logged:\n%s", c, want, r.log.String())
		default:
		}
		return fmt.Errorf("no %q in the log yet:\n%s", want, r.log.String())
	})
}

// stop cancels Run and returns its exit code; it may be called again.
func (r *running) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case c := <-r.code:
		r.code <- c
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return within 15 s of its context ending")
		return -1
	}
}

func natsPort(s *natsserver.Server) string {
	return strconv.Itoa(s.Addr().(*net.TCPAddr).Port)
}

// TestNATSSecretsAreNeverLogged joins a cluster whose NATS wants a
// password, and one that wants a token, with the secret in the -nats URL,
// has NATS restart under the node (a reconnect), and fails a join with a
// wrong secret: no line of the log holds a secret, and the URLs it shows
// keep the user.
func TestNATSSecretsAreNeverLogged(t *testing.T) {
	const password, token, wrong = "pa55-w0rd-abc", "t0ken-xyz-123", "wr0ng-pa55-999"
	for _, tc := range []struct {
		name      string
		configure func(*natsserver.Options)
		userinfo  string // in the URL
		shown     string // in the log instead
	}{
		{"password", natstest.Users(nil, "arena", password), "arena:" + password, "arena:xxxxx@"},
		{"token", func(o *natsserver.Options) { o.Authorization = token }, token, "nats://xxxxx@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := natstest.StartWith(t, tc.configure)
			port := natsPort(ns)
			url := "nats://" + tc.userinfo + "@127.0.0.1:" + port
			r := runLogged(t, []string{"-nats", url, "-node", "a", "-log-level", "debug"}, nil)
			r.waitLog(t, "joined the cluster")
			r.waitLog(t, "arena listening")
			natstest.Restart(t, ns)
			r.waitLog(t, "NATS reconnected")
			if code := r.stop(t); code != 0 {
				t.Errorf("exit code %d", code)
			}
			log := r.log.String()
			if strings.Contains(log, password) || strings.Contains(log, token) {
				t.Errorf("the secret is in the log:\n%s", log)
			}
			if !strings.Contains(log, tc.shown) {
				t.Errorf("the log does not show the redacted URL %q:\n%s", tc.shown, log)
			}

			// A wrong secret: the node refuses to start, saying why, and
			// names NATS without the secret it tried.
			bad := "nats://" + strings.NewReplacer(password, wrong, token, wrong).Replace(tc.userinfo) + "@127.0.0.1:" + port
			var stderr arenatest.LogBuffer
			if code := run(context.Background(), []string{"-host", "127.0.0.1", "-port", "0", "-auth", "off", "-nats", bad}, env(nil), &stderr); code != 1 {
				t.Errorf("wrong secret: exit code %d; want 1", code)
			}
			out := stderr.String()
			if !strings.Contains(out, "cannot join the cluster") || !strings.Contains(strings.ToLower(out), "authorization violation") {
				t.Errorf("wrong secret: the log does not say the join was refused for it:\n%s", out)
			}
			if strings.Contains(out, wrong) {
				t.Errorf("wrong secret: it is in the log:\n%s", out)
			}
		})
	}
}

// TestNATSSaysEverythingInJSON: with -log-format json, every line on
// stderr is a JSON object through a connect, an asynchronous error from
// NATS (a permissions violation, which nats.go prints as plain text when
// nobody handles it) and a reconnect.
func TestNATSSaysEverythingInJSON(t *testing.T) {
	perms := natstest.ArenaPermissions()
	// The node may not take moved rooms: its subscription is refused,
	// asynchronously.
	perms.Subscribe.Deny = []string{"arena.node.*.import"}
	ns := natstest.StartWith(t, natstest.Users(perms, "arena", "pa55-w0rd-abc"))
	r := runLogged(t, []string{"-nats", "nats://arena:pa55-w0rd-abc@127.0.0.1:" + natsPort(ns), "-node", "a", "-log-format", "json", "-log-level", "debug"}, nil)
	r.waitLog(t, `"msg":"arena listening"`)
	r.waitLog(t, "arena.node.a.import")
	natstest.Restart(t, ns)
	r.waitLog(t, `"msg":"cluster: NATS reconnected"`)
	if code := r.stop(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
	log := r.log.String()
	for _, want := range []string{`"msg":"cluster: NATS error"`, "ermissions violation", `"msg":"cluster: NATS connection lost"`} {
		if !strings.Contains(log, want) {
			t.Errorf("no %s in the log:\n%s", want, log)
		}
	}
	for line := range strings.Lines(log) {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("not a JSON line: %q", line)
		}
	}
	if strings.Contains(log, "pa55-w0rd-abc") {
		t.Errorf("the password is in the log:\n%s", log)
	}
}

// TestNATSCredentialsAndTLS: a node joins a NATS that wants an nkey, a
// credentials file, or TLS with a client certificate, when given them by
// flag or ARENA_ variable, and is refused with NATS's reason without.
func TestNATSCredentialsAndTLS(t *testing.T) {
	seed, pub := natstest.Nkey(t)
	op := natstest.NewOperator(t)
	creds := op.Creds(t, natstest.ArenaPermissions())
	tf := natstest.NewTLS(t)
	for _, tc := range []struct {
		name      string
		configure func(*natsserver.Options)
		args      []string
		vars      map[string]string
		refusal   string // the error without the credentials
	}{
		{"nkey", func(o *natsserver.Options) {
			o.Nkeys = []*natsserver.NkeyUser{{Nkey: pub, Permissions: natstest.ArenaPermissions()}}
		}, []string{"-nats-nkey", seed}, nil, "uthorization violation"},
		{"creds", op.Configure, nil, map[string]string{"ARENA_NATS_CREDS": creds}, "uthorization violation"},
		{"tls", tf.Configure, []string{"-nats-ca", tf.CA}, map[string]string{"ARENA_NATS_CERT": tf.ClientCert, "ARENA_NATS_KEY": tf.ClientKey}, "tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := natstest.StartWith(t, tc.configure)
			url := "nats://127.0.0.1:" + natsPort(ns)
			r := runLogged(t, append([]string{"-nats", url, "-node", "a"}, tc.args...), tc.vars)
			r.waitLog(t, "joined the cluster")
			r.waitLog(t, "arena listening")
			if code := r.stop(t); code != 0 {
				t.Errorf("exit code %d:\n%s", code, r.log.String())
			}

			var stderr arenatest.LogBuffer
			if code := run(context.Background(), []string{"-host", "127.0.0.1", "-port", "0", "-auth", "off", "-nats", url, "-node", "a"}, env(nil), &stderr); code != 1 {
				t.Errorf("without credentials: exit code %d; want 1", code)
			}
			if out := stderr.String(); !strings.Contains(out, "cannot join the cluster") || !strings.Contains(strings.ToLower(out), strings.ToLower(tc.refusal)) {
				t.Errorf("without credentials: the log does not say why (%s):\n%s", tc.refusal, out)
			}
		})
	}
}

// TestNATSFlagsAreCheckedAtStart: a missing, unreadable or wrong file, a
// certificate without its key, or two ways to authenticate stop the start
// with an error that names the flags.
func TestNATSFlagsAreCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	seed, _ := natstest.Nkey(t)
	tf := natstest.NewTLS(t)
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	unreadable := filepath.Join(dir, "unreadable")
	if err := os.Mkdir(unreadable, 0o700); err != nil { // a directory: read fails even as root
		t.Fatal(err)
	}
	withNATS := []string{"-auth", "off", "-nats", "nats://127.0.0.1:4222"}
	for _, tc := range []struct {
		args []string
		vars map[string]string
		want []string // in the error
	}{
		{append(withNATS, "-nats-cert", tf.ClientCert), nil, []string{"-nats-cert", "-nats-key"}},
		{withNATS, map[string]string{"ARENA_NATS_KEY": tf.ClientKey}, []string{"-nats-cert", "-nats-key"}},
		{append(withNATS, "-nats-creds", junk, "-nats-nkey", seed), nil, []string{"-nats-creds", "-nats-nkey"}},
		{append(withNATS, "-nats-creds", missing), nil, []string{"-nats-creds", missing, "no such file"}},
		{append(withNATS, "-nats-creds", unreadable), nil, []string{"-nats-creds", unreadable}},
		{append(withNATS, "-nats-creds", junk), nil, []string{"-nats-creds", junk, "credentials"}},
		{append(withNATS, "-nats-nkey", missing), nil, []string{"-nats-nkey", missing}},
		{append(withNATS, "-nats-nkey", junk), nil, []string{"-nats-nkey", junk}},
		{append(withNATS, "-nats-ca", missing), nil, []string{"-nats-ca", missing}},
		{append(withNATS, "-nats-ca", junk), nil, []string{"-nats-ca", junk, "no PEM certificate"}},
		{append(withNATS, "-nats-cert", tf.ClientCert, "-nats-key", junk), nil, []string{"-nats-cert", "-nats-key", junk}},
		{append(withNATS, "-nats-cert", tf.ClientCert, "-nats-key", missing), nil, []string{"-nats-key", missing}},
		{[]string{"-nats-ca", tf.CA}, nil, []string{"-nats-ca", "needs -nats"}},
	} {
		_, err := parseOptions(tc.args, env(tc.vars), &bytes.Buffer{})
		if err == nil {
			t.Errorf("%v %v accepted", tc.args, tc.vars)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %v: %q does not say %q", tc.args, tc.vars, err, w)
			}
		}
	}
	// Through Run: exit 2 before anything listens.
	var stderr bytes.Buffer
	if code := run(context.Background(), append(withNATS, "-nats-cert", tf.ClientCert), env(nil), &stderr); code != 2 {
		t.Errorf("-nats-cert without -nats-key: exit code %d; want 2", code)
	}
	// The right files pass.
	for _, args := range [][]string{
		append(withNATS, "-nats-nkey", seed, "-nats-ca", tf.CA, "-nats-cert", tf.ClientCert, "-nats-key", tf.ClientKey),
		append(withNATS, "-nats-creds", natstest.NewOperator(t).Creds(t, nil)),
	} {
		if _, err := parseOptions(args, env(nil), &bytes.Buffer{}); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                       "nats://127.0.0.1:4222",
		"nats://arena:s3cret@nats:4222":               "nats://arena:xxxxx@nats:4222",
		"nats://t0ken@nats:4222":                      "nats://xxxxx@nats:4222",
		"tls://arena:p%40ss@a:4222,nats://t0k@b:4222": "tls://arena:xxxxx@a:4222,nats://xxxxx@b:4222",
		"arena:s3cret@nats:4222":                      "arena:xxxxx@nats:4222",
		"nats://arena:we@rd:pass@nats:4222":           "nats://arena:xxxxx@nats:4222",
		"nats://arena:@nats:4222":                     "nats://arena:xxxxx@nats:4222",
		"":                                            "",
	} {
		if got := redactURLs(in); got != want {
			t.Errorf("redactURLs(%q) = %q; want %q", in, got, want)
		}
	}
	err := scrub(fmt.Errorf(`parse "nats://arena:p%%40ss@a": bad`), urlSecrets("nats://arena:p%40ss@a"))
	if strings.Contains(err.Error(), "p%40ss") {
		t.Errorf("scrub left the password: %v", err)
	}
	err = scrub(fmt.Errorf(`login p@ss refused`), urlSecrets("nats://arena:p%40ss@a"))
	if strings.Contains(err.Error(), "p@ss") {
		t.Errorf("scrub left the unescaped password: %v", err)
	}
}

// TestNATSHandlersLeaveNothingToNATSGo: every callback through which
// nats.go reports something is arena's, and logs a JSON line; nats.go's
// own printing (of asynchronous errors, on stderr) is never reached.
func TestNATSHandlersLeaveNothingToNATSGo(t *testing.T) {
	var out arenatest.LogBuffer
	log, err := newLogger("json", "debug", &out)
	if err != nil {
		t.Fatal(err)
	}
	o := nats.GetDefaultOptions()
	for _, opt := range natsHandlers(log) {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	nc := &nats.Conn{}
	calls := []struct {
		name string
		set  bool
		call func()
	}{
		{"ErrorHandler", o.AsyncErrorCB != nil, func() { o.AsyncErrorCB(nc, &nats.Subscription{Subject: "arena.node.a.import"}, nats.ErrSlowConsumer) }},
		{"DisconnectErrHandler", o.DisconnectedErrCB != nil, func() { o.DisconnectedErrCB(nc, errors.New("EOF")) }},
		{"ReconnectErrHandler", o.ReconnectErrCB != nil, func() { o.ReconnectErrCB(nc, errors.New("refused")) }},
		{"ReconnectHandler", o.ReconnectedCB != nil, func() { o.ReconnectedCB(nc) }},
		{"ClosedHandler", o.ClosedCB != nil, func() { o.ClosedCB(nc) }},
		{"LameDuckModeHandler", o.LameDuckModeHandler != nil, func() { o.LameDuckModeHandler(nc) }},
		{"DiscoveredServersHandler", o.DiscoveredServersCB != nil, func() { o.DiscoveredServersCB(nc) }},
	}
	for _, c := range calls {
		if !c.set {
			t.Errorf("no %s: nats.go's default takes over", c.name)
			continue
		}
		before := strings.Count(out.String(), "\n")
		c.call()
		if strings.Count(out.String(), "\n") != before+1 {
			t.Errorf("%s logged no line", c.name)
		}
	}
	for line := range strings.Lines(out.String()) {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("not a JSON line: %q", line)
		}
	}
	if !strings.Contains(out.String(), "slow consumer") {
		t.Errorf("the slow consumer error is not in the log:\n%s", out.String())
	}
}
