package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// progressFake stands in for the progress API (/api/leaderboards,
// /api/matches, /api/accounts/, /api/matchmake/tickets) in the page: it
// replaces fetch before the page's scripts run, answers those paths with
// the shapes the server's (progress_real_test.go runs the page against
// the real ones), records every call, and passes all else (the accounts,
// the rooms) to the real server. It lets a test choose what the real
// server would take long to reach: a ticket's wait, names with markup. window.progressFake
// tunes it: matchAfter (polls of a ticket before it is matched), room
// (the room it is matched into), absent (answer as a server without the
// API: a 404 with no JSON).
const progressFake = `(() => {
	const real = window.fetch.bind(window);
	const fake = { calls: [], polls: 0, matchAfter: 2, room: 'progress-match', deleted: 0 };
	window.progressFake = fake;
	const me = () => window.arena?.auth?.account?.id || 'nobody';
	const myName = () => window.arena?.auth?.account?.name || 'me';
	const evil = '<img src=x onerror="window.pwned=1">';
	const reply = (status, body) => new Response(body == null ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
	const entry = (rank) => ({ rank, account: 'p' + rank, name: rank === 2 ? evil : 'player ' + rank, score: 1000 - rank });
	const match = (i) => ({ key: 'm' + i, mode: i % 2 ? 'dots' : 'tag', room: 'r' + i, game: 1,
		ended_at: new Date(Date.now() - (16 - i) * 120e3).toISOString(), guests: 1,
		players: [{ account: 'p1', name: evil, standing: 1, score: 9 }, { account: me(), name: myName(), standing: 2, score: i }] });
	window.fetch = async (input, init = {}) => {
		const url = new URL(typeof input === 'string' ? input : input.url, location.href);
		const p = url.pathname, q = url.searchParams, method = init.method || 'GET';
		if (!(p.startsWith('/api/leaderboards') || p === '/api/matches' || p.startsWith('/api/accounts/') || p.startsWith('/api/matchmake/tickets'))) {
			return real(input, init);
		}
		fake.calls.push({ path: p, query: url.search, method, bearer: ((init.headers || {}).Authorization || '').replace('Bearer ', '') });
		await new Promise((r) => setTimeout(r, 10));
		if (fake.absent) return new Response('404 page not found', { status: 404 }); // a server without the API
		if (p === '/api/leaderboards') {
			return reply(200, { leaderboards: [{ id: 'dots_score', mode: 'dots', order: 'desc' }, { id: 'tag_wins', mode: 'tag', order: 'desc' }] });
		}
		if (p === '/api/leaderboards/dots_score') {
			if (q.get('around')) {
				const es = [];
				for (let r = 41; r <= 50; r++) es.push(r === 45 ? { rank: 45, account: me(), name: myName(), score: 300 } : entry(r));
				return reply(200, { id: 'dots_score', season: 0, entries: es });
			}
			return reply(200, { id: 'dots_score', season: 0, entries: Array.from({ length: Number(q.get('limit')) || 10 }, (_, i) => entry(i + 1)) });
		}
		if (p === '/api/leaderboards/tag_wins') {
			const es = [entry(1), entry(2), { rank: 3, account: me(), name: myName(), score: 50 }];
			return reply(200, { id: 'tag_wins', season: 0, entries: es });
		}
		if (p === '/api/accounts/' + me()) {
			return reply(200, { id: me(), name: myName(), created_at: '2026-12-08T00:00:00Z',
				ratings: [{ mode: 'dots', mu: 30, sigma: 4, ordinal: 18, games: 7 }, { mode: 'tag', mu: 25, sigma: 8.333, ordinal: 0, games: 0 }] });
		}
		if (p === '/api/matches') {
			if (q.get('account') !== me()) return reply(400, { code: 'bad_request', message: 'whose?' });
			const before = q.get('before') ? Number(q.get('before').slice(1)) : 16;
			const limit = Number(q.get('limit')) || 10;
			const ms = [];
			for (let i = before - 1; i >= 1 && ms.length < limit; i--) ms.push(match(i));
			const last = ms.at(-1);
			return reply(200, last && Number(last.key.slice(1)) > 1 ? { matches: ms, next: last.key } : { matches: ms });
		}
		if (p === '/api/matchmake/tickets' && method === 'POST') {
			fake.body = JSON.parse(init.body);
			return reply(201, { ticket: 't1', expires_at: new Date(Date.now() + 120e3).toISOString() });
		}
		if (p === '/api/matchmake/tickets/t1' && method === 'DELETE') {
			fake.deleted++;
			return reply(204, null);
		}
		if (p === '/api/matchmake/tickets/t1') {
			fake.polls++;
			if (fake.polls <= fake.matchAfter) return reply(200, { state: 'waiting', waited_ms: fake.polls * 1000, window: 2 + fake.polls });
			return reply(200, { state: 'matched', room: fake.room, url: '', seat: '', mode: 'tag' });
		}
		return reply(404, { code: 'not_found', message: 'no such thing' });
	};
})()`

