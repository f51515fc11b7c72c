package accounts

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends gives each test a fresh database of each kind: an SQLite file
// and a database on a real PostgreSQL server.
var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{store.SQLite, func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
	{store.Postgres, func(t *testing.T) string { return pgtest.DB(t) }},
}

// eachBackend runs test against every backend, in parallel.
func eachBackend(t *testing.T, test func(t *testing.T, url func(t *testing.T) string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.url)
		})
	}
}

// roomy are limits no test of the API reaches by accident.
var roomy = Limits{
	Login: Limit{Burst: 1000, Every: time.Millisecond}, Register: Limit{Burst: 1000, Every: time.Millisecond},
	Refresh: Limit{Burst: 1000, Every: time.Millisecond}, Guest: Limit{Burst: 1000, Every: time.Millisecond},
	External: Limit{Burst: 1000, Every: time.Millisecond}, Account: Limit{Burst: 1000, Every: time.Millisecond},
}

// env is a Service on a real database behind a real HTTP server.
type env struct {
	t   testing.TB
	db  *store.DB
	svc *Service
	srv *httptest.Server

	mu      sync.Mutex
	revoked []revocation
	publish []revocation
	logs    lockedBuffer
}

// lockedBuffer is a log's output, written by many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type revocation struct {
	account string
	why     Revocation
}

func openDB(t testing.TB, url string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnv starts a Service on db. The client address is the X-Test-Addr
// header when a test sets it, so that a test can be many addresses.
func newEnv(t testing.TB, db *store.DB, cfg Config) *env {
	t.Helper()
	e := &env{t: t, db: db}
	cfg.DB = db
	if cfg.Limits == (Limits{}) {
		cfg.Limits = roomy
	}
	cfg.Log = slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.OnRevoke = func(account string, why Revocation) {
		e.mu.Lock()
		e.revoked = append(e.revoked, revocation{account, why})
		e.mu.Unlock()
	}
	cfg.Publish = func(account string, why Revocation, before time.Time) {
		e.mu.Lock()
		e.publish = append(e.publish, revocation{account, why})
		e.mu.Unlock()
	}
	cfg.ClientAddr = func(r *http.Request) string {
		if a := r.Header.Get("X-Test-Addr"); a != "" {
			return a
		}
		return remoteHost(r)
	}
	svc, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e.svc = svc
	e.srv = httptest.NewServer(svc.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) revocations() []revocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]revocation(nil), e.revoked...)
}

func (e *env) published() []revocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]revocation(nil), e.publish...)
}

// answer is an HTTP answer, its body read as JSON if it is.
type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (a answer) str(key string) string { s, _ := a.json[key].(string); return s }

func (a answer) account() map[string]any { m, _ := a.json["account"].(map[string]any); return m }

// call sends body (a string as it is, anything else as JSON) with a bearer
// token if token is not "", and extra headers as name, value pairs.
func (e *env) call(method, path, token string, body any, headers ...string) answer {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.body, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(a.body, &a.json)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		e.t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, cc)
	}
	return a
}

// want fails the test unless a has status and, if code is not "", code.
func (a answer) want(t testing.TB, status int, code string) answer {
	t.Helper()
	if a.status != status || (code != "" && a.str("code") != code) {
		t.Fatalf("answer %d %s, want %d %s", a.status, a.body, status, code)
	}
	return a
}

func (e *env) guest(name string) answer {
	e.t.Helper()
	body := map[string]string{}
	if name != "" {
		body["name"] = name
	}
	return e.call("POST", "/api/auth/guest", "", body).want(e.t, http.StatusCreated, "")
}

func (e *env) register(email, pw, name string) answer {
	e.t.Helper()
	return e.call("POST", "/api/auth/register", "", map[string]string{"email": email, "password": pw, "name": name})
}

func (e *env) login(email, pw string, headers ...string) answer {
	e.t.Helper()
	return e.call("POST", "/api/auth/login", "", map[string]string{"email": email, "password": pw}, headers...)
}

func (e *env) refresh(token string) answer {
	e.t.Helper()
	return e.call("POST", "/api/auth/refresh", "", map[string]string{"refresh_token": token})
}

