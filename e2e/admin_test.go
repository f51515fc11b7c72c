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

	tb := newTab(t)
	tb.navigate(srv.URL + "/admin/")
	waitFor(tb, "the sign-in form", `!document.getElementById('login').hidden`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS("#login button")))
	waitFor(tb, "the refusal", `document.getElementById('login-error').textContent.includes('refused')`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#token"), "let-me-in"), chromedp.Click(chromedp.CSS("#login button")))
	waitFor(tb, "the dashboard", `!document.getElementById('dash').hidden`, 5*time.Second)
	// The charts fill as the page polls, once a second.
	waitFor(tb, "three samples in every chart", `Object.values(window.arenaAdmin.series).every((s) => s.length >= 3)`, 8*time.Second)
	waitFor(tb, "the room in the table", `document.getElementById('rooms').textContent.includes('watched')`, 2*time.Second)
	if got := eval[string](tb, `document.getElementById('v-players').textContent`); got != "1" {
		t.Errorf("players tile shows %q; want 1", got)
	}
	if drawn := eval[bool](tb, `[...document.querySelectorAll('canvas[data-series]')].every((c) => c.width > 0)`); !drawn {
		t.Error("charts not drawn")
	}
	if off := tb.offOrigin(srv.URL); len(off) > 0 {
		t.Errorf("the admin page requested %v", off)
	}
	// The token is not in the URL.
	if u := eval[string](tb, `location.href`); u != srv.URL+"/admin/" {
		t.Errorf("admin URL became %s", u)
	}
}
