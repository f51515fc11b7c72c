package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
)

// TestAdminPageAccounts: on the admin page, an admin finds an account,
// bans it for a day with a reason, and sees the ban in its audit log and
// the recent log; the account's token is refused at once. Unban and
// revoke follow. Names and reasons are shown as text, never markup.
func TestAdminPageAccounts(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "arena.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var (
		mu      sync.Mutex
		revoked []string
	)
	svc, err := accounts.New(ctx, accounts.Config{
		DB:  db,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnRevoke: func(id string, why accounts.Revocation) {
			mu.Lock()
			revoked = append(revoked, id+":"+why.String())
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	guest := func(name string) accounts.Session {
		t.Helper()
		rec := httptest.NewRecorder()
		svc.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/api/auth/guest", strings.NewReader(`{"name":"`+name+`"}`)))
		var s accounts.Session
		if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &s) != nil {
			t.Fatalf("guest %s: HTTP %d %s", name, rec.Code, rec.Body)
		}
		return s
	}
	mallory := guest("Mallory")
	guest("Alice")
	// A name that is markup (the store takes any; the page must show it
	// as the text it is).
	if err := db.CreateAccount(ctx, store.Account{ID: accounts.NewID(), Name: "<i>Eve</i>", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.AdminToken = "let-me-in"
		c.AdminAPI = svc.AdminHandler()
	}})
	tb := newTab(t)
	tb.navigate(srv.URL + "/admin/")
	waitFor(tb, "the sign-in form", `!document.getElementById('login').hidden`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#token"), "let-me-in"), chromedp.Click(chromedp.CSS("#login button")))
	waitFor(tb, "the Accounts section listing every account", `!document.getElementById('accounts').hidden &&
		document.querySelectorAll('#acct-list tr').length === 3`, 5*time.Second)
	if got := eval[string](tb, `document.querySelector('#acct-list tr').cells[0].textContent + '|' + document.querySelectorAll('#acct-list i').length`); got != "<i>Eve</i>|0" {
		t.Errorf("the newest account's name shows as %q; want the text <i>Eve</i>, no markup", got)
	}

	// Find Mallory, and open her.
	tb.do(chromedp.SetValue(chromedp.CSS("#acct-q"), "mall"), chromedp.Click(chromedp.CSS("#acct-search button")))
	rows := `[...document.querySelectorAll('#acct-list tr')].map((tr) => [...tr.cells].map((td) => td.textContent).join('|'))`
	waitFor(tb, "Mallory alone in the results", rows+`.length === 1 && `+rows+`[0].startsWith('Mallory|`+mallory.Account.ID+`|(guest)|')`, 5*time.Second)
	if got := eval[string](tb, rows+`[0].split('|')[4]`); got != "active" {
		t.Errorf("Mallory's status: %q; want active", got)
	}
	tb.do(chromedp.Click(chromedp.CSS("#acct-list button")))
	waitFor(tb, "Mallory's card", `!document.getElementById('acct').hidden && document.getElementById('acct-title').textContent === 'Mallory'`, 5*time.Second)

	// Ban her for a day, with a reason that is markup too.
	tb.do(chromedp.SetValue(chromedp.CSS("#ban-reason"), "cheating <b>hard</b>"))
	tb.do(chromedp.SetValue(chromedp.CSS("#ban-for"), "24h"), chromedp.Click(chromedp.CSS("#ban")))
	waitFor(tb, "the ban in her card", `document.getElementById('acct-status').textContent.startsWith('banned until ') &&
		document.getElementById('acct-status').textContent.endsWith(': cheating <b>hard</b>')`, 5*time.Second)
	audit := func(tbody string) string {
		return `[...document.querySelectorAll('` + tbody + ` tr')].map((tr) => [...tr.cells].map((td) => td.textContent).join('|'))`
	}
	waitFor(tb, "the ban in her audit log", audit("#acct-audit")+`.length === 1 && /^[^|]+\|admin@127\.0\.0\.1\|ban\|until .+: cheating <b>hard<\/b>$/.test(`+audit("#acct-audit")+`[0])`, 5*time.Second)
	waitFor(tb, "the ban in the recent log", audit("#audit")+`.some((r) => r.includes('|ban|`+mallory.Account.ID+`|'))`, 5*time.Second)
	waitFor(tb, "her row marked banned", rows+`[0].split('|')[4].startsWith('banned until ')`, 5*time.Second)
	if n := eval[int](tb, `document.querySelectorAll('#acct b, #audit b').length`); n != 0 {
		t.Errorf("the reason was rendered as markup: %d <b> elements", n)
	}
	_, err = svc.Authenticate(ctx, mallory.AccessToken)
	if !errors.Is(err, accounts.ErrBanned) {
		t.Errorf("Mallory's token after the ban: %v; want banned", err)
	}
	es, err := db.AuditLog(ctx, mallory.Account.ID, 0)
	if err != nil || len(es) != 1 || es[0].Action != "ban" || es[0].Actor != "admin@127.0.0.1" || !strings.Contains(es[0].Detail, "cheating") {
		t.Errorf("the store's audit log: %+v, %v; want the ban", es, err)
	}
	a, err := db.AccountByID(ctx, mallory.Account.ID)
	if d := time.Until(a.BannedUntil); err != nil || d < 23*time.Hour || d > 24*time.Hour {
		t.Errorf("Mallory is banned until %v (%v from now), %v; want a day", a.BannedUntil, d, err)
	}

	// Unban, then revoke her sessions.
	tb.do(chromedp.Click(chromedp.CSS("#unban")))
	// The list too, before the next click: its row shrinks as the ban's
	// text goes, moving the card's buttons up.
	waitFor(tb, "the unban", `document.getElementById('acct-status').textContent === 'active' && `+audit("#acct-audit")+`[0].split('|')[2] === 'unban' &&
		`+rows+`[0].split('|')[4] === 'active'`, 5*time.Second)
	if _, err := svc.Authenticate(ctx, mallory.AccessToken); err != nil {
		t.Errorf("Mallory's token after the unban: %v", err)
	}
	tb.do(chromedp.Click(chromedp.CSS("#revoke")))
	waitFor(tb, "the revoke", audit("#acct-audit")+`.length === 3 && `+audit("#acct-audit")+`[0].split('|')[2] === 'revoke_sessions' &&
		document.getElementById('acct-info').textContent.includes('sessions revoked')`, 5*time.Second)
	if _, err := svc.Authenticate(ctx, mallory.AccessToken); !errors.Is(err, accounts.ErrRevoked) {
		t.Errorf("Mallory's token after the revoke: %v; want revoked", err)
	}
	mu.Lock()
	if got := strings.Join(revoked, ","); got != mallory.Account.ID+":banned,"+mallory.Account.ID+":signed_out" {
		t.Errorf("OnRevoke calls: %s", got)
	}
	mu.Unlock()

	if off := tb.offOrigin(srv.URL); len(off) > 0 {
		t.Errorf("the admin page requested %v", off)
	}
	fitsAPhone(t, tb, "#acct-list")
	fitsAPhone(t, tb, "#acct-audit")
}