// authOK fails the test unless Authenticate takes token as account's.
func (e *env) authOK(token, account string) Identity {
	e.t.Helper()
	id, err := e.svc.Authenticate(context.Background(), token)
	if err != nil || id.Account != account {
		e.t.Fatalf("Authenticate = %+v, %v; want account %s", id, err, account)
	}
	return id
}

func (e *env) authFails(token string, want error) error {
	e.t.Helper()
	_, err := e.svc.Authenticate(context.Background(), token)
	if !errors.Is(err, want) {
		e.t.Fatalf("Authenticate = %v, want %v", err, want)
	}
	return err
}

// TestAPI runs the HTTP API, endpoint by endpoint, on each backend.
func TestAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		e := newEnv(t, openDB(t, url(t)), Config{})

		t.Run("guest", func(t *testing.T) {
			g := e.guest("")
			acc := g.account()
			if !strings.HasPrefix(acc["name"].(string), "guest-") || acc["guest"] != true || len(acc["id"].(string)) != 26 ||
				g.str("access_token") == "" || g.str("refresh_token") == "" || g.json["expires_in"] != float64(900) {
				t.Fatalf("guest session %s", g.body)
			}
			if _, ok := acc["email"]; ok {
				t.Errorf("a guest's account has an email: %s", g.body)
			}
			e.authOK(g.str("access_token"), acc["id"].(string))
			me := e.call("GET", "/api/me", g.str("access_token"), nil).want(t, 200, "")
			if me.str("id") != acc["id"] || me.str("name") != acc["name"] {
				t.Fatalf("me %s, want %s", me.body, g.body)
			}
			named := e.guest("Zoë")
			if named.account()["name"] != "Zoë" {
				t.Fatalf("named guest %s", named.body)
			}
			e.call("POST", "/api/auth/guest", "", `{"name":"zoË"}`).want(t, 409, "name_taken")
			e.call("POST", "/api/auth/guest", "", `{"name":"a\u202eb"}`).want(t, 400, "bad_request")
			e.call("POST", "/api/auth/guest", "", `{"name":"seventeen chars!!"}`).want(t, 400, "bad_request")
			e.call("POST", "/api/auth/guest", "", "").want(t, 201, "")
		})

		t.Run("register and login", func(t *testing.T) {
			r := e.register("Ann@Example.com", "correct horse", "ann").want(t, 201, "")
			acc := r.account()
			if acc["guest"] != false || acc["email"] != "Ann@Example.com" || acc["name"] != "ann" {
				t.Fatalf("registered %s", r.body)
			}
			e.register("ann@example.COM", "another one", "ann2").want(t, 409, "email_taken")
			e.register("bob@example.com", "another one", "ANN").want(t, 409, "name_taken")
			e.register("bob@example.com", "short", "bob").want(t, 400, "bad_request")
			e.register("bob@example.com", strings.Repeat("p", 257), "bob").want(t, 400, "bad_request")
			e.register("bob.example.com", "long enough", "bob").want(t, 400, "bad_request")
			e.register("a@b@example.com", "long enough", "bob").want(t, 400, "bad_request")
			// 256 bytes is a password.
			long := strings.Repeat("é", 128)
			e.register("bob@example.com", long, "").want(t, 201, "")
			e.login("BOB@example.com", long).want(t, 200, "")

			in := e.login("ann@EXAMPLE.com", "correct horse").want(t, 200, "")
			if in.account()["id"] != acc["id"] {
				t.Fatalf("login %s, registered %s", in.body, r.body)
			}
			e.authOK(in.str("access_token"), acc["id"].(string))

			// Neither the code nor the message says whether the email exists.
			wrong := e.login("ann@example.com", "wrong horse").want(t, 401, "bad_credentials")
			unknown := e.login("nobody@example.com", "wrong horse").want(t, 401, "bad_credentials")
			if wrong.str("message") != unknown.str("message") || wrong.str("message") != "wrong email or password" {
				t.Fatalf("wrong password %s, unknown email %s", wrong.body, unknown.body)
			}
			// A guest has no password, and cannot be signed in to by email.
			e.login("", "whatever").want(t, 400, "bad_request")
		})

		t.Run("refresh rotates, and reuse ends the family", func(t *testing.T) {
			g := e.guest("")
			id := g.account()["id"].(string)
			r1 := e.refresh(g.str("refresh_token")).want(t, 200, "")
			if r1.str("refresh_token") == g.str("refresh_token") || r1.account()["id"] != id {
				t.Fatalf("refresh %s of %s", r1.body, g.body)
			}
			e.authOK(r1.str("access_token"), id)
			r2 := e.refresh(r1.str("refresh_token")).want(t, 200, "")
			// The first token again: a copy is in other hands.
			e.refresh(g.str("refresh_token")).want(t, 401, "refresh_reused")
			// and the family is gone, the newest token with it.
			e.refresh(r2.str("refresh_token")).want(t, 401, "unauthorized")
			e.refresh("nonsense").want(t, 401, "unauthorized")
			e.refresh("a.b").want(t, 401, "unauthorized")
			e.call("POST", "/api/auth/refresh", "", `{}`).want(t, 400, "bad_request")
		})

		t.Run("logout of one session", func(t *testing.T) {
			g := e.guest("")
			other := e.refresh(g.str("refresh_token")).want(t, 200, "")
			e.call("POST", "/api/auth/logout", "", map[string]string{"refresh_token": other.str("refresh_token")}).want(t, 204, "")
			e.refresh(other.str("refresh_token")).want(t, 401, "unauthorized")
			e.call("POST", "/api/auth/logout", "", map[string]string{"refresh_token": "unknown"}).want(t, 204, "")
			e.call("POST", "/api/auth/logout", "", `{}`).want(t, 400, "bad_request")
			e.call("POST", "/api/auth/logout", "", `{"everywhere":true}`).want(t, 401, "unauthorized")
		})

		t.Run("logout everywhere", func(t *testing.T) {
			e.register("eve@example.com", "everywhere1", "eve").want(t, 201, "")
			a := e.login("eve@example.com", "everywhere1").want(t, 200, "")
			b := e.login("eve@example.com", "everywhere1").want(t, 200, "")
			id := a.account()["id"].(string)
			e.call("POST", "/api/auth/logout", a.str("access_token"), `{"everywhere":true}`).want(t, 204, "")
			if got := e.revocations(); len(got) == 0 || got[len(got)-1] != (revocation{id, RevokedSignedOut}) {
				t.Fatalf("OnRevoke calls %v, want the last for %s signed out", got, id)
			}
			// Both sessions end at once, with no wait for their expiry.
			e.authFails(a.str("access_token"), ErrRevoked)
			e.authFails(b.str("access_token"), ErrInvalidToken)
			e.refresh(a.str("refresh_token")).want(t, 401, "")
			e.refresh(b.str("refresh_token")).want(t, 401, "")
			e.call("GET", "/api/me", b.str("access_token"), nil).want(t, 401, "unauthorized")
			// A sign-in right after, in the same second, works.
			c := e.login("eve@example.com", "everywhere1").want(t, 200, "")
			e.authOK(c.str("access_token"), id)
		})

		t.Run("link a guest", func(t *testing.T) {
			g := e.guest("")
			id := g.account()["id"].(string)
			body := map[string]string{"email": "Gus@example.com", "password": "guest no more"}
			e.call("POST", "/api/auth/link", "", body).want(t, 401, "unauthorized")
			l := e.call("POST", "/api/auth/link", g.str("access_token"), body).want(t, 200, "")
			if l.account()["id"] != id || l.account()["guest"] != false || l.account()["email"] != "Gus@example.com" {
				t.Fatalf("linked %s, guest %s", l.body, g.body)
			}
			e.login("gus@example.com", "guest no more").want(t, 200, "")
			e.call("POST", "/api/auth/link", l.str("access_token"), map[string]string{"email": "x@example.com", "password": "whatever1"}).
				want(t, 409, "already_linked")
			g2 := e.guest("")
			e.call("POST", "/api/auth/link", g2.str("access_token"), map[string]string{"email": "GUS@example.com", "password": "whatever1"}).
				want(t, 409, "email_taken")
			e.call("POST", "/api/auth/link", g2.str("access_token"), map[string]string{"email": "nope", "password": "whatever1"}).
				want(t, 400, "bad_request")
		})

		t.Run("rename", func(t *testing.T) {
			g := e.guest("")
			tok := g.str("access_token")
			me := e.call("PATCH", "/api/me", tok, map[string]string{"name": "Renamed"}).want(t, 200, "")
			if me.str("name") != "Renamed" {
				t.Fatalf("renamed %s", me.body)
			}
			other := e.guest("")
			e.call("PATCH", "/api/me", other.str("access_token"), map[string]string{"name": "renamed"}).want(t, 409, "name_taken")
			e.call("PATCH", "/api/me", other.str("access_token"), map[string]string{"name": ""}).want(t, 400, "bad_request")
			e.call("PATCH", "/api/me", other.str("access_token"), map[string]string{"name": "\x00"}).want(t, 400, "bad_request")
			e.call("PATCH", "/api/me", "", map[string]string{"name": "x"}).want(t, 401, "unauthorized")
		})

		t.Run("password change ends other sessions", func(t *testing.T) {
			e.register("pat@example.com", "first password", "pat").want(t, 201, "")
			a := e.login("pat@example.com", "first password").want(t, 200, "")
			b := e.login("pat@example.com", "first password").want(t, 200, "")
			id := a.account()["id"].(string)
			e.call("POST", "/api/me/password", a.str("access_token"), map[string]string{"password": "wrong password", "new_password": "second password"}).
				want(t, 401, "bad_credentials")
			e.call("POST", "/api/me/password", a.str("access_token"), map[string]string{"password": "first password", "new_password": "short"}).
				want(t, 400, "bad_request")
			before := len(e.revocations())
			n := e.call("POST", "/api/me/password", a.str("access_token"), map[string]string{"password": "first password", "new_password": "second password"}).
				want(t, 200, "")
			if got := e.revocations(); len(got) != before+1 || got[before] != (revocation{id, RevokedSignedOut}) {
				t.Fatalf("OnRevoke calls %v", got[before:])
			}
			e.authFails(b.str("access_token"), ErrRevoked)
			e.refresh(b.str("refresh_token")).want(t, 401, "")
			e.authOK(n.str("access_token"), id)
			e.refresh(n.str("refresh_token")).want(t, 200, "")
			e.login("pat@example.com", "first password").want(t, 401, "bad_credentials")
			e.login("pat@example.com", "second password").want(t, 200, "")
			g := e.guest("")
			e.call("POST", "/api/me/password", g.str("access_token"), map[string]string{"password": "anything at all", "new_password": "second password"}).
				want(t, 409, "no_password")
		})

		t.Run("export", func(t *testing.T) {
			r := e.register("exp@example.com", "export me please", "exporter").want(t, 201, "")
			err := e.db.Audit(context.Background(), store.AuditEntry{At: time.Now(), Actor: "admin", Action: "warn",
				AccountID: r.account()["id"].(string), Detail: "be nice"})
			if err != nil {
				t.Fatal(err)
			}
			x := e.call("GET", "/api/me/export", r.str("access_token"), nil).want(t, 200, "")
			if cd := x.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
				t.Errorf("Content-Disposition %q", cd)
			}
			acc, _ := x.json["account"].(map[string]any)
			if acc["email"] != "exp@example.com" || acc["name"] != "exporter" || x.json["has_password"] != true ||
				!strings.Contains(string(x.body), `"detail":"be nice"`) {
				t.Fatalf("export %s", x.body)
			}
			for _, secret := range []string{"argon2", r.str("refresh_token"), r.str("access_token"), "export me please"} {
				if bytes.Contains(x.body, []byte(secret)) {
					t.Fatalf("export holds %q: %s", secret, x.body)
				}
			}
		})

		t.Run("delete", func(t *testing.T) {
			g := e.guest("Doomed")
			id := g.account()["id"].(string)
			e.call("DELETE", "/api/me", g.str("access_token"), nil).want(t, 204, "")
			if got := e.revocations(); got[len(got)-1] != (revocation{id, RevokedDeleted}) {
				t.Fatalf("OnRevoke calls %v", got)
			}
			if got := e.published(); got[len(got)-1] != (revocation{id, RevokedDeleted}) {
				t.Fatalf("Publish calls %v", got)
			}
			e.authFails(g.str("access_token"), ErrRevoked)
			e.refresh(g.str("refresh_token")).want(t, 401, "")
			// The name is free again.
			e.guest("doomed")
			if _, err := e.db.AccountByID(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("deleted account: %v", err)
			}
		})

		t.Run("bodies and tokens refused", func(t *testing.T) {
			big := `{"name":"` + strings.Repeat("x", 5000) + `"}`
			e.call("POST", "/api/auth/guest", "", big).want(t, 413, "too_large")
			for _, body := range []string{`{"email":"a@b","email":"c@d","password":"12345678"}`,
				`{"email":"a@b","EMAIL":"c@d","password":"12345678"}`, `{"email":"a@b","password":"12345678","extra":1}`,
				`{"email":"a@b","password":"12345678"} {}`, `not json`, `[]`, `{"email":1}`, ``} {
				a := e.call("POST", "/api/auth/login", "", body).want(t, 400, "bad_request")
				if a.str("message") == "" {
					t.Errorf("%s: no message", body)
				}
			}
			for _, tok := range []string{"", "garbage", "a.b.c"} {
				e.call("GET", "/api/me", tok, nil).want(t, 401, "unauthorized")
			}
			e.call("GET", "/api/me", "", nil, "Authorization", "Basic Zm9vOmJhcg==").want(t, 401, "unauthorized")
			e.call("POST", "/api/auth/external", "", `{"token":"x"}`).want(t, 404, "not_configured")
		})

		t.Run("logs hold no email, password or token", func(t *testing.T) {
			logs := e.logs.String()
			if !strings.Contains(logs, "account created") {
				t.Fatalf("nothing logged: %q", logs)
			}
			// Every email of the suite is at example.com; JWTs start eyJ;
			// refresh tokens hold a dot after a 26-character family ID.
			for _, secret := range []string{"example.com", "eyJ", "horse", "first password", "second password", "everywhere1", "guest no more"} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds %q:\n%s", secret, logs)
				}
			}
		})
	})
}

