package e2e

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena"
	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/blasters"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/games/world"
)

// accountsSite runs the stock program in this process, with its accounts
// on an SQLite store of the test's own, and returns its page's URL: the
// page, the accounts' API and the joins as arena.go wires them.
func accountsSite(t *testing.T) string {
	t.Helper()
	return "http://" + runProgram(t, t.TempDir(), dots.Mode, tag.Mode, blasters.Mode, world.Mode)
}

// runProgram runs arena.Run in this process on a loopback port with
// modes and its store under dataDir, until the test ends, and returns
// the address it listens on.
func runProgram(t *testing.T, dataDir string, modes ...game.Mode) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := &arenatest.LogBuffer{}
	args := []string{"-host", "127.0.0.1", "-port", "0", "-data-dir", dataDir}
	// No overload guard: the machine's load is the tests' (as arenatest.Start).
	getenv := func(k string) string {
		if k == "ARENA_MAX_SCHED_LATENCY" {
			return "0"
		}
		return ""
	}
	done := make(chan int, 1)
	go func() { done <- arena.Run(ctx, args, getenv, log, modes...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("arena.Run did not return within 10 s of its context ending")
		}
	})
	listening := regexp.MustCompile(`msg="arena listening" addr=(\S+)`)
	var addr string
	arenatest.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("arena.Run returned %d before listening:\n%s", code, log.String())
		default:
		}
		m := listening.FindStringSubmatch(log.String())
		if m == nil {
			return errors.New("not listening yet")
		}
		addr = m[1]
		return nil
	})
	return addr
}

// openAccountPage opens arena's page at path and waits until it plays as
// an account; it returns the account's ID.
func openAccountPage(t *testing.T, tb *tab, base, path string) string {
	t.Helper()
	tb.navigate(base + path)
	return waitAccount(t, tb)
}

// reloadAccountPage reloads tb's page and waits as openAccountPage does.
// (Only once: a second load while the first refreshes its token would
// present a token the server has just spent.)
func reloadAccountPage(t *testing.T, tb *tab) string {
	t.Helper()
	tb.do(chromedp.Reload())
	return waitAccount(t, tb)
}

func waitAccount(t *testing.T, tb *tab) string {
	t.Helper()
	waitFor(tb, "the page to play as an account", `window.arena && window.arena.connected && window.arena.tick > 0
		&& window.arena.account && window.arena.account.id`, 10*time.Second)
	return eval[string](tb, `window.arena.account.id`)
}

// TestAuthPageGuestPlaysAtOnce: a first visit makes a guest silently, keeps
// its refresh token, joins with the access token in the auth message (not
// the URL), and plays: the welcome names the account, which the panel and
// the own dot show.
func TestAuthPageGuestPlaysAtOnce(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	id := openAccountPage(t, tb, base, "/?room=guests")
	got := eval[[]string](tb, `[window.arena.auth.account.id, String(window.arena.auth.account.guest), window.arena.account.name,
		window.arena.auth.account.name, document.getElementById('account-line').textContent,
		window.arena.players.get(window.arena.id)?.name ?? '', localStorage.getItem('arena.refresh') ? 'kept' : 'none',
		document.getElementById('account').dataset.state]`)
	name := got[2]
	if got[0] != id || got[1] != "true" || got[3] != name || !strings.HasPrefix(got[4], name) || !strings.Contains(got[4], "guest") || got[5] != name || got[6] != "kept" || got[7] != "guest" {
		t.Errorf("guest: id %s; got %q", id, got)
	}
	if !tb.requested(base + "/api/auth/guest") {
		t.Error("no POST /api/auth/guest")
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var ws []string
	for _, u := range tb.requests {
		if strings.HasPrefix(u, "ws") {
			ws = append(ws, u)
			if !strings.Contains(u, "auth=1") || strings.Contains(u, "token") || strings.Contains(u, "eyJ") {
				t.Errorf("the WebSocket URL %s: want ?auth=1 and no token", u)
			}
		}
	}
	if len(ws) == 0 {
		t.Error("no WebSocket recorded")
	}
}

// signUp fills the page's sign-up form.
func signUp(tb *tab, email, password, name string) {
	tb.t.Helper()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS("#signup summary")),
		chromedp.SetValue(chromedp.CSS("#signup-email"), email),
		chromedp.SetValue(chromedp.CSS("#signup-password"), password)}
	if name != "" { // else the field keeps the name it shows
		steps = append(steps, chromedp.SetValue(chromedp.CSS("#signup-name"), name))
	}
	tb.do(append(steps, chromedp.Click(chromedp.CSS("#signup-form button")))...)
}

func signIn(tb *tab, email, password string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS("#signin summary")),
		chromedp.SetValue(chromedp.CSS("#signin-email"), email),
		chromedp.SetValue(chromedp.CSS("#signin-password"), password),
		chromedp.Click(chromedp.CSS("#signin-form button")))
}

