package e2e

import (
	"encoding/json"
	"testing"

	"github.com/arena-server/arena/arenatest"
)

// sdkHarness is JavaScript that imports the SDK and builds a stand-in for
// the accounts API: window.fake.fetch answers as the server would, records
// every call, and spends refresh tokens as the server does (a spent one
// presented again is refused with 401); fake.next holds answers to give
// instead, [path, status, body, headers], once each. A clock the test
// moves stands in for Date.now.
const sdkHarness = `(async () => {
	const sdk = await import('/sdk/arena.js');
	const fake = { calls: [], n: 0, now: 1e9, delay: 20, next: [] };
	fake.session = (i) => ({ access_token: 'a' + i, refresh_token: 'r' + i, expires_in: 900,
		account: { id: 'acct', name: 'guest-' + i, guest: true, created_at: '2026-12-08T00:00:00Z' } });
	const reply = (status, body, headers = {}) => new Response(body == null ? null : JSON.stringify(body), { status, headers });
	fake.fetch = async (url, init) => {
		const path = new URL(url).pathname;
		const body = init.body ? JSON.parse(init.body) : null;
		const call = { path, method: init.method, body, bearer: (init.headers.Authorization || '').replace('Bearer ', '') };
		fake.calls.push(call);
		await new Promise((r) => setTimeout(r, fake.delay));
		const i = fake.next.findIndex((n) => n[0] === path);
		if (i >= 0) {
			const [, status, b, h] = fake.next.splice(i, 1)[0];
			return reply(status, b, h);
		}
		switch (path) {
		case '/api/auth/guest':
			return reply(201, fake.session(++fake.n));
		case '/api/auth/refresh':
			if (body.refresh_token !== 'r' + fake.n) return reply(401, { code: 'unauthorized', message: 'that refresh token is spent' });
			return reply(200, fake.session(++fake.n));
		case '/api/auth/logout':
			return reply(204, null);
		case '/api/me':
			if (call.bearer !== 'a' + fake.n) return reply(401, { code: 'token_expired', message: 'expired' });
			return reply(200, fake.session(fake.n).account);
		}
		return reply(404, { code: 'not_found', message: 'no' });
	};
	fake.count = (path) => fake.calls.filter((c) => c.path === path).length;
	fake.auth = (storage) => new sdk.Auth({ fetch: fake.fetch, now: () => fake.now, storage: storage || sdk.memoryStorage() });
	window.sdk = sdk;
	window.fake = fake;
	return true;
})()`

// openSDKHarness opens a page of srv's origin with nothing of the game on
// it, and loads sdkHarness.
func openSDKHarness(t *testing.T) *tab {
	t.Helper()
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/healthz") // this origin, and no page script of its own
	if !eval[bool](tb, sdkHarness) {
		t.Fatal("the harness did not load")
	}
	return tb
}