// TestBanBySanctionsPoll bans an account in the store, as another node's
// admin would, and sees this node refuse it after a poll.
func TestBanBySanctionsPoll(t *testing.T) {
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		ctx := context.Background()
		// The test polls; the background does not.
		e := newEnv(t, openDB(t, url(t)), Config{pollEvery: time.Hour})
		e.register("ban@example.com", "banned soon", "bannable").want(t, 201, "")
		s := e.login("ban@example.com", "banned soon").want(t, 200, "")
		id := s.account()["id"].(string)
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		if err := e.db.Ban(ctx, id, until, "cheating"); err != nil {
			t.Fatal(err)
		}
		e.authOK(s.str("access_token"), id) // not polled yet
		if err := e.svc.pollSanctions(ctx, true); err != nil {
			t.Fatal(err)
		}
		err := e.authFails(s.str("access_token"), ErrBanned)
		var ban *BanError
		if !errors.As(err, &ban) || ban.Reason != "cheating" || !ban.Until.Equal(until) {
			t.Fatalf("ban error %#v", err)
		}
		if got := e.revocations(); len(got) != 1 || got[0] != (revocation{id, RevokedBanned}) {
			t.Fatalf("OnRevoke calls %v", got)
		}
		// Polling again is no news.
		if err := e.svc.pollSanctions(ctx, true); err != nil || len(e.revocations()) != 1 {
			t.Fatalf("second poll: %v, OnRevoke calls %v", err, e.revocations())
		}
		l := e.login("ban@example.com", "banned soon").want(t, 403, "banned")
		if !strings.Contains(l.str("message"), "cheating") || !strings.Contains(l.str("message"), until.Format(time.RFC3339)) {
			t.Fatalf("ban message %q", l.str("message"))
		}
		e.refresh(s.str("refresh_token")).want(t, 403, "banned")
		// A wrong password is not told of the ban.
		e.login("ban@example.com", "not the password").want(t, 401, "bad_credentials")

		if err := e.db.Unban(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.pollSanctions(ctx, true); err != nil {
			t.Fatal(err)
		}
		e.authOK(s.str("access_token"), id)
		// The refresh refused during the ban did not spend the token: the
		// same one works now, and the next after it.
		r := e.refresh(s.str("refresh_token")).want(t, 200, "")
		e.authOK(r.str("access_token"), id)
		e.refresh(r.str("refresh_token")).want(t, 200, "")
	})
}