// TestAuthPageSignUpSignOutSignIn: signing up upgrades the guest (same
// account ID, now with an email, under the name chosen); signing out plays
// on as a new guest; signing in again is the same account as before.
func TestAuthPageSignUpSignOutSignIn(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	id := openAccountPage(t, tb, base, "/?room=signup")

	signUp(tb, "Ann@Example.com", "correct horse", "Ann")
	waitFor(tb, "the guest to become Ann's account", `window.arena.auth.account && !window.arena.auth.account.guest
		&& window.arena.account && window.arena.account.name === 'Ann' && window.arena.connected`, 10*time.Second)
	got := eval[[]string](tb, `[window.arena.auth.account.id, window.arena.account.id, document.getElementById('account-line').textContent,
		window.arena.players.get(window.arena.id)?.name ?? '', document.getElementById('account').dataset.state]`)
	if got[0] != id || got[1] != id || !strings.Contains(got[2], "Ann") || got[4] != "member" {
		t.Errorf("after sign up: %q; want the guest's id %s kept", got, id)
	}
	waitFor(tb, "the own dot named Ann", `window.arena.players.get(window.arena.id)?.name === 'Ann'`, 5*time.Second)

	tb.do(chromedp.Click(chromedp.CSS("#signout")))
	waitFor(tb, "a new guest after signing out", fmt.Sprintf(`window.arena.auth.account && window.arena.auth.account.guest
		&& window.arena.account && window.arena.account.id !== %q && window.arena.connected`, id), 10*time.Second)

	signIn(tb, "ann@example.COM", "correct horse")
	waitFor(tb, "Ann's account again", fmt.Sprintf(`window.arena.account && window.arena.account.id === %q
		&& window.arena.auth.account.name === 'Ann' && window.arena.connected`, id), 10*time.Second)
}

// TestAuthPageWrongPasswordSaysSo: a failed sign-in leaves the player as
// they were and says why in the server's words (which do not tell whether
// the email exists).
func TestAuthPageWrongPasswordSaysSo(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	tb.allowConsole(`status of 401 .*/api/auth/login`)
	id := openAccountPage(t, tb, base, "/?room=wrong")
	signIn(tb, "nobody@example.com", "not the password")
	waitFor(tb, "the error", `document.getElementById('account-error').textContent !== ''`, 5*time.Second)
	if msg := eval[string](tb, `document.getElementById('account-error').textContent`); msg != "wrong email or password" {
		t.Errorf("the error says %q", msg)
	}
	if got := eval[string](tb, `window.arena.account.id`); got != id {
		t.Errorf("after a failed sign-in the player is %s; want still %s", got, id)
	}
}

// TestAuthPageReloadKeepsTheAccount: a reload (or a visit later) signs in
// with the kept refresh token, which the refresh rotates: the same account
// plays on, with no new guest.
func TestAuthPageReloadKeepsTheAccount(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	id := openAccountPage(t, tb, base, "/?room=reload")
	kept := eval[string](tb, `localStorage.getItem('arena.refresh')`)
	if got := reloadAccountPage(t, tb); got != id {
		t.Errorf("after a reload the account is %s; want %s", got, id)
	}
	if now := eval[string](tb, `localStorage.getItem('arena.refresh')`); now == kept || now == "" {
		t.Errorf("the kept refresh token was not rotated: %q then %q", kept, now)
	}
	tb.mu.Lock()
	n := 0
	for _, u := range tb.requests {
		if u == base+"/api/auth/guest" {
			n++
		}
	}
	tb.mu.Unlock()
	if n != 1 {
		t.Errorf("%d guests made over a reload; want 1", n)
	}
}

// TestAuthPageRename: the name field renames the account (PATCH /api/me),
// and the player rejoins under it at once.
func TestAuthPageRename(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	openAccountPage(t, tb, base, "/?room=rename")
	tb.do(chromedp.SetValue(chromedp.CSS("#name"), "Zed <b>"), chromedp.Click(chromedp.CSS("#name-form button")))
	waitFor(tb, "the new name", `window.arena.connected && window.arena.account?.name === 'Zed <b>'
		&& window.arena.players.get(window.arena.id)?.name === 'Zed <b>'`, 10*time.Second)
	// Names are text, never markup.
	if got := eval[string](tb, `document.querySelector('#account-line .who').textContent + '|' + document.querySelectorAll('#account-line b').length`); got != "Zed <b>|0" {
		t.Errorf("the account line: %q", got)
	}
}

