package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// openArena opens arena's page at path and waits until it plays.
func openArena(t *testing.T, srv *arenatest.Server, path string) (*tab, int) {
	t.Helper()
	tb := newTab(t)
	tb.navigate(srv.URL + path)
	waitFor(tb, "the page to connect and be welcomed", `window.arena && window.arena.connected && window.arena.id > 0 && window.arena.tick > 0`, 10*time.Second)
	return tb, eval[int](tb, `window.arena.id`)
}

// serverX is where the server last put player id, as tb sees it.
func serverPos(tb *tab, id int) (x, y float64) {
	xy := eval[[]float64](tb, fmt.Sprintf(`(() => { const e = window.arena.players.get(%d); return e ? [e.x, e.y] : [-1, -1]; })()`, id))
	return xy[0], xy[1]
}

// waitMoved waits until tb sees player id at least dist px from (x, y) along
// the axis and direction given.
func waitMoved(tb *tab, id int, axis string, from, dir, dist float64) {
	tb.t.Helper()
	waitFor(tb, fmt.Sprintf("player %d to move %v px along %s", id, dist*dir, axis), fmt.Sprintf(
		`(() => { const e = window.arena.players.get(%d); return e && (e.%s - %v) * %v >= %v; })()`, id, axis, from, dir, dist), 5*time.Second)
}

// waitStill waits until player id has not moved for 300 ms, as tb sees it.
func waitStill(tb *tab, id int) {
	tb.t.Helper()
	waitFor(tb, fmt.Sprintf("player %d to stand still", id), fmt.Sprintf(`(() => {
		const e = window.arena.players.get(%d), now = performance.now();
		const w = window.__still;
		if (!e) return false;
		if (!w || w.id !== e.id || w.x !== e.x || w.y !== e.y) { window.__still = { id: e.id, x: e.x, y: e.y, t: now }; return false; }
		return now - w.t > 300;
	})()`, id), 5*time.Second)
}

// padLayoutProblems is a script that lists what is wrong with the layout of
// the field and the pad in the current viewport, or returns "".
const padLayoutProblems = `(() => {
	const f = document.getElementById('field').getBoundingClientRect();
	const pad = document.querySelector('.pad').getBoundingClientRect();
	const btn = document.querySelector('.pad [data-dir="up"]');
	const bad = [];
	if (getComputedStyle(document.querySelector('.pad')).display === 'none') bad.push('the pad is hidden');
	if (document.documentElement.scrollWidth > innerWidth) bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px wide');
	if (f.left < 0 || f.right > innerWidth || f.top < 0 || f.bottom > innerHeight) bad.push('the field is not all on screen: ' + JSON.stringify(f));
	if (f.width < 300 || Math.abs(f.width - f.height) > 1) bad.push('the field is ' + f.width + '×' + f.height);
	if (pad.top < f.bottom || pad.bottom > innerHeight || pad.width < 100) bad.push('the pad is not below the field on screen: ' + JSON.stringify(pad));
	if (getComputedStyle(btn.querySelector('svg')).fill === getComputedStyle(btn).backgroundColor) bad.push('the pad arrows have the colour of their buttons');
	return bad.join('; ');
})()`

// padButton is where the centre of the pad's button for dir ("up", "down",
// ...) is in tb's viewport.
func padButton(tb *tab, dir string) []float64 {
	return eval[[]float64](tb, `(() => { const b = document.querySelector('.pad [data-dir="`+dir+`"]').getBoundingClientRect(); return [b.x + b.width/2, b.y + b.height/2]; })()`)
}

func away(v float64) (dir float64) {
	if v > 250 {
		return -1
	}
	return 1
}

