package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/arenatest"
)

// openPhone opens arena's page at path in a 390×844 touch phone and waits
// until it plays.
func openPhone(t *testing.T, srv *arenatest.Server, path string) *tab {
	t.Helper()
	tb := newTab(t)
	tb.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	tb.navigate(srv.URL + path)
	waitFor(tb, "the page to connect and be welcomed", `window.arena && window.arena.connected && window.arena.tick > 0`, 10*time.Second)
	return tb
}

// hintText is the movement hint as a person sees it.
const hintText = `document.getElementById('hint').innerText.trim()`

func TestPhoneHintAndLobby(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	desk, _ := openArena(t, srv, "/")
	if hint := eval[string](desk, hintText); hint != "Move with the arrow keys or W A S D, or hold the pad." {
		t.Errorf("on a desktop the hint says %q", hint)
	}

	phone := openPhone(t, srv, "/")
	if hint := eval[string](phone, hintText); hint != "Hold an arrow of the pad to move." {
		t.Errorf("on a phone the hint says %q; want the pad, not keys", hint)
	}
	// The Rooms button opens the lobby and brings it into view.
	phone.do(chromedp.Click(chromedp.CSS("#lobby-toggle")))
	waitFor(phone, "the lobby scrolled into view", `(() => {
		const l = document.getElementById('lobby').getBoundingClientRect();
		const bottom = document.documentElement.scrollHeight - innerHeight;
		return l.height > 0 && scrollY > 0 && l.top >= -1 && (l.top < 2 || scrollY >= bottom - 1);
	})()`, 3*time.Second)
}

func TestRoomNamePatternIsValid(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb, _ := openArena(t, srv, "/")
	// An invalid pattern is ignored by Chromium (with a console error), so
	// every value would pass.
	got := eval[[]bool](tb, `(() => {
		const f = document.getElementById('new-room');
		const ok = (v) => { f.value = v; return f.validity.valid; };
		const r = [ok('e2e-room_1'), ok('no spaces'), ok('ü')];
		f.value = '';
		return r;
	})()`)
	if !got[0] || got[1] || got[2] {
		t.Errorf("room-name field validity for [e2e-room_1, 'no spaces', ü] = %v; want [true false false]", got)
	}
}

func TestNicknameAppliesAtOnce(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb, _ := openArena(t, srv, "/?room=names")
	other, _ := openArena(t, srv, "/?room=names")
	tb.do(chromedp.SetValue(chromedp.CSS("#name"), "Zed"), chromedp.Click(chromedp.CSS("#name-form button")))
	waitFor(tb, "the new name on the own dot, in the same room", `window.arena.connected && window.arena.room === 'names'
		&& window.arena.players.get(window.arena.id)?.name === 'Zed'`, 5*time.Second)
	waitFor(other, "the other player seeing the new name", `[...window.arena.players.values()].some((e) => e.name === 'Zed')`, 5*time.Second)
	if toast := eval[string](tb, `document.getElementById('toasts').textContent`); toast == "" || strings.Contains(toast, "next join") {
		t.Errorf("the rename says %q", toast)
	}
}

// drawnOutside lists what the last frame drew outside the canvas.
const drawnOutside = `(() => {
	const c = document.getElementById('field');
	return window.arena.drawn.filter((d) => d.box[0] < 0 || d.box[1] < 0 || d.box[2] > c.width || d.box[3] > c.height)
		.map((d) => d.label + ' ' + JSON.stringify(d.box.map(Math.round)) + ' in ' + c.width + '×' + c.height).join('; ');
})()`

func TestFieldShowsEdgesNamesAndIt(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	one, id := openArena(t, srv, "/?mode=tag")
	room := eval[string](one, `window.arena.room`)
	two, id2 := openArena(t, srv, "/?room="+room)
	waitFor(one, "both players drawn", `window.arena.drawn.length === 2`, 5*time.Second)

	// Other players carry a label: their name, or their number.
	label := eval[string](one, fmt.Sprintf(`window.arena.drawn.find((d) => d.id === %d)?.label ?? ''`, id2))
	if !strings.HasSuffix(label, "#"+strconv.Itoa(id2)) {
		t.Errorf("the other player is labelled %q; want #%d", label, id2)
	}
	// Tag's chaser is drawn marked "it" in both tabs.
	for _, tb := range []*tab{one, two} {
		waitFor(tb, "a player drawn as it, labelled IT", `window.arena.drawn.some((d) => d.it && d.label.startsWith('IT '))`, 3*time.Second)
	}

	// A dot at the edge of the world is drawn whole, ring and label too.
	for _, k := range []key{keyLeft, keyUp} {
		tb := one
		tb.keyEvent(input.DispatchKeyEventTypeKeyDown, k)
		axis := map[key]string{keyLeft: "x", keyUp: "y"}[k]
		waitFor(tb, "the own dot at the edge", fmt.Sprintf(`window.arena.players.get(%d)?.%s === 10`, id, axis), 8*time.Second)
		tb.keyEvent(input.DispatchKeyEventTypeKeyUp, k)
		waitFor(tb, "the own dot drawn at the edge", fmt.Sprintf(`window.arena.me && window.arena.me.%s === 10`, axis), 3*time.Second)
		if out := eval[string](tb, drawnOutside); out != "" {
			t.Errorf("at the edge (%s = 10), drawn outside the canvas: %s", axis, out)
		}
	}
	for _, k := range []key{keyDown, keyRight} {
		one.keyEvent(input.DispatchKeyEventTypeKeyDown, k)
	}
	waitFor(one, "the own dot in the far corner", fmt.Sprintf(`(() => { const e = window.arena.players.get(%d); return e && e.x === 490 && e.y === 490; })()`, id), 10*time.Second)
	for _, k := range []key{keyDown, keyRight} {
		one.keyEvent(input.DispatchKeyEventTypeKeyUp, k)
	}
	waitFor(one, "the own dot drawn in the corner", `window.arena.me && window.arena.me.x === 490 && window.arena.me.y === 490`, 3*time.Second)
	if out := eval[string](one, drawnOutside); out != "" {
		t.Errorf("in the far corner, drawn outside the canvas: %s", out)
	}
}

func TestFavicon(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb, _ := openArena(t, srv, "/")
	got := eval[string](tb, `(async () => {
		const href = document.querySelector('link[rel="icon"]').href;
		const r = await fetch(href);
		const root = await fetch('/favicon.ico');
		return [href.replace(location.origin, ''), r.status, r.headers.get('content-type'), root.status].join(' ');
	})()`)
	if got != "/favicon.ico 200 image/x-icon 200" && got != "/favicon.ico 200 image/vnd.microsoft.icon 200" {
		t.Errorf("favicon: %s", got)
	}
}

// TestPageRunsOnlyItsOwnScriptsAndStyles: the page plays under its
// Content-Security-Policy, and a script or style attribute that got into it
// some other way than from its own files does not apply.
func TestPageRunsOnlyItsOwnScriptsAndStyles(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb, _ := openArena(t, srv, "/")
	tb.allowConsole(`violates the following Content Security Policy directive`)
	got := eval[[]bool](tb, `(() => {
		const s = document.createElement('script');
		s.textContent = 'window.inlineRan = true';
		document.body.append(s);
		const d = document.createElement('div');
		d.setAttribute('style', 'display: block; width: 123px');
		document.body.append(d);
		const styled = d.getBoundingClientRect().width === 123;
		s.remove();
		d.remove();
		return [window.inlineRan === true, styled];
	})()`)
	if got[0] || got[1] {
		t.Errorf("an inline script ran: %v; an inline style applied: %v; want neither", got[0], got[1])
	}
}