// TestABannedGuestKeepsItsAccount: a guest's refresh token is its only
// key to its account. A refresh refused for a ban must not spend it, or
// the unbanned guest would find the token "reused" and the account lost.
func TestABannedGuestKeepsItsAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		ctx := context.Background()
		e := newEnv(t, openDB(t, url(t)), Config{pollEvery: time.Hour})
		g := e.guest("").want(t, 201, "")
		id := g.account()["id"].(string)
		if err := e.db.Ban(ctx, id, time.Now().Add(time.Hour), "spam"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ { // refused as often as the page retries
			e.refresh(g.str("refresh_token")).want(t, 403, "banned")
		}
		if err := e.db.Unban(ctx, id); err != nil {
			t.Fatal(err)
		}
		r := e.refresh(g.str("refresh_token")).want(t, 200, "")
		if got := r.account()["id"]; got != id {
			t.Fatalf("after the unban, the refresh signed in %v; want the guest's account %s", got, id)
		}
		e.authOK(r.str("access_token"), id)
		// Reuse detection is intact: the token just spent, presented again,
		// ends the family.
		e.refresh(g.str("refresh_token")).want(t, 401, "refresh_reused")
		e.refresh(r.str("refresh_token")).want(t, 401, "unauthorized")
	})
}

// TestRecheck: news from another node names an account, and the node
// reads from the store what became of it: a sign-out everywhere or a ban
// voids its tokens, and closes its live connections once; a deletion,
// which leaves no row to poll, at once.
func TestRecheck(t *testing.T) {
	e := newEnv(t, openDB(t, backends[0].url(t)), Config{})
	ctx := context.Background()
	g := e.guest("")
	id := g.account()["id"].(string)
	if err := e.db.RevokeSessions(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.svc.Recheck(ctx, id)
	waitFor(t, "the sign-out", func() bool {
		_, err := e.svc.Authenticate(ctx, g.str("access_token"))
		return errors.Is(err, ErrRevoked)
	})
	e.svc.Recheck(ctx, id) // the same news again: nothing new
	waitFor(t, "one OnRevoke", func() bool { return len(e.revocations()) == 1 })
	if got := e.revocations(); got[0] != (revocation{id, RevokedSignedOut}) {
		t.Fatalf("OnRevoke calls %v", got)
	}
	// A ban: refused with its reason and end.
	g2 := e.guest("")
	id2 := g2.account()["id"].(string)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := e.db.Ban(ctx, id2, until, "griefing"); err != nil {
		t.Fatal(err)
	}
	e.svc.Recheck(ctx, id2)
	waitFor(t, "the ban's reason", func() bool {
		var ban *BanError
		_, err := e.svc.Authenticate(ctx, g2.str("access_token"))
		return errors.As(err, &ban) && ban.Reason == "griefing" && ban.Until.Equal(until)
	})
	// A deletion: void at once.
	g3 := e.guest("")
	id3 := g3.account()["id"].(string)
	if err := e.db.DeleteAccount(ctx, id3); err != nil {
		t.Fatal(err)
	}
	e.svc.Recheck(ctx, id3)
	e.authFails(g3.str("access_token"), ErrRevoked)
}

// clock is a settable time for tests of expiry and rotation.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func kid(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	var h struct{ Kid string }
	b, err := jsonB64(head)
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Fatalf("token header %q", head)
	}
	return h.Kid
}