func TestArenaClientTwoTabs(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	one, id := openArena(t, srv, "/")
	two, id2 := openArena(t, srv, "/")
	waitFor(two, "tab one's player", fmt.Sprintf(`window.arena.players.has(%d)`, id), 5*time.Second)
	for tb, id := range map[*tab]int{one: id, two: id2} {
		if st := eval[string](tb, `document.getElementById('status').textContent + ' ' + document.getElementById('player-id').textContent`); st != "connected #"+strconv.Itoa(id) {
			t.Errorf("tab of player %d shows %q", id, st)
		}
	}

	// Arrow keys and W/A/S/D, each seen from the other tab.
	x0, _ := serverPos(two, id)
	k := map[float64]key{1: keyRight, -1: keyLeft}[away(x0)]
	one.hold(k, 400*time.Millisecond)
	waitMoved(two, id, "x", x0, away(x0), 40)
	waitStill(two, id)
	x1, y1 := serverPos(two, id)
	kw := map[float64]key{1: keyS, -1: keyW}[away(y1)]
	one.hold(kw, 400*time.Millisecond)
	waitMoved(two, id, "y", y1, away(y1), 40)
	waitStill(two, id)
	if x, _ := serverPos(two, id); x != x1 {
		t.Errorf("holding %s moved x from %v to %v", kw.key, x1, x)
	}

	// The on-screen pad with a mouse, on a desktop: it shows under the
	// field, both fit the window, and holding a pad button moves the dot.
	one.do(chromedp.EmulateViewport(1280, 800))
	if bad := eval[string](one, padLayoutProblems); bad != "" {
		t.Errorf("on a 1280×800 desktop: %s", bad)
	}
	_, yd := serverPos(two, id)
	dir := away(yd)
	btn := map[float64]string{1: "down", -1: "up"}[dir]
	c := padButton(one, btn)
	one.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, c[0], c[1], chromedp.ButtonLeft))
	time.Sleep(300 * time.Millisecond) // the button stays down for this long
	one.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, c[0], c[1], chromedp.ButtonLeft))
	waitMoved(two, id, "y", yd, dir, 30)
	waitStill(two, id)

	// The on-screen pad, on a phone: the whole field fits the screen, the
	// pad shows below it, and holding a pad button with a finger moves the
	// dot.
	one.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	waitFor(one, "the phone layout", `getComputedStyle(document.querySelector('.pad')).display === 'grid'`, 2*time.Second)
	if bad := eval[string](one, padLayoutProblems); bad != "" {
		t.Errorf("on a 390×844 phone: %s", bad)
	}
	x2, y2 := serverPos(two, id)
	dir = away(y2)
	btn = map[float64]string{1: "down", -1: "up"}[dir]
	c = padButton(one, btn)
	touch := func(typ input.DispatchTouchEventType, points []*input.TouchPoint) {
		if _, err := chromedp.Call(one.ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: points}); err != nil {
			t.Fatal(err)
		}
	}
	touch(input.DispatchTouchEventTypeTouchStart, []*input.TouchPoint{{X: c[0], Y: c[1]}})
	time.Sleep(400 * time.Millisecond) // the finger stays down for this long
	touch(input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{})
	waitMoved(two, id, "y", y2, dir, 40)
	waitStill(two, id)
	if x, _ := serverPos(two, id); x != x2 {
		t.Errorf("the %s button moved x", btn)
	}
	// And with a mouse.
	_, y3 := serverPos(two, id)
	dir = away(y3)
	btn = map[float64]string{1: "down", -1: "up"}[dir]
	c = padButton(one, btn)
	one.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)) // a mouse, not a finger
	one.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, c[0], c[1], chromedp.ButtonLeft))
	time.Sleep(300 * time.Millisecond) // the button stays down for this long
	one.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, c[0], c[1], chromedp.ButtonLeft))
	waitMoved(two, id, "y", y3, dir, 30)

	// Nothing but the server itself was ever asked for anything.
	for _, tb := range []*tab{one, two} {
		if !tb.requested(srv.WSURL) {
			t.Errorf("no WebSocket to %s recorded", srv.WSURL)
		}
		if off := tb.offOrigin(srv.URL, "ws://"+srv.Addr); len(off) > 0 {
			t.Errorf("the page made requests elsewhere: %v", off)
		}
	}

	// The server restarts. Both pages notice and count down; during the
	// countdown the player in tab two picks a room in the lobby, which
	// must not leave the old countdown running.
	addr := srv.Addr
	for _, tb := range []*tab{one, two} {
		tb.allowConsole(`ERR_CONNECTION_REFUSED`) // the server is down for a while
	}
	srv.Stop(t)
	for _, tb := range []*tab{one, two} {
		waitFor(tb, "the page to notice and count down", `!window.arena.connected && document.getElementById('player-id').textContent === '…'
			&& /reconnecting in \d+ s/.test(document.getElementById('banner').textContent)`, 5*time.Second)
	}
	two.do(chromedp.Click(chromedp.CSS("#quick-form button")))
	srv2 := arenatest.Start(t, arenatest.Options{Addr: addr})
	for _, tb := range []*tab{one, two} {
		waitFor(tb, "the page to reconnect by itself and be welcomed", `window.arena.connected && window.arena.tick > 0
			&& /^#\d+$/.test(document.getElementById('player-id').textContent) && document.getElementById('banner').hidden`, 20*time.Second)
	}
	// Each is a new player of the new server: another client of it sees
	// them there.
	for _, tb := range []*tab{one, two} {
		newID := strconv.Itoa(eval[int](tb, `window.arena.id`))
		if shown := eval[string](tb, `document.getElementById('player-id').textContent`); shown != "#"+newID {
			t.Errorf("a reconnected tab shows %q; its id is %s", shown, newID)
		}
		watcher := arenatest.Dial(t, srv2.WSURL+"?room="+url.QueryEscape(eval[string](tb, `window.arena.room`)), nil)
		watcher.Init()
		watcher.WaitFor(5*time.Second, "player "+newID+" in the new server's state", func(m *arenatest.Message) bool {
			_, ok := m.Player(newID)
			return m.Type == "state_update" && ok
		})
	}
	// And they stay connected: nothing left over from the outage says
	// otherwise.
	for _, tb := range []*tab{one, two} {
		waitFor(tb, "the status to stay 'connected' for a second", `(() => {
			const ok = window.arena.connected && document.getElementById('status').textContent === 'connected', now = performance.now();
			if (!ok) { window.__connectedSince = undefined; return false; }
			window.__connectedSince ??= now;
			return now - window.__connectedSince > 1000;
		})()`, 5*time.Second)
	}
}