// openProgressPage opens the page of a real server with accounts, with the
// progress API stood in for by progressFake, and waits until it plays as
// an account; it returns the account's ID.
func openProgressPage(t *testing.T, path string) (*tab, string, string) {
	t.Helper()
	base := accountsSite(t)
	tb := newTab(t)
	if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: progressFake}); err != nil {
		t.Fatalf("install the stand-in API: %v", err)
	}
	id := openAccountPage(t, tb, base, path)
	openProgress(tb)
	return tb, base, id
}

// openProgress opens the page's Progress panel, which reads nothing until
// it is opened.
func openProgress(tb *tab) {
	tb.t.Helper()
	waitFor(tb, "the Progress panel", `!document.getElementById('progress').hidden`, 5*time.Second)
	if !eval[bool](tb, `document.getElementById('progress-details').open`) {
		tb.do(chromedp.Click(chromedp.CSS("#progress-details > summary")))
	}
}

// TestProgressPageProfileBoardsHistory: the panel shows the account's
// profile (its rated modes, the rating as mu - 3 sigma, the games), a
// leaderboard's top 10 and the page around the player with their row
// marked (or in the top 10, marked there), and the match history a page
// at a time; players' names are text, never markup.
func TestProgressPageProfileBoardsHistory(t *testing.T) {
	tb, _, id := openProgressPage(t, "/?room=progress")

	waitFor(tb, "the profile", `document.querySelectorAll('#ratings-body tr').length === 1`, 5*time.Second)
	if got := eval[string](tb, `[...document.querySelectorAll('#ratings-body tr')].map((r) => r.textContent).join('|')
		+ '|' + document.getElementById('profile-games').textContent + '|' + document.getElementById('profile-name').textContent`); got != "dots18.07|7 games|"+eval[string](tb, `window.arena.auth.account.name`) {
		t.Errorf("the profile: %q", got)
	}

	tb.do(chromedp.Click(chromedp.CSS("#tab-boards")))
	waitFor(tb, "the board", `document.querySelectorAll('#board-top li').length === 10 && document.querySelectorAll('#board-around li').length === 10`, 5*time.Second)
	got := eval[[]string](tb, `[document.getElementById('board').value,
		[...document.querySelectorAll('#board-top li')].map((li) => li.querySelector('.rank').textContent).join(','),
		document.querySelector('#board-top li:nth-child(2) .who').textContent,
		String(document.querySelectorAll('#progress img').length) + String(window.pwned === undefined),
		[...document.querySelectorAll('#pane-boards li.me')].map((li) => li.dataset.account + ' ' + li.querySelector('.rank').textContent + ' ' + li.getAttribute('aria-current')).join('|'),
		String(document.getElementById('board-around-title').hidden)]`)
	want := []string{"dots_score", "1,2,3,4,5,6,7,8,9,10", `<img src=x onerror="window.pwned=1">`, "0true", id + " 45 true", "false"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the dots board:\n got %q\nwant %q", got, want)
	}
	// Around-me asks for the page around this account.
	if q := eval[string](tb, `window.progressFake.calls.find((c) => c.path === '/api/leaderboards/dots_score' && c.query.includes('around')).query`); !strings.Contains(q, "around="+id) {
		t.Errorf("around-me query %q", q)
	}
	tb.do(chromedp.SetValue(chromedp.CSS("#board"), "tag_wins"))
	eval[bool](tb, `document.getElementById('board').dispatchEvent(new Event('change'))`)
	waitFor(tb, "the tag board", `document.querySelectorAll('#board-top li').length === 3`, 5*time.Second)
	if got := eval[string](tb, `document.querySelector('#board-top li.me .rank').textContent + ' ' + document.getElementById('board-around-title').hidden
		+ ' ' + document.querySelectorAll('#board-around li').length + ' ' + document.getElementById('board-note').textContent`); got != "3 true 0 You are in the top 10." {
		t.Errorf("in the top 10: %q", got)
	}

	// The arrow keys move between the tabs: Boards to History.
	tb.do(chromedp.Focus(chromedp.CSS("#tab-boards")))
	tb.keyEvent(input.DispatchKeyEventTypeKeyDown, keyRight)
	tb.keyEvent(input.DispatchKeyEventTypeKeyUp, keyRight)
	waitFor(tb, "the history", `document.querySelectorAll('#history li').length === 10
		&& document.activeElement.id === 'tab-history' && document.getElementById('tab-history').getAttribute('aria-selected') === 'true'`, 5*time.Second)
	if got := eval[string](tb, `[...document.querySelectorAll('#history li')].map((li) => li.dataset.key).join(',') + ' ' + document.getElementById('history-more').hidden`); got != "m15,m14,m13,m12,m11,m10,m9,m8,m7,m6 false" {
		t.Errorf("the first page: %q", got)
	}
	if got := eval[string](tb, `document.querySelector('#history li').textContent`); !strings.Contains(got, "dots2nd of 3") || !strings.Contains(got, `<img src=x onerror="window.pwned=1"> 9`) || !strings.Contains(got, "1 guest") {
		t.Errorf("a match: %q", got)
	}
	tb.do(chromedp.Click(chromedp.CSS("#history-more")))
	waitFor(tb, "the next page", `document.querySelectorAll('#history li').length === 15`, 5*time.Second)
	if got := eval[string](tb, `[...document.querySelectorAll('#history li')].slice(10).map((li) => li.dataset.key).join(',') + ' ' + document.getElementById('history-more').hidden
		+ ' ' + window.progressFake.calls.filter((c) => c.path === '/api/matches').map((c) => c.query).join('|')`); !strings.HasPrefix(got, "m5,m4,m3,m2,m1 true ") || !strings.Contains(got, "before=m6") {
		t.Errorf("the second page: %q", got)
	}
	if n := eval[int](tb, `document.querySelectorAll('#progress img, #progress script').length + (window.pwned ? 1 : 0)`); n != 0 {
		t.Errorf("names were taken as markup: %d", n)
	}
	// Every call went with the account's access token.
	if n := eval[int](tb, `window.progressFake.calls.filter((c) => !c.bearer).length`); n != 0 {
		t.Errorf("%d calls without a bearer", n)
	}
}