// TestKeyRotation: a rotated key keeps verifying until the tokens it
// signed expire, and another node on the same store verifies tokens this
// one issued, with keys made after it started.
func TestKeyRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		ctx := context.Background()
		db := openDB(t, url(t))
		c := &clock{t: time.Now()}
		cfg := Config{AccessTTL: 15 * time.Minute, KeyRotation: 5 * time.Minute, now: c.now}
		a := newEnv(t, db, cfg)
		first := a.guest("")
		id := first.account()["id"].(string)

		c.add(6 * time.Minute)
		if err := a.svc.rotateKeys(ctx); err != nil {
			t.Fatal(err)
		}
		second := a.guest("")
		if kid(t, first.str("access_token")) == kid(t, second.str("access_token")) {
			t.Fatal("a new key was not made after KeyRotation")
		}
		a.authOK(first.str("access_token"), id) // the old key still verifies

		// Another node: it loads the ring at start.
		b := newEnv(t, db, cfg)
		b.authOK(first.str("access_token"), id)
		b.authOK(second.str("access_token"), second.account()["id"].(string))

		// The first node rotates again; the other learns the new key from
		// the store on first sight of it.
		c.add(6 * time.Minute)
		if err := a.svc.rotateKeys(ctx); err != nil {
			t.Fatal(err)
		}
		third := a.guest("")
		b.authOK(third.str("access_token"), third.account()["id"].(string))

		// Past its expiry the first token fails, and its key goes.
		c.add(10 * time.Minute)
		a.authFails(first.str("access_token"), ErrExpiredToken)
		if err := a.svc.rotateKeys(ctx); err != nil {
			t.Fatal(err)
		}
		keys, err := db.SigningKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.ID == kid(t, first.str("access_token")) {
				t.Fatal("the first key outlived every token it signed")
			}
		}
		a.authOK(third.str("access_token"), third.account()["id"].(string))
	})
}

