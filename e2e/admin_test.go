package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/internal/arenatest"
	"github.com/arena-server/arena/server"
)

func TestAdminPage(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.AdminToken = "let-me-in" }})
	player := arenatest.Dial(t, srv.WSURL+"?room=watched", nil)
	player.Init()
	long := arenatest.Dial(t, srv.WSURL+"?room=a-room-name-of-thirty-two-chars", nil) // widens the table
	long.Init()

	tb := newTab(t)
	tb.allowConsole(`status of 401 .*/admin/api/stats`) // the wrong token, on purpose
	tb.navigate(srv.URL + "/admin/")
	waitFor(tb, "the sign-in form", `!document.getElementById('login').hidden`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS("#login button")))
	waitFor(tb, "the refusal", `document.getElementById('login-error').textContent.includes('refused')`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#token"), "let-me-in"), chromedp.Click(chromedp.CSS("#login button")))
	waitFor(tb, "the dashboard", `!document.getElementById('dash').hidden`, 5*time.Second)
	// Signed in, the form and the earlier refusal are gone from the screen.
	if shown := eval[string](tb, `(() => {
		const f = document.getElementById('login'), e = document.getElementById('login-error');
		return [getComputedStyle(f).display !== 'none' && 'the sign-in form', e.textContent && 'the refusal: ' + e.textContent].filter(Boolean).join(', ');
	})()`); shown != "" {
		t.Errorf("after signing in the page still shows %s", shown)
	}
	// The charts fill as the page polls, once a second.
	waitFor(tb, "three samples in every chart", `Object.values(window.arenaAdmin.series).every((s) => s.length >= 3)`, 8*time.Second)
	waitFor(tb, "the room in the table", `document.getElementById('rooms').textContent.includes('watched')`, 2*time.Second)
	if got := eval[string](tb, `document.getElementById('v-players').textContent`); got != "2" {
		t.Errorf("players tile shows %q; want 2", got)
	}
	if drawn := eval[bool](tb, `[...document.querySelectorAll('canvas[data-series]')].every((c) => c.width > 0)`); !drawn {
		t.Error("charts not drawn")
	}
	if off := tb.offOrigin(srv.URL); len(off) > 0 {
		t.Errorf("the admin page requested %v", off)
	}
	// On a 390 px phone nothing makes the page wider than the screen; the
	// rooms table scrolls inside its box.
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	if wide := eval[string](tb, `(() => {
		const bad = [];
		// A phone widens its layout viewport to fit content that is too wide.
		if (innerWidth > 390) bad.push('the layout is ' + innerWidth + ' px wide');
		if (document.documentElement.scrollWidth > innerWidth) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
		const w = document.querySelector('#rooms').closest('.table-wrap');
		if (!w || w.getBoundingClientRect().right > 390) bad.push('the rooms table reaches past the screen');
		return bad.join('; ');
	})()`); wide != "" {
		t.Errorf("on a 390 px phone: %s", wide)
	}
	// The token is not in the URL.
	if u := eval[string](tb, `location.href`); u != srv.URL+"/admin/" {
		t.Errorf("admin URL became %s", u)
	}
}