// TestProgressPageQueueJoinsTheMatch: "Find a match" makes a ticket for the
// chosen mode, shows the wait and the rating window as they grow, and on
// the match joins the room it was given, as the same account.
func TestProgressPageQueueJoinsTheMatch(t *testing.T) {
	tb, base, id := openProgressPage(t, "/?room=queue-here")
	waitFor(tb, "the modes", `[...document.getElementById('queue-mode').options].some((o) => o.value === 'tag')`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#queue-mode"), "tag"), chromedp.Click(chromedp.CSS("#queue-go")))
	waitFor(tb, "the wait", `document.getElementById('queue-wait').textContent.includes('within ±3.0')`, 5*time.Second)
	if got := eval[string](tb, `document.getElementById('queue-wait').textContent + '|' + document.getElementById('queue-go').disabled + '|' + JSON.stringify(window.progressFake.body)`); !strings.HasPrefix(got, "Finding a match: ") || !strings.HasSuffix(got, `|true|{"mode":"tag","options":{},"party":[]}`) {
		t.Errorf("waiting: %q", got)
	}
	waitFor(tb, "the match's room", fmt.Sprintf(`window.arena.room === 'progress-match' && window.arena.connected && window.arena.account?.id === %q`, id), 10*time.Second)
	if got := eval[string](tb, `document.getElementById('queue-status').hidden + ' ' + document.getElementById('queue-go').disabled + ' ' + window.arena.progress.state.queue`); got != "true false matched" {
		t.Errorf("after the match: %q", got)
	}
	if n := eval[int](tb, `window.progressFake.calls.filter((c) => c.path.startsWith('/api/matchmake') && !c.bearer).length`); n != 0 {
		t.Errorf("%d ticket calls without a bearer", n)
	}
	// A match's seat and node go with the join.
	if u := eval[string](tb, fmt.Sprintf(`(async () => {
		const sdk = await import('/sdk/arena.js');
		const c = new sdk.Client({ storageKey: 'seat-test' });
		c.join({ room: 'elsewhere', url: %q, seat: 'SEAT1' });
		const u = c.conn.url(false);
		c.leave();
		return u;
	})()`, base)); !strings.Contains(u, "seat=SEAT1") || !strings.Contains(u, "room=elsewhere") {
		t.Errorf("the join of a match: %s", u)
	}
}

// TestProgressPageQueueCancel: Cancel takes the ticket out of the pool
// (DELETE) and the page stays where it plays.
func TestProgressPageQueueCancel(t *testing.T) {
	tb, _, _ := openProgressPage(t, "/?room=queue-stay")
	eval[bool](tb, `window.progressFake.matchAfter = 1e9; true`)
	waitFor(tb, "the modes", `document.getElementById('queue-mode').options.length > 0`, 5*time.Second)
	tb.do(chromedp.Click(chromedp.CSS("#queue-go")))
	waitFor(tb, "the wait", `window.progressFake.polls >= 1 && !document.getElementById('queue-status').hidden`, 15*time.Second) // a ticket, then its first poll: slow on a loaded machine
	tb.do(chromedp.Click(chromedp.CSS("#queue-cancel")))
	waitFor(tb, "the ticket deleted", `window.progressFake.deleted === 1`, 15*time.Second)
	polls := eval[int](tb, `window.progressFake.polls`)
	time.Sleep(1500 * time.Millisecond) // longer than a poll: none follows
	if got := eval[string](tb, `document.getElementById('queue-status').hidden + ' ' + document.getElementById('queue-go').disabled + ' ' + window.arena.room + ' ' + window.arena.progress.state.queue + ' ' + window.progressFake.polls`); got != fmt.Sprintf("true false queue-stay cancelled %d", polls) {
		t.Errorf("after cancelling: %q", got)
	}
}

// TestProgressPageWithoutTheAPI: the panel reads nothing until it is
// opened; on a server without the progress API it says so once and asks
// no more.
func TestProgressPageWithoutTheAPI(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: progressFake}); err != nil {
		t.Fatal(err)
	}
	openAccountPage(t, tb, base, "/?room=no-progress")
	eval[bool](tb, `window.progressFake.absent = true; localStorage.removeItem('arena.progress.open'); true`)
	if n := eval[int](tb, `window.progressFake.calls.length`); n != 0 && !eval[bool](tb, `document.getElementById('progress-details').open`) {
		t.Errorf("%d calls with the panel closed", n)
	}
	tb.allowConsole(`status of 404 .*/api/accounts/`)
	openProgress(tb)
	waitFor(tb, "the panel to say so", `document.getElementById('progress-error').textContent.includes('keeps no')`, 5*time.Second)
	n := eval[int](tb, `window.progressFake.calls.length`)
	tb.do(chromedp.Click(chromedp.CSS("#tab-boards")), chromedp.Click(chromedp.CSS("#tab-history")), chromedp.Click(chromedp.CSS("#tab-profile")))
	if more := eval[int](tb, `window.progressFake.calls.length`); more != n || n != 1 {
		t.Errorf("%d calls, then %d after choosing every tab; want 1 and no more", n, more)
	}
}