// TestThrottling: each endpoint is throttled per address, and failed
// logins per account from any address; all answer 429 with Retry-After.
func TestThrottling(t *testing.T) {
	tight := Limit{Burst: 2, Every: time.Hour}
	e := newEnv(t, openDB(t, backends[0].url(t)), Config{Limits: Limits{
		Login: tight, Register: tight, Refresh: tight, Guest: tight, External: tight, Account: tight,
	}})
	check := func(a answer) {
		t.Helper()
		a.want(t, 429, "throttled")
		if n, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || n < 1 {
			t.Fatalf("Retry-After %q", a.header.Get("Retry-After"))
		}
	}
	for range 2 {
		e.call("POST", "/api/auth/guest", "", nil, "X-Test-Addr", "10.0.0.1").want(t, 201, "")
	}
	check(e.call("POST", "/api/auth/guest", "", nil, "X-Test-Addr", "10.0.0.1"))
	e.call("POST", "/api/auth/guest", "", nil, "X-Test-Addr", "10.0.0.2").want(t, 201, "")

	for range 2 {
		e.call("POST", "/api/auth/refresh", "", `{"refresh_token":"x"}`, "X-Test-Addr", "10.0.0.3").want(t, 401, "")
	}
	check(e.call("POST", "/api/auth/refresh", "", `{"refresh_token":"x"}`, "X-Test-Addr", "10.0.0.3"))
	for range 2 {
		e.call("POST", "/api/auth/register", "", `{}`, "X-Test-Addr", "10.0.0.4").want(t, 400, "")
	}
	check(e.call("POST", "/api/auth/register", "", `{}`, "X-Test-Addr", "10.0.0.4"))
	for range 2 {
		e.call("POST", "/api/auth/external", "", `{}`, "X-Test-Addr", "10.0.0.5").want(t, 404, "")
	}
	check(e.call("POST", "/api/auth/external", "", `{}`, "X-Test-Addr", "10.0.0.5"))
	for range 2 {
		e.login("x@example.com", "whatever1", "X-Test-Addr", "10.0.0.6").want(t, 401, "")
	}
	check(e.login("y@example.com", "whatever1", "X-Test-Addr", "10.0.0.6"))

	// Per account: wrong passwords from ever new addresses.
	e.call("POST", "/api/auth/register", "", map[string]string{"email": "vic@example.com", "password": "the password", "name": "vic"},
		"X-Test-Addr", "10.0.1.0").want(t, 201, "")
	for i := range 2 {
		e.login("vic@example.com", "a guess!", "X-Test-Addr", "10.0.2."+strconv.Itoa(i)).want(t, 401, "bad_credentials")
	}
	check(e.login("VIC@example.com", "the password", "X-Test-Addr", "10.0.3.0"))
}

