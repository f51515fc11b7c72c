package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/logbuf"
	"github.com/arena-server/arena/internal/pgtest"
	"github.com/arena-server/arena/store"
)

// adminBackends gives each test a fresh database of each kind: an SQLite
// file and a database on a real PostgreSQL server.
var adminBackends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "arena.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DB(t) }},
}

const testAdminToken = "admin-s3cret"

// node is one node's accounts on a shared database.
type node struct {
	s       *Service
	revoked chan revocation
}

func startNode(t *testing.T, dbURL string, log io.Writer) *node {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := &node{revoked: make(chan revocation, 100)}
	n.s, err = New(ctx, Config{
		DB:       db,
		Log:      slog.New(slog.NewTextHandler(log, nil)),
		OnRevoke: func(id string, why Revocation) { n.revoked <- revocation{id, why} },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.s.Close)
	return n
}

// expectRevoked checks that OnRevoke was called for account, why. The
// node's own actions call it before they answer, so it is there already.
func (n *node) expectRevoked(t *testing.T, account string, why Revocation, wait time.Duration) {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		var r revocation
		select { // what is there already first: a select picks at random
		case r = <-n.revoked:
		default:
			select {
			case r = <-n.revoked:
			case <-timer.C:
				t.Fatalf("OnRevoke(%s, %v) not called within %v", account, why, wait)
			}
		}
		if r.account == account && r.why == why {
			return
		}
	}
}

// adminEnv is a node serving the player API and the admin API (behind a
// bearer check standing in for the server's requireAdmin) on a real
// socket, and a second node on the same database.
type adminEnv struct {
	t      *testing.T
	url    string
	a, b   *node
	log    *logbuf.Buffer
	client *http.Client
}

func newAdminEnv(t *testing.T, dbURL string) *adminEnv {
	log := new(logbuf.Buffer)
	e := &adminEnv{t: t, a: startNode(t, dbURL, log), b: startNode(t, dbURL, log), log: log, client: &http.Client{Timeout: 30 * time.Second}}
	admin := e.a.s.AdminHandler()
	mux := http.NewServeMux()
	mux.Handle("/api/", e.a.s.Handler())
	mux.Handle("/admin/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testAdminToken {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		admin.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// in is e for a subtest: its failures are the subtest's.
func (e *adminEnv) in(t *testing.T) *adminEnv {
	c := *e
	c.t = t
	return &c
}

// call makes a request and decodes a JSON answer into out (if not nil),
// returning the status and the raw body.
func (e *adminEnv) call(method, path, body string, admin bool, out any) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

// must makes a request that must answer want.
func (e *adminEnv) must(want int, method, path, body string, admin bool, out any) {
	e.t.Helper()
	if got, raw := e.call(method, path, body, admin, out); got != want {
		e.t.Fatalf("%s %s %s: HTTP %d %s; want %d", method, path, body, got, raw, want)
	}
}

func (e *adminEnv) guest(name string) Session {
	var s Session
	e.must(http.StatusCreated, "POST", "/api/auth/guest", fmt.Sprintf(`{"name":%q}`, name), false, &s)
	return s
}

type accountAnswer struct {
	Account AdminAccount      `json:"account"`
	Audit   []AdminAuditEntry `json:"audit"`
}

func (e *adminEnv) find(q string) []AdminAccount {
	e.t.Helper()
	var out struct {
		Accounts []AdminAccount `json:"accounts"`
	}
	e.must(http.StatusOK, "GET", "/admin/api/accounts?q="+q, "", true, &out)
	return out.Accounts
}

func (e *adminEnv) auditOf(account string) []AdminAuditEntry {
	e.t.Helper()
	var out struct {
		Audit []AdminAuditEntry `json:"audit"`
	}
	e.must(http.StatusOK, "GET", "/admin/api/audit?account="+account, "", true, &out)
	return out.Audit
}

// eventually polls f every 20 ms until it returns nil, and fails the test
// with f's last error if that takes longer than within.
func eventually(t *testing.T, within time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// otherNode is how long another node may take to learn of a sanction: its
// next poll, with room for a loaded machine.
const otherNode = 3 * pollEvery

func names(as []AdminAccount) string {
	var ns []string
	for _, a := range as {
		ns = append(ns, a.Name)
	}
	return strings.Join(ns, ",")
}

func TestAdminAPI(t *testing.T) {
	for _, b := range adminBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			testAdminAPI(t, b.url(t))
		})
	}
}

