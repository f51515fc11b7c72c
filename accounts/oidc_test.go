package accounts

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arena-server/arena/internal/logbuf"
	"github.com/arena-server/arena/internal/oidctest"
)

var alice = oidctest.User{Subject: "u-1", Name: "Alice", Email: "alice@example.com", EmailVerified: true}

// signInCall is what the OIDC handlers passed to signIn.
type signInCall struct{ issuer, subject, name, email string }

// fakeSignIn stands in for Service.SignInExternal: it records its
// arguments and answers a session shaped like Session.
type fakeSignIn struct {
	mu        sync.Mutex
	calls     []signInCall
	err       error
	refresh   string // the session's refresh token; "" is "ref-1"
	noRefresh bool   // answer a session without one
}

func (f *fakeSignIn) signIn(ctx context.Context, issuer, subject, name, email string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, signInCall{issuer, subject, name, email})
	if f.err != nil {
		return nil, f.err
	}
	session := map[string]any{
		"access_token":  "acc-1",
		"refresh_token": "ref-1",
		"expires_in":    900,
		"account":       map[string]any{"id": "acct-1", "name": name, "guest": false},
	}
	if f.refresh != "" {
		session["refresh_token"] = f.refresh
	}
	if f.noRefresh {
		delete(session, "refresh_token")
	}
	return session, nil
}

func (f *fakeSignIn) Calls() []signInCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]signInCall(nil), f.calls...)
}

// harness is a game server with OIDC sign-in and a provider for it.
type harness struct {
	t        *testing.T
	provider *oidctest.Provider
	oidc     *OIDC
	app      *httptest.Server
	fake     *fakeSignIn
	logs     *logbuf.Buffer
}

func newHarness(t *testing.T, clientSecret string) *harness {
	t.Helper()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	redirect := app.URL + OIDCCallbackPath
	p := oidctest.New(t, oidctest.Config{ClientID: "arena", ClientSecret: "s3cret", RedirectURIs: []string{redirect}, User: alice})
	h := &harness{t: t, provider: p, app: app, fake: &fakeSignIn{}, logs: &logbuf.Buffer{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := NewOIDC(ctx, OIDCConfig{
		Issuer: p.Issuer(), ClientID: "arena", ClientSecret: clientSecret, RedirectURL: redirect,
		Log: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}, h.fake.signIn)
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	o.Routes(mux)
	h.oidc = o
	return h
}

// browser is a cookie-keeping client that stops at each redirect, so
// that a test can see, and tamper with, every step.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches u and returns the answer with its body read.
func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// location returns a redirect's target, failing unless resp is a 302.
func location(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("%s: %s, want 302", resp.Request.URL.Path, resp.Status)
	}
	u, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// toCallback runs start and the provider's authorization in c, and
// returns the callback URL the provider sent it to, not yet visited.
func (h *harness) toCallback(c *http.Client) *url.URL {
	h.t.Helper()
	resp, _ := get(h.t, c, h.app.URL+OIDCStartPath)
	authURL := location(h.t, resp)
	resp, _ = get(h.t, c, authURL.String())
	return location(h.t, resp)
}

func TestOIDCSignIn(t *testing.T) {
	h := newHarness(t, "s3cret")
	// A client that follows redirects and keeps cookies is the browser.
	jar, _ := cookiejar.New(nil)
	resp, body := get(t, &http.Client{Jar: jar}, h.app.URL+OIDCStartPath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %s, want 200; body:\n%s", resp.Status, body)
	}
	if resp.Request.URL.Path != OIDCCallbackPath {
		t.Errorf("ended at %s, want the callback", resp.Request.URL)
	}
	want := signInCall{h.provider.Issuer(), alice.Subject, alice.Name, alice.Email}
	if calls := h.fake.Calls(); len(calls) != 1 || calls[0] != want {
		t.Errorf("signIn calls %+v, want [%+v]", calls, want)
	}

	// The provider was asked for an ID token, with a nonce, PKCE and a state.
	q := h.provider.LastAuthorization()
	if scope := strings.Fields(q.Get("scope")); !slices.Contains(scope, "openid") || !slices.Contains(scope, "email") || !slices.Contains(scope, "profile") {
		t.Errorf("scope %q, want openid email profile", q.Get("scope"))
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 32 {
			t.Errorf("%s %q: want at least 32 random characters", k, q.Get(k))
		}
	}
	if q.Get("code_challenge_method") != "S256" {
		t.Errorf("code_challenge_method %q, want S256", q.Get("code_challenge_method"))
	}

	// The answer hands the session to the page through a script its
	// policy allows, and nothing else.
	checkAnswerHeaders(t, resp)
	nonce := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]{32,})'`).FindStringSubmatch(resp.Header.Get("Content-Security-Policy"))
	if nonce == nil {
		t.Fatalf("policy %q allows no script by nonce", resp.Header.Get("Content-Security-Policy"))
	}
	for _, s := range []string{
		`<script nonce="` + nonce[1] + `">`,
		`localStorage.setItem("arena.refresh", "ref-1");`,
		`location.replace("/");`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("answer lacks %s:\n%s", s, body)
		}
	}
	// Only the refresh token: the page trades it for the rest.
	if strings.Contains(body, "acc-1") {
		t.Errorf("the answer holds the access token:\n%s", body)
	}
	if n := strings.Count(body, "<script"); n != 1 {
		t.Errorf("answer has %d scripts, want 1", n)
	}
	// The flow's cookie is gone from the browser, and its state from the server.
	u, _ := url.Parse(h.app.URL + OIDCCallbackPath)
	if cs := jar.Cookies(u); len(cs) != 0 {
		t.Errorf("cookies left after sign-in: %v", cs)
	}
	if n := h.oidc.pending.len(); n != 0 {
		t.Errorf("%d pending flows after sign-in, want 0", n)
	}
}

func checkAnswerHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	for k, want := range map[string]string{
		"Cache-Control":   "no-store",
		"Referrer-Policy": "no-referrer",
		"Content-Type":    "text/html; charset=utf-8",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("policy %q lacks %s", csp, d)
		}
	}
}

func TestOIDCStartCookie(t *testing.T) {
	h := newHarness(t, "s3cret")
	resp, _ := get(t, browser(t), h.app.URL+OIDCStartPath)
	target := location(t, resp)
	if !strings.HasPrefix(target.String(), h.provider.Issuer()+"/authorize?") {
		t.Errorf("start sent to %s, want the provider", target)
	}
	cs := resp.Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v, want one", cs)
	}
	c := cs[0]
	if c.Name != oidcCookie || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/api/auth/oidc" ||
		c.MaxAge <= 0 || c.MaxAge > 600 || c.Secure || len(c.Value) < 32 {
		t.Errorf("cookie %+v: want HttpOnly, Lax, the flow's path, at most 10 minutes, not Secure on http", c)
	}
	// Nothing secret rides in the URL but the state.
	for _, v := range target.Query() {
		for _, s := range v {
			if s == c.Value {
				t.Error("the cookie's ID is in the provider's URL")
			}
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("start: Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
}

// TestOIDCRefusals: every callback that is not the honest end of the flow
// this browser started is refused with a 400 page, and no account is
// signed in.
func TestOIDCRefusals(t *testing.T) {
	h := newHarness(t, "s3cret")
	type step func(t *testing.T, c *http.Client) (*http.Response, string)
	// callback runs the flow, lets edit change the callback, and visits it.
	callback := func(edit func(u *url.URL, c *http.Client) *http.Client) step {
		return func(t *testing.T, c *http.Client) (*http.Response, string) {
			u := h.toCallback(c)
			if edit != nil {
				c = edit(u, c)
			}
			return get(t, c, u.String())
		}
	}
	tamper := func(f func(map[string]any)) func() {
		return func() { h.provider.Tamper(f) }
	}
	for _, tc := range []struct {
		name  string
		setup func()
		run   step
		want  string // in the page
		// exchanges is how many token requests the callback should make:
		// a callback refused on its face never reaches the provider.
		exchanges int
	}{
		{name: "wrong state", exchanges: 0, want: "does not match",
			run: callback(func(u *url.URL, c *http.Client) *http.Client {
				q := u.Query()
				q.Set("state", "forged-"+q.Get("state"))
				u.RawQuery = q.Encode()
				return c
			})},
		{name: "no state", exchanges: 0, want: "does not match",
			run: callback(func(u *url.URL, c *http.Client) *http.Client {
				q := u.Query()
				q.Del("state")
				u.RawQuery = q.Encode()
				return c
			})},
		{name: "missing cookie", exchanges: 0, want: "another browser",
			run: callback(func(u *url.URL, c *http.Client) *http.Client { return browser(t) })},
		{name: "unknown cookie", exchanges: 0, want: "another browser",
			run: callback(func(u *url.URL, c *http.Client) *http.Client {
				c.Jar.SetCookies(u, []*http.Cookie{{Name: oidcCookie, Value: randomToken(), Path: "/api/auth/oidc"}})
				return c
			})},
		{name: "no code", exchanges: 0, want: "did not complete",
			run: callback(func(u *url.URL, c *http.Client) *http.Client {
				q := u.Query()
				q.Del("code")
				u.RawQuery = q.Encode()
				return c
			})},
		{name: "forged code", exchanges: 1, want: "did not confirm",
			run: callback(func(u *url.URL, c *http.Client) *http.Client {
				q := u.Query()
				q.Set("code", "forged")
				u.RawQuery = q.Encode()
				return c
			})},
		{name: "provider error", exchanges: 0, want: "cancelled or denied",
			setup: func() { h.provider.Deny("access_denied") }, run: callback(nil)},
		{name: "bad nonce", exchanges: 1, want: "could not be verified",
			setup: tamper(func(c map[string]any) { c["nonce"] = "not-the-nonce" }), run: callback(nil)},
		{name: "no nonce", exchanges: 1, want: "could not be verified",
			setup: tamper(func(c map[string]any) { delete(c, "nonce") }), run: callback(nil)},
		{name: "wrong audience", exchanges: 1, want: "could not be verified",
			setup: tamper(func(c map[string]any) { c["aud"] = "another-client" }), run: callback(nil)},
		{name: "wrong issuer", exchanges: 1, want: "could not be verified",
			setup: tamper(func(c map[string]any) { c["iss"] = "https://evil.example" }), run: callback(nil)},
		{name: "expired", exchanges: 1, want: "could not be verified",
			setup: tamper(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), run: callback(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.provider.Deny("")
			h.provider.Tamper(nil)
			if tc.setup != nil {
				tc.setup()
			}
			before := h.provider.Exchanges()
			calls := len(h.fake.Calls())
			resp, body := tc.run(t, browser(t))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("callback: %s, want 400; body:\n%s", resp.Status, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("page lacks %q:\n%s", tc.want, body)
			}
			if strings.Contains(body, "<script") {
				t.Errorf("a refusal page has a script:\n%s", body)
			}
			checkAnswerHeaders(t, resp)
			if n := h.provider.Exchanges() - before; n != tc.exchanges {
				t.Errorf("%d token requests, want %d", n, tc.exchanges)
			}
			if n := len(h.fake.Calls()) - calls; n != 0 {
				t.Errorf("signIn called %d times", n)
			}
		})
	}
	h.provider.Deny("")
	h.provider.Tamper(nil)

	// Nothing logged holds a code, a token or a flow's secrets.
	c := browser(t)
	u := h.toCallback(c)
	cookie := c.Jar.Cookies(u)[0].Value
	q := u.Query()
	q.Set("state", "forged")
	bad := *u
	bad.RawQuery = q.Encode()
	get(t, c, bad.String())
	logs := h.logs.String()
	if logs == "" {
		t.Error("refusals were not logged")
	}
	for _, secret := range []string{u.Query().Get("code"), u.Query().Get("state"), cookie, "eyJ"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold %q:\n%s", secret, logs)
		}
	}
}

// TestOIDCReplay: a callback that worked once is refused when sent again,
// even with the cookie put back.
func TestOIDCReplay(t *testing.T) {
	h := newHarness(t, "s3cret")
	c := browser(t)
	u := h.toCallback(c)
	cookie := c.Jar.Cookies(u)[0]
	if resp, body := get(t, c, u.String()); resp.StatusCode != http.StatusOK {
		t.Fatalf("first callback: %s\n%s", resp.Status, body)
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/api/auth/oidc"}})
	if resp, body := get(t, c, u.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: %s, want 400\n%s", resp.Status, body)
	}
	if n := len(h.fake.Calls()); n != 1 {
		t.Errorf("signIn called %d times, want 1", n)
	}
}

func TestOIDCWrongClientSecret(t *testing.T) {
	h := newHarness(t, "not-the-secret")
	c := browser(t)
	resp, body := get(t, c, h.toCallback(c).String())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "did not confirm") {
		t.Errorf("callback: %s, want 400 'did not confirm'\n%s", resp.Status, body)
	}
	if n := len(h.fake.Calls()); n != 0 {
		t.Errorf("signIn called %d times", n)
	}
}

func TestOIDCUnverifiedEmail(t *testing.T) {
	h := newHarness(t, "s3cret")
	h.provider.SetUser(oidctest.User{Subject: "u-2", Name: "Bob", Email: "alice@example.com", EmailVerified: false})
	c := browser(t)
	if resp, body := get(t, c, h.toCallback(c).String()); resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %s\n%s", resp.Status, body)
	}
	want := signInCall{h.provider.Issuer(), "u-2", "Bob", ""}
	if calls := h.fake.Calls(); len(calls) != 1 || calls[0] != want {
		t.Errorf("signIn calls %+v, want [%+v]: an unverified email is not passed on", calls, want)
	}
}

