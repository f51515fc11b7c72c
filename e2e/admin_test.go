package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/internal/natstest"
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
	// Alone, the server shows no cluster and its rooms no node.
	if shown := eval[string](tb, `(() => {
		const seen = (el) => getComputedStyle(el).display !== 'none';
		return [seen(document.getElementById('cluster')) && 'the cluster table',
			seen(document.getElementById('room-node')) && 'a node column',
			document.querySelector('#rooms tr').cells.length !== 6 && 'room rows of ' + document.querySelector('#rooms tr').cells.length + ' cells'].filter(Boolean).join(', ');
	})()`); shown != "" {
		t.Errorf("a server without a cluster shows %s", shown)
	}
	if drawn := eval[bool](tb, `[...document.querySelectorAll('canvas[data-series]')].every((c) => c.width > 0)`); !drawn {
		t.Error("charts not drawn")
	}
	if off := tb.offOrigin(srv.URL); len(off) > 0 {
		t.Errorf("the admin page requested %v", off)
	}
	// On a 390 px phone nothing makes the page wider than the screen; the
	// rooms table scrolls inside its box.
	fitsAPhone(t, tb, "#rooms")
	// The token is not in the URL.
	if u := eval[string](tb, `location.href`); u != srv.URL+"/admin/" {
		t.Errorf("admin URL became %s", u)
	}
}

// TestAdminPageShowsTheCluster: on a two-node cluster, the admin page of one
// node lists both nodes in its Cluster table, ready, with their load, and
// says which node runs each room.
func TestAdminPageShowsTheCluster(t *testing.T) {
	ns := natstest.Start(t)
	admin := func(c *server.Config) { c.AdminToken = "let-me-in" }
	east := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "east", Config: admin})
	west := arenatest.Start(t, arenatest.Options{NATS: ns, Node: "west", Config: admin})
	arenatest.Dial(t, east.WSURL+"?room=east-room", nil).Init()
	arenatest.Dial(t, west.WSURL+"?room=west-room", nil).Init()

	tb := newTab(t)
	tb.navigate(east.URL + "/admin/")
	waitFor(tb, "the sign-in form", `!document.getElementById('login').hidden`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#token"), "let-me-in"), chromedp.Click(chromedp.CSS("#login button")))
	waitFor(tb, "the dashboard", `!document.getElementById('dash').hidden`, 5*time.Second)
	// Nodes see each other, and their loads reach the directory, within a
	// few heartbeats.
	cells := `[...document.querySelectorAll('#nodes tr')].map((tr) => [...tr.cells].map((td) => td.textContent).join('|'))`
	want := fmt.Sprintf(`east (this node)|%s/|1|1|ready, west|%s/|1|1|ready`, east.URL, west.URL)
	waitFor(tb, "both nodes with their load in the Cluster table",
		fmt.Sprintf(`%s.map((r) => r.split('|').slice(0, 5).join('|')).join(', ') === %q`, cells, want), 10*time.Second)
	if got := eval[string](tb, cells+`.map((r) => r.split('|')[5]).join(', ')`); got == "" {
		t.Error("no heartbeat ages")
	}
	if hidden := eval[bool](tb, `getComputedStyle(document.getElementById('cluster')).display === 'none'`); hidden {
		t.Error("the Cluster table is hidden")
	}
	rooms := `[...document.querySelectorAll('#rooms tr')].map((tr) => tr.cells[0].textContent + '@' + tr.cells[1].textContent).join(', ')`
	waitFor(tb, "each room with its node", rooms+` === 'east-room@east, west-room@west'`, 5*time.Second)
	if hidden := eval[bool](tb, `getComputedStyle(document.getElementById('room-node')).display === 'none'`); hidden {
		t.Error("the rooms table's node column is hidden")
	}
	// The tiles are this node's.
	if got := eval[string](tb, `document.getElementById('v-players').textContent + ' players, ' + document.getElementById('v-rooms').textContent + ' rooms'`); got != "1 players, 1 rooms" {
		t.Errorf("tiles show %s; want this node's 1 players, 1 rooms", got)
	}
	if off := tb.offOrigin(east.URL); len(off) > 0 {
		t.Errorf("the admin page requested %v", off)
	}
	// On a 390 px phone the Cluster table, URLs and all, scrolls inside its
	// box too.
	fitsAPhone(t, tb, "#nodes")
}

// fitsAPhone checks that on a 390 px phone nothing makes the page wider
// than the screen, and that the table (a CSS selector) scrolls inside its
// box.
func fitsAPhone(t *testing.T, tb *tab, table string) {
	t.Helper()
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	if wide := eval[string](tb, fmt.Sprintf(`(() => {
		const bad = [];
		// A phone widens its layout viewport to fit content that is too wide.
		if (innerWidth > 390) bad.push('the layout is ' + innerWidth + ' px wide');
		if (document.documentElement.scrollWidth > innerWidth) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
		const w = document.querySelector(%[1]q).closest('.table-wrap');
		if (!w || w.getBoundingClientRect().right > 390) bad.push('the table ' + %[1]q + ' reaches past the screen');
		return bad.join('; ');
	})()`, table)); wide != "" {
		t.Errorf("on a 390 px phone: %s", wide)
	}
}