func TestPredictionAndInterpolationUnderLatency(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.SendDelay = 150 * time.Millisecond
		c.SendJitter = 40 * time.Millisecond
	}})
	one, id := openArena(t, srv, "/")
	two, _ := openArena(t, srv, "/")
	waitFor(one, "a measured round trip", `window.arena.ping >= 150`, 10*time.Second)
	waitFor(two, "tab one's player", fmt.Sprintf(`window.arena.players.has(%d)`, id), 5*time.Second)
	x0, _ := serverPos(one, id)
	dir := away(x0)
	k := map[float64]key{1: keyRight, -1: keyLeft}[dir]
	eval[any](one, `(window.arena.trace = [], 0)`)
	eval[any](two, fmt.Sprintf(`(window.arena.watch = %d, window.arena.watchTrace = [], 0)`, id))
	pressed := eval[float64](one, `performance.now()`)
	one.hold(k, 1500*time.Millisecond)
	// The server's player stops; both tabs draw it where it stopped.
	waitStill(one, id)
	waitFor(one, "the own dot drawn where the server has it", fmt.Sprintf(
		`window.arena.me && window.arena.me.x === window.arena.players.get(%d).x`, id), 2*time.Second)
	waitFor(two, "the watched dot drawn where the server has it", fmt.Sprintf(
		`window.arena.watchTrace.length > 0 && window.arena.watchTrace.at(-1).x === window.arena.players.get(%d).x`, id), 2*time.Second)
	type sample struct{ T, X, Y float64 }
	var own, watched []sample
	if err := json.Unmarshal([]byte(eval[string](one, `JSON.stringify(window.arena.trace)`)), &own); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(eval[string](two, `JSON.stringify(window.arena.watchTrace)`)), &watched); err != nil {
		t.Fatal(err)
	}
	if len(own) < 40 || len(watched) < 40 {
		t.Fatalf("only %d and %d frames recorded in over 1.5 s", len(own), len(watched))
	}

	// The own dot answers at once: well before a round trip. (A frame's
	// time is when it began, which can be a little before the key press
	// the frame saw.)
	start := own[0].X
	answered := math.NaN()
	for _, s := range own {
		if (s.X-start)*dir > 0.5 {
			answered = s.T - pressed
			break
		}
	}
	if !(answered <= 120) {
		t.Errorf("the own dot first moved %.0f ms after the key went down; want well under the 150 ms round trip", answered)
	}
	// It never steps back, not even a little, and ends where the server
	// says it is.
	for i := 1; i < len(own); i++ {
		if back := (own[i-1].X - own[i].X) * dir; back > 0.01 {
			t.Fatalf("the own dot snapped back %.2f px at frame %d (%.0f ms after the press)", back, i, own[i].T-pressed)
		}
	}
	if n := eval[int](one, `window.arena.corrections`); n != 0 {
		t.Errorf("%d reconciliations disagreed with the prediction", n)
	}
	final, _ := serverPos(one, id)
	if last := own[len(own)-1].X; last != final || (final-x0)*dir < 200 {
		t.Errorf("the own dot rests at %v, the server has it at %v (from %v)", last, final, x0)
	}
	// It glides too: most frames draw it between the rule's 10 px steps.
	between, moving := 0, 0
	for i := 1; i < len(own); i++ {
		if own[i].X != own[i-1].X {
			moving++
			if math.Mod(own[i].X-x0, 10) != 0 && own[i].X != final {
				between++
			}
		}
	}
	if moving < 20 || between < moving/2 {
		t.Errorf("%d of %d moving frames drew the own dot between steps; want most", between, moving)
	}
	// The other tab draws it gliding: positions between the server's 10 px
	// steps, and no jump bigger than one step.
	// The dot moves 10 px per 50 ms tick: 0.2 px/ms. Drawn smoothly, no
	// frame moves it much faster than that, whatever the frame rate.
	between, moving = 0, 0
	for i := 1; i < len(watched); i++ {
		d := (watched[i].X - watched[i-1].X) * dir
		dt := watched[i].T - watched[i-1].T
		if d < -0.01 || d > 0.3*dt+1 {
			t.Fatalf("the watched dot moved %.2f px in a %.1f ms frame; a glide moves 0.2 px/ms", d, dt)
		}
		if d > 0 {
			moving++
			if math.Mod(watched[i].X-x0, 10) != 0 && watched[i].X != final {
				between++
			}
		}
	}
	if moving < 20 || between < moving/2 {
		t.Errorf("%d of %d moving frames drew the other dot between the server's steps; want most", between, moving)
	}
}