func testAdminAPI(t *testing.T, dbURL string) {
	e := newAdminEnv(t, dbURL)
	ctx := context.Background()
	alice := e.guest("Alice")
	var bob Session
	e.must(http.StatusCreated, "POST", "/api/auth/register", `{"email":"Bob@Example.com","password":"correct horse battery","name":"Bob"}`, false, &bob)
	carol := e.guest("Carol")

	t.Run("find", func(t *testing.T) {
		e := e.in(t)
		if got := names(e.find("")); got != "Carol,Bob,Alice" {
			t.Errorf("all accounts: %s; want the newest first", got)
		}
		if got := names(e.find("ali")); got != "Alice" {
			t.Errorf("q=ali: %s", got)
		}
		got := e.find("EXAMPLE.COM")
		if len(got) != 1 || got[0].Name != "Bob" || got[0].Email != "Bob@Example.com" || got[0].Guest {
			t.Errorf("q=EXAMPLE.COM: %+v; want Bob, with his email, no guest", got)
		}
		if got := e.find(carol.Account.ID); len(got) != 1 || got[0].ID != carol.Account.ID {
			t.Errorf("q=Carol's ID: %+v", got)
		}
		var out struct {
			Accounts []AdminAccount `json:"accounts"`
		}
		e.must(http.StatusOK, "GET", "/admin/api/accounts?limit=2", "", true, &out)
		if got := names(out.Accounts); got != "Carol,Bob" {
			t.Errorf("limit=2: %s", got)
		}
		a := e.find("Alice")[0]
		if !a.Guest || a.Banned || a.BannedUntil != nil || a.BanReason != "" || a.SessionsRevokedAt != nil || a.CreatedAt.IsZero() {
			t.Errorf("Alice: %+v; want a guest, never banned nor signed out", a)
		}
		var one accountAnswer
		e.must(http.StatusOK, "GET", "/admin/api/accounts/"+alice.Account.ID, "", true, &one)
		if one.Account.ID != alice.Account.ID || one.Account.Name != "Alice" || one.Audit == nil || len(one.Audit) != 0 {
			t.Errorf("Alice's page: %+v; want her, with an empty audit log", one)
		}
	})

	id := alice.Account.ID
	t.Run("ban holds at once here and within a poll on another node", func(t *testing.T) {
		e := e.in(t)
		var got accountAnswer
		before := time.Now()
		e.must(http.StatusOK, "POST", "/admin/api/accounts/"+id+"/ban", `{"reason":"cheating","duration":"1h"}`, true, &got)
		if a := got.Account; !a.Banned || a.BanPermanent || a.BanReason != "cheating" || a.BannedUntil == nil ||
			a.BannedUntil.Before(before.Add(time.Hour-time.Second)) || a.BannedUntil.After(time.Now().Add(time.Hour)) {
			t.Errorf("after the ban: %+v; want banned for an hour for cheating", a)
		}
		_, err := e.a.s.Authenticate(ctx, alice.AccessToken)
		var ban *BanError
		if !errors.As(err, &ban) || ban.Reason != "cheating" {
			t.Errorf("this node's Authenticate at once: %v; want banned for cheating", err)
		}
		e.a.expectRevoked(t, id, RevokedBanned, 0)
		// (Her refresh token is not tried while she is banned: a refused
		// refresh spends it, and the unban below would find it spent. A
		// refresh while banned is tried on Carol's below.)
		eventually(t, otherNode, func() error {
			if _, err := e.b.s.Authenticate(ctx, alice.AccessToken); !errors.Is(err, ErrBanned) {
				return fmt.Errorf("the other node's Authenticate: %v; want banned", err)
			}
			return nil
		})
		e.b.expectRevoked(t, id, RevokedBanned, otherNode)
		if _, err := e.a.s.Authenticate(ctx, bob.AccessToken); err != nil {
			t.Errorf("Bob, not banned: %v", err)
		}
	})

	t.Run("unban restores", func(t *testing.T) {
		e := e.in(t)
		var got accountAnswer
		e.must(http.StatusOK, "POST", "/admin/api/accounts/"+id+"/unban", `{"reason":"appeal upheld"}`, true, &got)
		if got.Account.Banned {
			t.Errorf("after the unban: %+v", got.Account)
		}
		if _, err := e.a.s.Authenticate(ctx, alice.AccessToken); err != nil {
			t.Errorf("this node's Authenticate at once: %v", err)
		}
		eventually(t, otherNode, func() error {
			_, err := e.b.s.Authenticate(ctx, alice.AccessToken)
			return err
		})
		var next Session
		e.must(http.StatusOK, "POST", "/api/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, alice.RefreshToken), false, &next)
		alice.RefreshToken = next.RefreshToken
	})

	t.Run("revoke voids access and refresh tokens", func(t *testing.T) {
		e := e.in(t)
		var got accountAnswer
		e.must(http.StatusOK, "POST", "/admin/api/accounts/"+id+"/revoke", "", true, &got)
		if got.Account.SessionsRevokedAt == nil {
			t.Errorf("after the revoke: %+v; want when", got.Account)
		}
		if _, err := e.a.s.Authenticate(ctx, alice.AccessToken); !errors.Is(err, ErrRevoked) {
			t.Errorf("this node's Authenticate at once: %v; want revoked", err)
		}
		e.a.expectRevoked(t, id, RevokedSignedOut, 0)
		if code, raw := e.call("POST", "/api/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, alice.RefreshToken), false, nil); code != http.StatusUnauthorized {
			t.Errorf("refresh after the revoke: HTTP %d %s; want 401", code, raw)
		}
		eventually(t, otherNode, func() error {
			if _, err := e.b.s.Authenticate(ctx, alice.AccessToken); !errors.Is(err, ErrRevoked) {
				return fmt.Errorf("the other node's Authenticate: %v; want revoked", err)
			}
			return nil
		})
		if _, err := e.a.s.Authenticate(ctx, carol.AccessToken); err != nil {
			t.Errorf("Carol, not revoked: %v", err)
		}
	})

	t.Run("every action is in the audit log", func(t *testing.T) {
		e := e.in(t)
		log := e.auditOf(id)
		var got []string
		for _, x := range log {
			var d struct {
				Reason string    `json:"reason"`
				Until  time.Time `json:"until"`
			}
			if err := json.Unmarshal(x.Detail, &d); err != nil {
				t.Errorf("entry %d's detail %s: %v", x.ID, x.Detail, err)
			}
			got = append(got, x.Action+":"+d.Reason)
			if x.Actor != "admin@127.0.0.1" || x.AccountID != id || x.At.IsZero() {
				t.Errorf("entry %+v; want actor admin@127.0.0.1, account %s, a time", x, id)
			}
			if x.Action == AuditBan && (d.Until.IsZero() || d.Until.Before(x.At.Add(59*time.Minute))) {
				t.Errorf("the ban's entry has until %v; want an hour after %v", d.Until, x.At)
			}
		}
		if want := "revoke_sessions:,unban:appeal upheld,ban:cheating"; strings.Join(got, ",") != want {
			t.Errorf("Alice's audit log: %s; want %s, newest first", strings.Join(got, ","), want)
		}
		var one accountAnswer
		e.must(http.StatusOK, "GET", "/admin/api/accounts/"+id, "", true, &one)
		if len(one.Audit) != 3 {
			t.Errorf("Alice's page has %d audit entries; want 3", len(one.Audit))
		}
		var all struct {
			Audit []AdminAuditEntry `json:"audit"`
		}
		e.must(http.StatusOK, "GET", "/admin/api/audit?limit=2", "", true, &all)
		if len(all.Audit) != 2 || all.Audit[0].Action != AuditRevoke {
			t.Errorf("the whole log, limit 2: %+v; want the 2 newest", all.Audit)
		}
	})

	t.Run("permanent and dated bans", func(t *testing.T) {
		e := e.in(t)
		bid := bob.Account.ID
		var got accountAnswer
		e.must(http.StatusOK, "POST", "/admin/api/accounts/"+bid+"/ban", `{"reason":"  spam  "}`, true, &got)
		if a := got.Account; !a.Banned || !a.BanPermanent || a.BannedUntil == nil || !a.BannedUntil.Equal(Forever) || a.BanReason != "spam" {
			t.Errorf("a ban with no end: %+v; want permanent, until %v, for spam", a, Forever)
		}
		if code, raw := e.call("POST", "/api/auth/login", `{"email":"bob@example.com","password":"correct horse battery"}`, false, nil); code != http.StatusForbidden {
			t.Errorf("login while banned for good: HTTP %d %s; want 403", code, raw)
		}
		until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		e.must(http.StatusOK, "POST", "/admin/api/accounts/"+bid+"/ban",
			fmt.Sprintf(`{"reason":"spam, reduced","until":%q}`, until.Format(time.RFC3339)), true, &got)
		if a := got.Account; !a.Banned || a.BanPermanent || a.BannedUntil == nil || !a.BannedUntil.Equal(until) {
			t.Errorf("a ban until %v: %+v", until, a)
		}
		_, err := e.a.s.Authenticate(ctx, bob.AccessToken)
		if ban := (*BanError)(nil); !errors.As(err, &ban) || !ban.Until.Equal(until) || ban.Reason != "spam, reduced" {
			t.Errorf("Authenticate after the ban is changed: %v; want its new end and reason", err)
		}
		e.must(http.StatusOK, "POST", "/admin/api/accounts/"+carol.Account.ID+"/ban", `{"reason":"griefing","duration":"7d"}`, true, &got)
		if d := time.Until(*got.Account.BannedUntil); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour {
			t.Errorf("a 7d ban ends in %v", d)
		}
		if code, raw := e.call("POST", "/api/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, carol.RefreshToken), false, nil); code != http.StatusForbidden || !strings.Contains(raw, "griefing") {
			t.Errorf("refresh while banned: HTTP %d %s; want 403 giving the reason", code, raw)
		}
		log := e.auditOf(bid)
		if len(log) != 2 || !strings.Contains(string(log[1].Detail), `"permanent":true`) {
			t.Errorf("Bob's audit log: %+v; want both bans, the first permanent", log)
		}
	})

	t.Run("bad input is refused with a clear message", func(t *testing.T) {
		e := e.in(t)
		ban := "/admin/api/accounts/" + id + "/ban"
		for _, c := range []struct {
			method, path, body string
			status             int
			says               string
		}{
			{"POST", ban, `{"until":"2099-01-01T00:00:00Z"}`, 400, "a reason is required"},
			{"POST", ban, `{"reason":"   "}`, 400, "a reason is required"},
			{"POST", ban, `{"reason":"` + strings.Repeat("x", 201) + `"}`, 400, "at most 200 printable"},
			{"POST", ban, `{"reason":"two\nlines"}`, 400, "printable characters on one line"},
			{"POST", ban, `{"reason":"sneaky \u202e"}`, 400, "printable"},
			{"POST", ban, `{"reason":"x","until":"tomorrow"}`, 400, "until is an RFC 3339 time"},
			{"POST", ban, `{"reason":"x","until":"2001-01-01T00:00:00Z"}`, 400, "must be in the future"},
			{"POST", ban, `{"reason":"x","until":"2099-01-01T00:00:00Z","duration":"1h"}`, 400, "not both"},
			{"POST", ban, `{"reason":"x","duration":"-1h"}`, 400, "positive Go duration"},
			{"POST", ban, `{"reason":"x","duration":"forever"}`, 400, "positive Go duration"},
			{"POST", ban, `{"reason":"x","duration":"0d"}`, 400, "positive Go duration"},
			{"POST", ban, `{"reason":"x","why":"y"}`, 400, "unknown field"},
			{"POST", ban, `{"reason":"x","Reason":"y"}`, 400, "not valid JSON"},
			{"POST", ban, `{"reason":"x"} {}`, 400, "more than one JSON value"},
			{"POST", ban, `{"reason":`, 400, "not"},
			{"POST", ban, ``, 400, "must be a JSON object"},
			{"POST", ban, `{"reason":"` + strings.Repeat("x", 5000) + `"}`, 413, "over 4096 bytes"},
			{"POST", "/admin/api/accounts/" + id + "/unban", `{"reason":"a\u0000b"}`, 400, "printable"},
			{"POST", "/admin/api/accounts/" + id + "/revoke", `[]`, 400, "not the JSON object expected"},
			{"POST", "/admin/api/accounts/no%20such/ban", `{"reason":"x"}`, 400, "an account ID is"},
			{"POST", "/admin/api/accounts/" + strings.Repeat("a", 65) + "/ban", `{"reason":"x"}`, 400, "an account ID is"},
			{"GET", "/admin/api/accounts?limit=0", "", 400, "limit is a whole number from 1 to 500"},
			{"GET", "/admin/api/accounts?limit=ten", "", 400, "limit is a whole number"},
			{"GET", "/admin/api/accounts?q=" + strings.Repeat("q", 255), "", 400, "q is at most 254 bytes"},
			{"GET", "/admin/api/audit?limit=1001", "", 400, "limit is a whole number from 1 to 1000"},
			{"GET", "/admin/api/audit?account=%3Cb%3E", "", 400, "an account ID is"},
			{"GET", "/admin/api/accounts/nobody", "", 404, "no account has that ID"},
			{"POST", "/admin/api/accounts/nobody/ban", `{"reason":"x"}`, 404, "no account has that ID"},
			{"POST", "/admin/api/accounts/nobody/unban", ``, 404, "no account has that ID"},
			{"POST", "/admin/api/accounts/nobody/revoke", ``, 404, "no account has that ID"},
		} {
			code, raw := e.call(c.method, c.path, c.body, true, nil)
			var msg struct{ Code, Message string }
			_ = json.Unmarshal([]byte(raw), &msg)
			if code != c.status || !strings.Contains(msg.Message, c.says) || msg.Code == "" {
				t.Errorf("%s %s %.60s: HTTP %d %s; want %d saying %q", c.method, c.path, c.body, code, raw, c.status, c.says)
			}
		}
		// None of them did anything.
		if log := e.auditOf(id); len(log) != 3 {
			t.Errorf("Alice's audit log has %d entries after refused requests; want 3", len(log))
		}
		if log := e.auditOf("nobody"); len(log) != 0 {
			t.Errorf("an unknown account has audit entries: %+v", log)
		}
		if code, _ := e.call("GET", "/admin/api/accounts", "", false, nil); code != http.StatusUnauthorized {
			t.Errorf("without the token: HTTP %d", code)
		}
	})

	t.Run("the log holds no email and no token", func(t *testing.T) {
		e := e.in(t)
		log := e.log.String()
		for _, secret := range []string{"Bob@Example.com", "bob@example.com", alice.AccessToken, alice.RefreshToken, bob.AccessToken, bob.RefreshToken} {
			if strings.Contains(log, secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
		if !strings.Contains(log, "admin action") {
			t.Errorf("the log has no admin actions:\n%s", log)
		}
	})
}