// statusError is an error that says it may be shown, as a ban does.
type statusError struct{ status int }

func (e statusError) Error() string   { return "banned until tomorrow: cheating" }
func (e statusError) HTTPStatus() int { return e.status }

func TestOIDCSignInErrors(t *testing.T) {
	h := newHarness(t, "s3cret")
	for _, tc := range []struct {
		name   string
		err    error
		status int
		want   string
		hidden string
	}{
		{"shown", wrapped(statusError{http.StatusForbidden}), http.StatusForbidden, "banned until tomorrow: cheating", ""},
		{"hidden", errors.New("store: connection refused to 10.0.0.5"), http.StatusServiceUnavailable, "try again shortly", "10.0.0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.fake.mu.Lock()
			h.fake.err = tc.err
			h.fake.mu.Unlock()
			c := browser(t)
			resp, body := get(t, c, h.toCallback(c).String())
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("callback: %s, want %d with %q\n%s", resp.Status, tc.status, tc.want, body)
			}
			if tc.hidden != "" && strings.Contains(body, tc.hidden) {
				t.Errorf("page shows %q", tc.hidden)
			}
			if strings.Contains(body, "<script") {
				t.Errorf("a refusal page has a script")
			}
		})
	}
}

func wrapped(err error) error { return errors.Join(errors.New("sign in"), err) }