// TestDatabaseDown: with the store gone, the API answers 503 with a clear
// message, and tokens already issued still authenticate joins. The store
// is closed under the Service: SQLite's file and Postgres's pool alike
// then fail every query, as a database that went away does.
func TestDatabaseDown(t *testing.T) {
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		db := openDB(t, url(t))
		e := newEnv(t, db, Config{})
		e.register("down@example.com", "database down", "down").want(t, 201, "")
		g := e.guest("")
		id := g.account()["id"].(string)
		db.Close()

		e.authOK(g.str("access_token"), id)
		for _, a := range []answer{
			e.login("down@example.com", "database down"),
			e.call("POST", "/api/auth/guest", "", nil),
			e.register("new@example.com", "database down", ""),
			e.refresh(g.str("refresh_token")),
			e.call("GET", "/api/me", g.str("access_token"), nil),
			e.call("POST", "/api/auth/logout", g.str("access_token"), `{"everywhere":true}`),
		} {
			a.want(t, 503, "unavailable")
			if a.str("message") != unavailableMsg || a.header.Get("Retry-After") != "5" {
				t.Fatalf("answer %s, Retry-After %q", a.body, a.header.Get("Retry-After"))
			}
		}
		if err := e.svc.pollSanctions(context.Background(), true); err == nil {
			t.Fatal("a poll of a closed store succeeded")
		}
		e.authOK(g.str("access_token"), id)
	})
}