// TestProgressSDKCalls: Progress's calls against the SDK harness's
// stand-in: the paths and queries, the bearer of the Auth (refreshed once
// on a stale 401), ratings as a list with the ordinal, and the errors.
func TestProgressSDKCalls(t *testing.T) {
	tb := openSDKHarness(t)
	got := jsResult[struct {
		Boards   []string
		Around   []string
		Matches  []string
		Next     string
		Ratings  []float64
		Rank     any
		Calls    []string
		Bearers  []string
		Refresh  int
		NoServer string
		Bad      []any
	}](t, tb, `
		const auth = fake.auth();
		await auth.guest();
		const p = new sdk.Progress({ auth });
		fake.next.push(
			['/api/leaderboards', 200, { leaderboards: [{ id: 'a' }, { id: 'b' }] }],
			['/api/leaderboards/a%20b', 200, { id: 'a b', season: 0, entries: [{ rank: 1, account: 'x', name: 'X', score: 3 }] }],
			['/api/matches', 200, { matches: [{ key: 'k2' }, { key: 'k1' }], next: 'CUR' }],
			['/api/accounts/acct', 401, { code: 'token_expired', message: 'expired' }],
			['/api/accounts/acct', 200, { id: 'acct', ratings: [{ mode: 'dots', mu: 30, sigma: 4, games: 2 }] }],
			['/api/leaderboards/a/accounts/acct', 404, { code: 'no_entry', message: 'none' }],
			['/api/matches', 400, { code: 'bad_request', message: '?limit= must be a whole number from 1 to 100' }],
		);
		const boards = (await p.leaderboards()).map((b) => b.id);
		const around = (await p.leaderboard('a b', { around: 'acct', limit: 5, season: undefined })).entries.map((e) => e.name);
		const m = await p.matches('acct', { before: 'C0', limit: 2 });
		const prof = await p.profile('acct');
		const rank = await p.rank('a', 'acct');
		const bad = await p.matches('acct', { limit: 1000 }).then(() => [], (e) => [e.status, e.code, e.message]);
		const calls = fake.calls.filter((c) => !c.path.startsWith('/api/auth')).map((c) => c.method + ' ' + c.path);
		const bearers = fake.calls.filter((c) => !c.path.startsWith('/api/auth')).map((c) => c.bearer);
		const none = await new sdk.Progress({ fetch: async () => new Response('404 page not found', { status: 404 }) }).leaderboards().catch((e) => e.code);
		return { boards, around, matches: m.matches.map((x) => x.key), next: m.next, ratings: [prof.ratings[0].ordinal, prof.ratings[0].games],
			rank, calls, bearers, refresh: fake.count('/api/auth/refresh'), noServer: none, bad };`)
	if strings.Join(got.Boards, ",") != "a,b" || strings.Join(got.Around, ",") != "X" || strings.Join(got.Matches, ",") != "k2,k1" || got.Next != "CUR" {
		t.Errorf("reads: %+v", got)
	}
	if len(got.Ratings) != 2 || got.Ratings[0] != 18 || got.Ratings[1] != 2 {
		t.Errorf("ratings %v; want the ordinal 30 - 3×4 = 18 computed, 2 games", got.Ratings)
	}
	if got.Rank != nil {
		t.Errorf("rank with no entry: %v; want null", got.Rank)
	}
	want := "GET /api/leaderboards,GET /api/leaderboards/a%20b,GET /api/matches,GET /api/accounts/acct,GET /api/accounts/acct,GET /api/leaderboards/a/accounts/acct,GET /api/matches"
	if strings.Join(got.Calls, ",") != want {
		t.Errorf("calls %v", got.Calls)
	}
	// The 401 token_expired refreshed the token once, and the call was made again with the new one.
	if got.Refresh != 1 || got.Bearers[3] != "a1" || got.Bearers[4] != "a2" || got.Bearers[0] != "a1" {
		t.Errorf("bearers %v, %d refreshes", got.Bearers, got.Refresh)
	}
	if got.NoServer != "no_progress" {
		t.Errorf("a server without the API: %q", got.NoServer)
	}
	if len(got.Bad) != 3 || got.Bad[1] != "bad_request" {
		t.Errorf("an error: %v", got.Bad)
	}
}