// jsResult runs an async function body in the harness and decodes what it
// returns.
func jsResult[T any](t *testing.T, tb *tab, body string) T {
	t.Helper()
	raw := eval[string](tb, `(async () => { const r = await (async () => {`+body+`})(); return JSON.stringify(r); })()`)
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// TestAuthSDKSharesOneRefresh: callers that need a fresh token at the same
// time (a reconnect, two API calls, an explicit refresh) share one refresh
// request, and all get its token. Two requests with the same refresh token
// would be a reuse: the server would end the session.
func TestAuthSDKSharesOneRefresh(t *testing.T) {
	tb := openSDKHarness(t)
	got := jsResult[struct {
		Kept     string
		Tokens   []string
		Refresh  int
		Accounts []string
	}](t, tb, `
		const auth = fake.auth();
		await auth.guest();
		const kept = auth.storage.getItem('arena.refresh');
		const tokens = await Promise.all([auth.accessToken({ force: true }), auth.refresh().then(() => auth.access),
			auth.accessToken({ force: true }), auth.refresh().then(() => auth.access)]);
		return { kept, tokens, refresh: fake.count('/api/auth/refresh'), accounts: [auth.account.id, auth.account.name] };`)
	if got.Kept != "r1" {
		t.Errorf("kept refresh token %q; want r1 (the guest's)", got.Kept)
	}
	if got.Refresh != 1 {
		t.Errorf("%d refresh requests for four concurrent callers; want 1", got.Refresh)
	}
	for _, tok := range got.Tokens {
		if tok != "a2" {
			t.Errorf("tokens %v; want every caller to get a2, the one refresh's", got.Tokens)
			break
		}
	}
	if got.Accounts[0] != "acct" || got.Accounts[1] != "guest-2" {
		t.Errorf("account %v", got.Accounts)
	}
}

// TestAuthSDKTabsDoNotReuseTokens: two clients on one storage (two tabs of
// one origin) refreshing at once take turns under a Web Lock, the second
// with the token the first just kept, so neither presents a spent one.
func TestAuthSDKTabsDoNotReuseTokens(t *testing.T) {
	tb := openSDKHarness(t)
	got := jsResult[struct {
		Errors  []string
		Spent   int
		Refresh int
		Kept    string
	}](t, tb, `
		const storage = sdk.memoryStorage();
		const a = fake.auth(storage), b = fake.auth(storage);
		await a.guest();
		const errors = [];
		await Promise.all([a, b].map((x) => x.accessToken({ force: true }).catch((e) => errors.push(e.code))));
		const seen = fake.calls.filter((c) => c.path === '/api/auth/refresh').map((c) => c.body.refresh_token);
		return { errors, spent: seen.length - new Set(seen).size, refresh: seen.length, kept: storage.getItem('arena.refresh') };`)
	if len(got.Errors) > 0 || got.Spent != 0 || got.Refresh != 2 || got.Kept != "r3" {
		t.Errorf("two tabs refreshing: errors %v, %d spent tokens presented again, %d refreshes, kept %q; want none, 0, 2, r3", got.Errors, got.Spent, got.Refresh, got.Kept)
	}
}

// TestAuthSDKRefreshesAheadOfExpiry: accessToken() gives the token held
// while it has a good part of its life left, and refreshes it before it
// lapses (expires_in), not after.
func TestAuthSDKRefreshesAheadOfExpiry(t *testing.T) {
	tb := openSDKHarness(t)
	got := jsResult[[]any](t, tb, `
		const auth = fake.auth();
		await auth.guest(); // expires_in 900 s
		const out = [];
		fake.now += 600e3; // 10 of 15 minutes
		out.push(await auth.accessToken(), fake.count('/api/auth/refresh'));
		fake.now += 200e3; // 100 s left: under a fifth of its life
		out.push(await auth.accessToken(), fake.count('/api/auth/refresh'));
		fake.now += 10e3;
		out.push(await auth.accessToken(), fake.count('/api/auth/refresh'));
		return out;`)
	want := []any{"a1", 0.0, "a2", 1.0, "a2", 1.0}
	if b1, b2 := js(got), js(want); b1 != b2 {
		t.Errorf("token, refreshes at 10 min, 13 min 20 s, then 10 s on: %s; want %s", b1, b2)
	}
}

// TestAuthSDKRetriesA401Once: a call whose token the server calls stale
// (token_expired) is made again once with a refreshed token, never more.
func TestAuthSDKRetriesA401Once(t *testing.T) {
	tb := openSDKHarness(t)
	got := jsResult[struct {
		Name     string
		Calls    []string
		Err      string
		Status   int
		MeCalls  int
		Refreshs int
	}](t, tb, `
		const auth = fake.auth();
		await auth.guest();
		fake.next.push(['/api/me', 401, { code: 'token_expired', message: 'expired' }]);
		const me = await auth.me();
		const calls = fake.calls.map((c) => c.path + ' ' + c.bearer);
		fake.next.push(['/api/me', 401, { code: 'token_expired', message: 'expired' }], ['/api/me', 401, { code: 'token_expired', message: 'still' }]);
		let err = null;
		try { await auth.me(); } catch (e) { err = e; }
		return { name: me.name, calls, err: err && err.code, status: err && err.status,
			meCalls: fake.count('/api/me'), refreshs: fake.count('/api/auth/refresh') };`)
	wantCalls := []string{"/api/auth/guest ", "/api/me a1", "/api/auth/refresh ", "/api/me a2"}
	if js(got.Calls) != js(wantCalls) || got.Name != "guest-2" {
		t.Errorf("a stale token: calls %v, name %q; want %v, guest-2", got.Calls, got.Name, wantCalls)
	}
	if got.Err != "token_expired" || got.Status != 401 || got.MeCalls != 4 || got.Refreshs != 2 {
		t.Errorf("stale twice: error %q %d after %d calls of /api/me and %d refreshes; want token_expired 401 after 4 and 2", got.Err, got.Status, got.MeCalls, got.Refreshs)
	}
}

// TestAuthSDKTypedErrors: 429 and 503 come as ThrottledError and
// UnavailableError with Retry-After's seconds; a lost session (the server
// refuses the refresh token) is forgotten, and said so with a change event.
func TestAuthSDKTypedErrors(t *testing.T) {
	tb := openSDKHarness(t)
	got := jsResult[map[string]any](t, tb, `
		const auth = fake.auth();
		const out = {};
		fake.next.push(['/api/auth/login', 429, { code: 'throttled', message: 'slow down' }, { 'Retry-After': '7' }]);
		try { await auth.login({ email: 'a@b.c', password: 'x'.repeat(8) }); } catch (e) {
			out.throttled = [e instanceof sdk.ThrottledError, e instanceof sdk.AuthError, e.code, e.status, e.retryAfter, e.message];
		}
		fake.next.push(['/api/auth/guest', 503, { code: 'unavailable', message: 'accounts are unavailable right now; play goes on; try again shortly' }, { 'Retry-After': '5' }]);
		try { await auth.guest(); } catch (e) {
			out.unavailable = [e instanceof sdk.UnavailableError, e.code, e.status, e.retryAfter];
		}
		fake.next.push(['/api/auth/login', 401, { code: 'bad_credentials', message: 'wrong email or password' }]);
		try { await auth.login({ email: 'a@b.c', password: 'y'.repeat(8) }); } catch (e) {
			out.bad = [e.name, e.code, e.status, e.message];
		}
		await auth.guest();
		const changes = [];
		auth.on('change', (c) => changes.push(c.why + ':' + (c.account ? c.account.id : 'none')));
		fake.n++; // the kept token is spent elsewhere
		try { await auth.refresh(); } catch (e) { out.lost = [e.status, auth.kept(), auth.account, await auth.accessToken()]; }
		out.changes = changes;
		return out;`)
	want := map[string]any{
		"throttled":   []any{true, true, "throttled", 429.0, 7.0, "slow down"},
		"unavailable": []any{true, "unavailable", 503.0, 5.0},
		"bad":         []any{"AuthError", "bad_credentials", 401.0, "wrong email or password"},
		"lost":        []any{401.0, false, nil, ""},
		"changes":     []any{"expired:none"},
	}
	if js(got) != js(want) {
		t.Errorf("errors:\n got %s\nwant %s", js(got), js(want))
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