// TestMicroTime: "iat" keeps the microsecond, both ways.
func TestMicroTime(t *testing.T) {
	at := time.Date(2026, 12, 8, 3, 4, 5, 123456000, time.UTC)
	b, err := json.Marshal(microTime{at})
	if err != nil || string(b) != "1796699045.123456" {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var got microTime
	if err := json.Unmarshal(b, &got); err != nil || !got.Equal(at) {
		t.Fatalf("unmarshal: %v, %v", got, err)
	}
	for _, in := range []string{"1796699045", "1796699045.1", "1796699045.123456789"} {
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	for _, in := range []string{`"1"`, "-1", "1.", "1e9", "1.1234567890", "null", "1.-5"} {
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s read as %v", in, got)
		}
	}
}

func jsonB64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTwoNodes: a sign-out everywhere and a ban made on one node reach
// another sharing the store through its own background poll, with no
// broadcast: its joins refuse the tokens and its live connections close.
func TestTwoNodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		db := openDB(t, url(t))
		cfg := Config{pollEvery: 20 * time.Millisecond}
		a, b := newEnv(t, db, cfg), newEnv(t, db, cfg)
		g := a.guest("")
		id := g.account()["id"].(string)
		b.authOK(g.str("access_token"), id)

		b.call("POST", "/api/auth/logout", g.str("access_token"), `{"everywhere":true}`).want(t, 204, "")
		b.authFails(g.str("access_token"), ErrRevoked) // at once where it was made
		if got := b.published(); len(got) != 1 || got[0] != (revocation{id, RevokedSignedOut}) {
			t.Fatalf("node b published %v", got)
		}
		waitFor(t, "node a to hear of the sign-out", func() bool {
			got := a.revocations()
			return len(got) == 1 && got[0] == (revocation{id, RevokedSignedOut})
		})
		a.authFails(g.str("access_token"), ErrRevoked)

		h := b.guest("")
		hid := h.account()["id"].(string)
		if err := db.Ban(context.Background(), hid, time.Now().Add(time.Hour), "spam"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "node a to hear of the ban", func() bool {
			got := a.revocations()
			return len(got) == 2 && got[1] == (revocation{hid, RevokedBanned})
		})
		a.authFails(h.str("access_token"), ErrBanned)
		// What a node learns from others it does not publish again.
		if got := a.published(); len(got) != 0 {
			t.Fatalf("node a published %v", got)
		}
	})
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, openDB(t, backends[0].url(t)), Config{})
	e.call("GET", "/api/auth/guest", "", nil).want(t, 405, "")
	e.call("GET", "/api/auth/nothing", "", nil).want(t, 404, "")
}

// BenchmarkAuthenticate is the cost a join with an access token adds: a
// signature, the claims and a map lookup, with no database round trip.
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b, openDB(b, "sqlite:"+filepath.Join(b.TempDir(), "bench.db")), Config{})
	g := e.guest("")
	token := g.str("access_token")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.Authenticate(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}