func TestRulesMatchTheServer(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	movesMatch(tb, "/js/rules.js", "../games/dots/testdata/moves.json")
}

// movesMatch checks a page module's move(x, y, buttons, size) against a
// mode's golden movement vectors (gametest.Golden writes them from the Go
// rules), so that the page's prediction and the server cannot drift apart.
func movesMatch(tb *tab, module, vectorsFile string) {
	tb.t.Helper()
	vectors, err := os.ReadFile(vectorsFile)
	if err != nil {
		tb.t.Fatal(err)
	}
	res := eval[[]float64](tb, `import('`+module+`').then((m) => {
		const vs = `+string(vectors)+`;
		let bad = 0;
		for (const v of vs) {
			const [x, y] = m.move(v.x, v.y, v.buttons, v.size);
			if (x !== v.want_x || y !== v.want_y) bad++;
		}
		return [vs.length, bad];
	})`)
	if res[0] < 500 || res[1] != 0 {
		tb.t.Errorf("%s: %v of %v movement vectors disagree with the Go rules", module, res[1], res[0])
	}
}

func TestLobbyNamesAndScores(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	one, _ := openArena(t, srv, "/")
	// A name too long is refused on the page.
	one.do(chromedp.SetValue(chromedp.CSS("#name"), "abcdefghijklmnopq"), chromedp.Click(chromedp.CSS("#name-form button")))
	waitFor(one, "the name error", `document.getElementById('name-error').textContent.includes('16')`, 2*time.Second)
	// A name that looks like markup is shown as text.
	one.do(chromedp.SetValue(chromedp.CSS("#name"), "<b>Ann</b>"), chromedp.Click(chromedp.CSS("#name-form button")))
	one.do(chromedp.SetValue(chromedp.CSS("#new-room"), "e2e-tag"), chromedp.SetValue(chromedp.CSS("#new-mode"), "tag"), chromedp.Click(chromedp.CSS("#create-form button")))
	waitFor(one, "the new tag room", `window.arena.room === 'e2e-tag' && window.arena.mode === 'tag' && window.arena.connected`, 10*time.Second)

	two, _ := openArena(t, srv, "/?mode=tag") // quick join: the fullest tag room
	if room := eval[string](two, `window.arena.room`); room != "e2e-tag" {
		t.Fatalf("quick join went to %q; want e2e-tag", room)
	}
	waitFor(two, "the scoreboard with both players", `(() => {
		const s = document.getElementById('scores');
		return !document.getElementById('scores-section').hidden && s.children.length === 2 && s.textContent.includes('<b>Ann</b>') && !s.querySelector('b');
	})()`, 5*time.Second)
	waitFor(two, "one player marked it", `document.getElementById('scores').textContent.includes('it!')`, 3*time.Second)
	waitFor(two, "the room list", `[...document.querySelectorAll('#rooms li')].some((li) => li.dataset.room === 'e2e-tag' && li.textContent.includes('tag · 2'))`, 8*time.Second)
	waitFor(one, "the name drawn from the server's state", `[...window.arena.players.values()].some((e) => e.name === '<b>Ann</b>')`, 3*time.Second)
}