// TestAuthPageSignOutEverywhere: "sign out everywhere" ends the account's
// other sessions at once: a second device playing as it is closed with
// signed_out (4004), final, and its refresh token no longer works.
func TestAuthPageSignOutEverywhere(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	tb.allowConsole(`status of 401 .*/api/auth/refresh`)
	id := openAccountPage(t, tb, base, "/?room=everywhere")
	signUp(tb, "bo@example.com", "long enough", "")
	waitFor(tb, "Bo's account", `window.arena.auth.account && !window.arena.auth.account.guest`, 10*time.Second)
	// The other device: a client of its own, in memory, in the same room.
	eval[bool](tb, `(async () => {
		const sdk = await import('/sdk/arena.js');
		const auth = new sdk.Auth({ storage: sdk.memoryStorage() });
		await auth.login({ email: 'bo@example.com', password: 'long enough' });
		window.other = { auth, statuses: [], game: new sdk.Client({ auth }) };
		window.other.game.on('status', (s) => window.other.statuses.push(s));
		window.other.game.join({ room: 'everywhere-2' });
		return true;
	})()`)
	waitFor(tb, "the other device to play", fmt.Sprintf(`window.other.game.connected && window.other.game.account?.id === %q`, id), 10*time.Second)
	tb.do(chromedp.Click(chromedp.CSS("#signout-all")))
	waitFor(tb, "the other device closed for good", `window.other.statuses.some((s) => s.final && s.code === 4004)`, 10*time.Second)
	waitFor(tb, "this page to play on as a new guest", fmt.Sprintf(`window.arena.connected && window.arena.account && window.arena.account.id !== %q`, id), 10*time.Second)
	if code := eval[int](tb, `window.other.auth.refresh().then(() => 0, (e) => e.status)`); code != 401 {
		t.Errorf("the other device's refresh after sign-out everywhere: %d; want 401", code)
	}
}

// TestAuthPageExportAndDelete: "Your data" downloads what the account
// holds, and deletes the account: the page plays on as a new guest, and
// the account's email signs in no more.
func TestAuthPageExportAndDelete(t *testing.T) {
	base := accountsSite(t)
	tb := newTab(t)
	tb.allowConsole(`status of 401 .*/api/auth/login`)
	id := openAccountPage(t, tb, base, "/?room=data")
	signUp(tb, "cy@example.com", "long enough", "Cy")
	waitFor(tb, "Cy's account", `window.arena.account?.name === 'Cy' && window.arena.connected`, 10*time.Second)
	tb.do(chromedp.Click(chromedp.CSS("#account-data summary")), chromedp.Click(chromedp.CSS("#export")))
	waitFor(tb, "the export", `!document.getElementById('export').disabled`, 5*time.Second)
	if !tb.requested(base + "/api/me/export") {
		t.Error("no GET /api/me/export")
	}
	if msg := eval[string](tb, `document.getElementById('account-error').textContent`); msg != "" {
		t.Errorf("the export says %q", msg)
	}
	tb.do(chromedp.Click(chromedp.CSS("#delete")), chromedp.Click(chromedp.CSS("#delete-yes")))
	waitFor(tb, "a new guest after the deletion", fmt.Sprintf(`window.arena.connected && window.arena.account
		&& window.arena.account.id !== %q && window.arena.auth.account.guest`, id), 10*time.Second)
	if code := eval[string](tb, `(async () => {
		const sdk = await import('/sdk/arena.js');
		const other = new sdk.Auth({ storage: sdk.memoryStorage() });
		return other.login({ email: 'cy@example.com', password: 'long enough' }).then(() => 'signed in', (e) => e.code);
	})()`); code != "bad_credentials" {
		t.Errorf("signing in to the deleted account: %q; want bad_credentials", code)
	}
}

// TestAuthPageTwoTabsTwoPlayers: one account holds one seat a room, so a
// second tab of the page in the same browser plays as a guest of its own
// (kept for that tab) instead of taking the first tab's seat; each keeps
// its player over a reload.
func TestAuthPageTwoTabsTwoPlayers(t *testing.T) {
	base := accountsSite(t)
	one := newTab(t)
	id1 := openAccountPage(t, one, base, "/?room=tabs")
	two := newTab(t)
	id2 := openAccountPage(t, two, base, "/?room=tabs")
	if id1 == id2 {
		t.Fatalf("two tabs play as one account, %s", id1)
	}
	if roles := eval[string](one, `window.arena.tab`) + " " + eval[string](two, `window.arena.tab`); roles != "main extra" {
		t.Errorf("tab roles %q; want main extra", roles)
	}
	waitFor(one, "both players in the room", `window.arena.players.size >= 2`, 5*time.Second)
	if !eval[bool](one, `window.arena.connected`) {
		t.Error("the first tab lost its seat to the second")
	}
	if got := reloadAccountPage(t, two); got != id2 {
		t.Errorf("the second tab after a reload plays as %s; want its own guest %s", got, id2)
	}
	if got := reloadAccountPage(t, one); got != id1 {
		t.Errorf("the first tab after a reload plays as %s (%s); want the browser's account %s", got, eval[string](one, `window.arena.tab + ' ' + sessionStorage.getItem('arena.tab')`), id1)
	}
}