// TestOIDCAnswerEscapes: what signIn answers cannot break out of the
// answer's script.
func TestOIDCAnswerEscapes(t *testing.T) {
	h := newHarness(t, "s3cret")
	h.fake.refresh = `"</script><script>alert(1)</script><!--`
	c := browser(t)
	resp, body := get(t, c, h.toCallback(c).String())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("callback: %s\n%s", resp.Status, body)
	}
	if strings.Count(body, "<script") != 1 || strings.Count(body, "</script>") != 1 || strings.Contains(body, "<!--") {
		t.Errorf("the token broke out of the script:\n%s", body)
	}
}

// TestOIDCNoRefreshToken: a session with nothing to hand over is an error,
// not a page that stores "undefined".
func TestOIDCNoRefreshToken(t *testing.T) {
	h := newHarness(t, "s3cret")
	h.fake.noRefresh = true
	c := browser(t)
	resp, body := get(t, c, h.toCallback(c).String())
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "<script") {
		t.Errorf("callback: %s, want 500 and no script\n%s", resp.Status, body)
	}
}

// TestOIDCPendingBounded: calling start in a loop holds at most maxPending
// flows; the oldest are forgotten first.
func TestOIDCPendingBounded(t *testing.T) {
	h := newHarness(t, "s3cret")
	h.oidc.pending = newPendingFlows(3, pendingTTL)
	first := browser(t)
	u := h.toCallback(first)
	for range 5 {
		get(t, browser(t), h.app.URL+OIDCStartPath)
	}
	if n := h.oidc.pending.len(); n != 3 {
		t.Errorf("%d pending flows, want 3", n)
	}
	if resp, body := get(t, first, u.String()); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("evicted flow's callback: %s, want 400 'expired'\n%s", resp.Status, body)
	}
}

func TestPendingFlows(t *testing.T) {
	now := time.Now()
	p := newPendingFlows(3, time.Minute)
	for i, id := range []string{"a", "b", "c", "d"} {
		p.add(id, flow{state: id}, now.Add(time.Duration(i)*time.Second))
	}
	if _, ok := p.take("a", now); ok {
		t.Error("the oldest flow outlived the bound")
	}
	if f, ok := p.take("c", now); !ok || f.state != "c" {
		t.Errorf("take c: %v %v", f, ok)
	}
	if _, ok := p.take("c", now); ok {
		t.Error("a flow was taken twice")
	}
	if _, ok := p.take("b", now.Add(2*time.Minute)); ok {
		t.Error("a lapsed flow was taken")
	}
	// A lapsed flow is dropped by the next add, even with room to spare.
	p.add("e", flow{}, now.Add(2*time.Minute))
	if n := p.len(); n != 1 {
		t.Errorf("%d flows after the others lapsed, want 1 (e)", n)
	}
	// Flows taken out of order leave the queue within bounds.
	for i := range 10000 {
		id := string(rune('A' + i%26))
		p.add(id, flow{}, now.Add(2*time.Minute))
		p.take(id, now.Add(2*time.Minute))
	}
	if len(p.order) > 2*p.len()+17 {
		t.Errorf("queue of %d IDs for %d flows", len(p.order), p.len())
	}
}

func TestNewOIDCRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	sign := (&fakeSignIn{}).signIn
	for _, cfg := range []OIDCConfig{
		{ClientID: "a", RedirectURL: "https://x/api/auth/oidc/callback"},
		{Issuer: "http://127.0.0.1:1", ClientID: "a", RedirectURL: "https://x/elsewhere"},
		{Issuer: "http://127.0.0.1:1", ClientID: "a", RedirectURL: "/api/auth/oidc/callback"},
		// Nothing listens on port 1: discovery fails, and says so.
		{Issuer: "http://127.0.0.1:1", ClientID: "a", RedirectURL: "https://x/api/auth/oidc/callback"},
	} {
		if _, err := NewOIDC(ctx, cfg, sign); err == nil {
			t.Errorf("NewOIDC(%+v) succeeded", cfg)
		}
	}
}