func TestReloadResumesThePlayer(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb, id := openArena(t, srv, "/")
	x0, _ := serverPos(tb, id)
	k := map[float64]key{1: keyRight, -1: keyLeft}[away(x0)]
	tb.hold(k, 300*time.Millisecond)
	waitMoved(tb, id, "x", x0, away(x0), 20)
	waitStill(tb, id)
	before, y := serverPos(tb, id)
	tb.do(chromedp.Reload())
	waitFor(tb, "the page to come back", `window.arena && window.arena.connected && window.arena.tick > 0`, 10*time.Second)
	if again := eval[int](tb, `window.arena.id`); again != id {
		t.Fatalf("after a reload the player is %d; want %d resumed", again, id)
	}
	if x, y2 := serverPos(tb, id); x != before || y2 != y {
		t.Errorf("resumed at %v,%v; want %v,%v", x, y2, before, y)
	}
	// The page resumed with a resume message, not with ?token= in the URL
	// (which the server counts as deprecated).
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), `what="token_query"`) {
		t.Error("the page put its resume token in the WebSocket URL")
	}
}

// TestProtocolMatchesTheGoldenBytes checks the page's encoder and decoder
// against protocol/testdata/golden.txt, the bytes the Go side pins: the
// two sides of the wire cannot drift apart.
func TestProtocolMatchesTheGoldenBytes(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	golden, err := os.ReadFile("../protocol/testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	// In file order: a snapshot is decoded with the kinds of the welcome
	// before it, and applied to the world of the snapshot before it.
	var cases [][3]string // name, hex, the world after a snapshot (JSON)
	blocks := strings.Split(strings.TrimSpace(string(golden)), "\n\n")
	for _, b := range blocks {
		lines := strings.SplitN(b, "\n", 3)
		for len(lines) < 3 {
			lines = append(lines, "")
		}
		cases = append(cases, [3]string(lines))
	}
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	bad := eval[[]string](tb, `import('/js/protocol.js').then((p) => {
		const cases = `+string(js)+`;
		const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
		const bytes = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16))).buffer;
		const encoders = {
			'client input seq=7 buttons=Up|Right tick=300': () => p.encodeInput(7, 9, 300),
			'client input seq=8 buttons=Action tick=301 axes=[-1571 250]': () => p.encodeInput(8, 16, 301, [-1571, 250]),
			'client input seq=9 buttons=Action tick=302 lag=3 axes=[100]': () => p.encodeInput(9, 16, 302, [100], 3),
			'client message type=0 data="gg"': () => p.encodeMessage(0, 'gg'),
			'client ping time=1000': () => p.encodePing(1000),
			'client resync': () => p.encodeResync(),
			'client leave': () => p.encodeLeave(),
			'client resume token=tok': () => p.encodeResume('tok'),
			'client auth token=eyJ.e30.sig': () => p.encodeAuth('eyJ.e30.sig'),
			'client auth token=eyJ.e30.sig resume=tok': () => p.encodeAuth('eyJ.e30.sig', 'tok'),
		};
		const bad = [];
		let kinds, world = new Map(), state = { tick: -1 }, snapshots = 0;
		for (const [name, h, after] of cases) {
			if (name.startsWith('client')) {
				if (!encoders[name]) bad.push('no encoder for ' + name);
				else if (hex(encoders[name]()) !== h) bad.push(name + ': ' + hex(encoders[name]()) + ' != ' + h);
				continue;
			}
			try {
				const m = p.decode(bytes(h), kinds);
				if (m.type === 'welcome') kinds = m.kinds;
				if (m.type === 'snapshot') {
					snapshots++;
					if (!p.applySnapshot(world, state, m, kinds)) bad.push(name + ': not applied');
					const canon = (ents) => JSON.stringify(ents.map((e) => Object.keys(e).sort().map((k) => [k, e[k]])));
					const got = canon([...world.values()].sort((a, b) => a.id - b.id));
					const want = canon(JSON.parse(after));
					if (got !== want) bad.push(name + ': world ' + got + ' != ' + want);
				}
				if (name.includes('kinds=[player color score it') && !(m.kinds.length === 2 && m.kinds[0].fields[4].name === 'aim' && m.kinds[0].fields[4].scale === 1000 && m.kinds[0].fields[4].delta && m.kinds[0].fields[4].interp && m.kinds[0].fields[6].values[1] === 'blue' && m.kinds[1].texts[0].name === 'label')) bad.push(name + ': kinds ' + JSON.stringify(m.kinds));
				if (name.includes('axes=[aim') && !(m.axes.length === 1 && m.axes[0].name === 'aim' && m.axes[0].min === -3142 && m.axes[0].max === 3142)) bad.push(name + ': axes ' + JSON.stringify(m.axes));
				if (name.startsWith('welcome') && m.watching !== name.includes(' watching ')) bad.push(name + ': watching ' + m.watching);
				if (name.startsWith('welcome') && JSON.stringify(m.account) !== (name.includes(' account=a1b2/ann') ? '{"id":"a1b2","name":"ann"}' : 'null')) bad.push(name + ': account ' + JSON.stringify(m.account));
				if (name.includes(' watching ') && !(m.id === 0 && m.token === '' && !m.resumed && m.mode === 'dots' && m.kinds.length === 1)) bad.push(name + ': ' + JSON.stringify(m));
				if (name.startsWith('event') && !(m.type === 'event' && m.tick === 42 && m.event === 'tagged' && m.data.it === 7 && m.data.by === 2)) bad.push(name + ': ' + JSON.stringify(m));
				if (name.includes('messages=[say') && !(m.messages.length === 1 && m.messages[0].name === 'say' && m.messages[0].maxBytes === 64)) bad.push(name + ': messages ' + JSON.stringify(m.messages));
			} catch (e) {
				bad.push(name + ': ' + e.message);
			}
		}
		if (snapshots < 4) bad.push('only ' + snapshots + ' snapshots checked');
		// A change that names an entity past the base (skip 9 of a world of
		// 3) is not applied: the client must resync.
		const three = new Map([[1, { id: 1, kind: 0, x: 1, y: 1 }], [2, { id: 2, kind: 0, x: 2, y: 2 }], [5, { id: 5, kind: 0, x: 5, y: 5 }]]);
		const past = p.decode(bytes('82002c01070000014a0a'), kinds);
		if (p.applySnapshot(three, { tick: 43 }, past, p.BASIC_KINDS) || three.get(5).y !== 5) bad.push('a change past the base was applied');
		return bad.length ? bad : ['ok ' + cases.length];
	})`)
	if len(bad) != 1 || !strings.HasPrefix(bad[0], "ok ") {
		t.Errorf("the page's protocol disagrees with golden.txt: %q", bad)
	}
}
