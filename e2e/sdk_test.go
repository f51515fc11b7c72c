package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/server"
)

// chatMode is dots with one game message, "say" (a string), which comes
// back to everyone in the room as a "said" event {"from":ID,"text":"…"}.
var chatMode = game.Mode{
	Name:        "chat",
	Description: "dots with a chat line",
	Kinds:       dots.Kinds,
	Messages:    []game.MessageType{{Name: "say", MaxBytes: 64}},
	New: func(cfg game.Config) game.Game {
		return &chatGame{Dots: dots.New(cfg), events: cfg.Events}
	},
}

type chatGame struct {
	*dots.Dots
	events *game.Events
}

func (g *chatGame) Message(m game.Message) error {
	var text string
	if err := json.Unmarshal(m.Data, &text); err != nil {
		return errors.New("say takes a string")
	}
	data, err := json.Marshal(map[string]any{"from": m.From, "text": text})
	if err != nil {
		return err
	}
	g.events.ToAll(game.Event{Type: "said", Data: data})
	return nil
}

// behindMode is dots with an aim axis whose players' score is the Behind
// of their last input: how far in the past the game was told the player
// saw the world.
var behindMode = arenatest.InputProbe("behind", []game.Axis{{Name: "aim", Min: -100, Max: 100}}, func(in game.Input) int32 { return int32(in.Behind) })

// sdkSite serves examples/sdk-page as another site would, on an origin of
// its own, and starts an arena server that admits that origin.
func sdkSite(t *testing.T) (page *httptest.Server, srv *arenatest.Server) {
	t.Helper()
	page = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, "../examples/sdk-page/index.html")
	}))
	t.Cleanup(page.Close)
	srv = arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Modes = append(c.Modes, chatMode, behindMode)
		c.AllowedOrigins = []string{page.URL}
	}})
	return page, srv
}

// openSDKPage opens the example page on the arena server at URL server,
// in room (of mode), and waits until its client is welcomed, has a
// snapshot and draws its own player.
func openSDKPage(t *testing.T, page *httptest.Server, server, room, mode string) (*tab, int) {
	t.Helper()
	tb := newTab(t)
	q := url.Values{"server": {server}, "room": {room}, "mode": {mode}, "name": {"Sid"}}
	tb.navigate(page.URL + "/?" + q.Encode())
	waitFor(tb, "the SDK to be welcomed and draw its player", `window.example && window.example.game.connected
		&& window.example.game.tick > 0 && window.example.game.me() !== null`, 10*time.Second)
	return tb, eval[int](tb, `window.example.game.id`)
}

// TestSDKPageOfAnotherSitePlays loads examples/sdk-page from its own
// origin: with /sdk/arena.js alone it joins, moves its player with the
// keys (predicted, and confirmed by the server), sends a game message and
// receives the game's event, and loads nothing else of arena's.
func TestSDKPageOfAnotherSitePlays(t *testing.T) {
	page, srv := sdkSite(t)
	tb, id := openSDKPage(t, page, srv.URL, "sdk-chat", "chat")

	if got := eval[string](tb, `JSON.stringify([window.example.game.room, window.example.game.mode, window.example.game.welcome.messages])`); got != `["sdk-chat","chat",[{"name":"say","maxBytes":64}]]` {
		t.Errorf("room, mode and messages: %s", got)
	}
	x0, _ := sdkServerPos(tb, id)
	dir := away(x0)
	k := map[float64]key{1: keyRight, -1: keyLeft}[dir]
	tb.keyEvent(input.DispatchKeyEventTypeKeyDown, k)
	waitFor(tb, "the drawn own player to move", fmt.Sprintf(`(window.example.game.me().x - %v) * %v >= 20`, x0, dir), 5*time.Second)
	waitFor(tb, "the server to move the player", fmt.Sprintf(`(window.example.game.world.get(%d).x - %v) * %v >= 20`, id, x0, dir), 5*time.Second)
	tb.keyEvent(input.DispatchKeyEventTypeKeyUp, k)
	if name := eval[string](tb, fmt.Sprintf(`window.example.game.entities().find((e) => e.id === %d)?.name ?? ''`, id)); name != "Sid" {
		t.Errorf("the own entity is named %q; want Sid", name)
	}

	if !eval[bool](tb, `window.example.game.send('say', 'hello there')`) {
		t.Fatal("send('say', ...) returned false while connected")
	}
	waitFor(tb, "the said event", fmt.Sprintf(`window.example.events.some((e) => e.type === 'said' && e.tick > 0
		&& e.data.from === %d && e.data.text === 'hello there')`, id), 5*time.Second)
	waitFor(tb, "the event shown on the page", `document.getElementById('events').textContent.includes('said {"from"')`, 2*time.Second)
	// What the mode does not take is refused on the page, with the reason.
	if got := eval[string](tb, `(() => { try { window.example.game.send('shout', 1); return 'sent'; } catch (e) { return e.name + ': ' + e.message; } })()`); !strings.HasPrefix(got, "TypeError: ") || !strings.Contains(got, "say") {
		t.Errorf("send('shout') gave %q; want a TypeError naming the types the mode takes", got)
	}
	if got := eval[string](tb, `(() => { try { window.example.game.send('say', 'x'.repeat(80)); return 'sent'; } catch (e) { return e.name; } })()`); got != "RangeError" {
		t.Errorf("send of 82 bytes to a 64-byte type gave %q; want RangeError", got)
	}

	// The page loads the SDK (and the modules it imports) from the arena
	// server and nothing else of it: not the built-in page's own scripts.
	if off := tb.offOrigin(page.URL, srv.URL, "ws://"+srv.Addr); len(off) > 0 {
		t.Errorf("the page reached elsewhere: %q", off)
	}
	if !tb.requested(srv.URL + "/sdk/arena.js") {
		t.Error("the page did not load /sdk/arena.js")
	}
	for _, own := range []string{"/js/main.js", "/js/render.js", "/js/lobby.js", "/js/input.js", "/style.css"} {
		if tb.requested(srv.URL + own) {
			t.Errorf("the page loaded %s, the built-in page's", own)
		}
	}
}

// TestSDKPageGetsTheGamesEvents plays tag: the page's player becomes it
// when the player who was it leaves, and the page hears it from the game.
func TestSDKPageGetsTheGamesEvents(t *testing.T) {
	page, srv := sdkSite(t)
	first := arenatest.Dial(t, srv.WSURL+"?room=sdk-tag&mode=tag", nil)
	first.Init() // the first player of a tag room is it
	tb, id := openSDKPage(t, page, srv.URL, "sdk-tag", "")
	waitFor(tb, "both players", `window.example.game.entities().length === 2`, 5*time.Second)

	// Closing with 1000 is leaving: the room passes it on at once.
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := first.Conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	waitFor(tb, "you_are_it and tagged", fmt.Sprintf(`window.example.events.some((e) => e.type === 'you_are_it' && e.data.by === 0)
		&& window.example.events.some((e) => e.type === 'tagged' && e.data.it === %d)`, id), 5*time.Second)
	waitFor(tb, "the other player gone", `window.example.game.entities().length === 1`, 5*time.Second)
}

// sdkServerPos is where the server last put player id, as the SDK has it.
func sdkServerPos(tb *tab, id int) (x, y float64) {
	xy := eval[[]float64](tb, fmt.Sprintf(`(() => { const e = window.example.game.world.get(%d); return e ? [e.x, e.y] : [-1, -1]; })()`, id))
	return xy[0], xy[1]
}

// TestSDKResumesAndKeepsCounting cuts the page's connection (as a network
// would: no close frame), then reloads the page: each time the SDK resumes
// the same player, and the player still moves, because its inputs keep
// counting past the sequence numbers the server already saw (the server
// ignores any not above them).
func TestSDKResumesAndKeepsCounting(t *testing.T) {
	page, srv := sdkSite(t)
	cut := cuttable(t, srv.Addr)
	tb, id := openSDKPage(t, page, cut.URL(), "sdk-resume", "")
	move := func(what string) {
		t.Helper()
		x, _ := sdkServerPos(tb, id)
		dir := away(x)
		k := map[float64]key{1: keyRight, -1: keyLeft}[dir]
		tb.keyEvent(input.DispatchKeyEventTypeKeyDown, k)
		waitFor(tb, "the server to move the player "+what, fmt.Sprintf(`(window.example.game.world.get(%d).x - %v) * %v >= 20`, id, x, dir), 5*time.Second)
		tb.keyEvent(input.DispatchKeyEventTypeKeyUp, k)
		waitFor(tb, "the release sent "+what, `window.example.game.sentButtons === 0`, 2*time.Second)
	}
	for range 3 {
		move("before any drop") // each press and each release is an input
	}
	waitFor(tb, "six inputs sent", `window.example.game.seq >= 6`, 2*time.Second)

	for _, drop := range []struct {
		name string
		do   func()
	}{
		{"after a dropped connection", cut.cut},
		{"after a reload", func() { tb.do(chromedp.Reload()) }},
	} {
		drop.do()
		waitFor(tb, "the player resumed "+drop.name, `window.example && window.example.game.connected && window.example.game.welcome?.resumed
			&& window.example.game.tick > 0 && window.example.game.me() !== null`, 10*time.Second)
		if again := eval[int](tb, `window.example.game.id`); again != id {
			t.Fatalf("%s the player is %d; want %d resumed", drop.name, again, id)
		}
		move(drop.name)
	}
}

// cutProxy forwards TCP connections to an arena server until cut drops
// every one of them at once, the way a network fails: without a close
// frame. It keeps accepting new connections.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func cuttable(t *testing.T, backend string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at the end of the test
			}
			b, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			go func() { io.Copy(b, c); b.Close() }()
			go func() { io.Copy(c, b); c.Close() }()
		}
	}()
	return p
}

// URL is the arena server's, through the proxy.
func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestSDKInterpolatesDeclaredFields checks that the fields a kind declares
// interp in the welcome glide between snapshots like x and y (an angle the
// short way round), that others are left as the server sent them, and that
// an entity placed anew jumps.
func TestSDKInterpolatesDeclaredFields(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	got := eval[string](tb, `Promise.all([import('/js/interp.js'), import('/sdk/arena.js')]).then(([interp, sdk]) => {
		const out = [];
		const ip = new interp.Interpolator({
			fields: (e) => e.kind === 0 ? ['hp', 'aim'] : [],
			period: (f) => f === 'aim' ? 2 * Math.PI : 0,
			reset: (e) => e.life,
		});
		const round = (v) => v.map((x) => Math.round(x * 100) / 100).join(',');
		ip.record(10, new Map([[1, { id: 1, kind: 0, x: 0, y: 0, hp: 100, aim: 3 }], [2, { id: 2, kind: 1, x: 0, y: 0, hp: 1 }], [3, { id: 3, kind: 1, x: 0, y: 0, life: 1 }]]));
		ip.record(12, new Map([[1, { id: 1, kind: 0, x: 20, y: 0, hp: 50, aim: -2.8 }], [2, { id: 2, kind: 1, x: 10, y: 0, hp: 9 }], [3, { id: 3, kind: 1, x: 100, y: 0, life: 2 }]]));
		out.push(round(ip.position(1, 11)), round(ip.position(2, 11)));
		// Placed anew (life changed): where it was until the tick it moved, then there, no glide and no carrying on.
		out.push(round(ip.position(3, 11.9)), round(ip.position(3, 12)), round(ip.position(3, 12.5)));
		const c = new sdk.Client({});
		c.handle({ type: 'welcome', id: 1, tickRate: 20, width: 500, height: 500, room: 'r', mode: 'm', axes: [], messages: [],
			kinds: [{ name: 'player', fields: [{ name: 'hp', type: 'int', interp: true }, { name: 'team', type: 'int' }, { name: 'x', type: 'int', interp: true }] }] }, 0);
		out.push(c.interpFields({ kind: 0, hp: 1, team: 2 }).join('+'), c.interpFields({ kind: 'player', hp: 1 }).join('+'), c.interpFields({ kind: 1, hp: 1 }).join('+') || 'none');
		c.leave();
		return out.join(' | ');
	})`)
	if want := "10,0,75,-3.04 | 5,0 | 0,0 | 100,0 | 100,0 | hp | hp | none"; got != want {
		t.Errorf("interpolated %q; want %q", got, want)
	}
}

// TestSDKInputsSayTheirLag: a predicted input tells the server how far in
// the past the page drew the others (the interpolation delay) plus how far
// ahead it predicted, so a lag-compensating game rewinds that far (capped
// by the server at 200 ms: 4 ticks at 20 Hz).
func TestSDKInputsSayTheirLag(t *testing.T) {
	page, srv := sdkSite(t)
	tb, id := openSDKPage(t, page, srv.URL, "sdk-behind", "behind")
	x, _ := sdkServerPos(tb, id)
	k := map[float64]key{1: keyRight, -1: keyLeft}[away(x)]
	tb.keyEvent(input.DispatchKeyEventTypeKeyDown, k)
	defer tb.keyEvent(input.DispatchKeyEventTypeKeyUp, k)
	waitFor(tb, "the game to get the input's lag", fmt.Sprintf(`window.example.game.world.get(%d).score >= 3`, id), 5*time.Second)
}

// TestSDKRefusesBadArguments: what a page gets wrong is a clear error on
// the page, not a message the server refuses.
func TestSDKRefusesBadArguments(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	got := eval[string](tb, `Promise.all([import('/sdk/arena.js'), import('/js/blasters.js')]).then(([sdk, blasters]) => {
		const out = [];
		const fails = (f) => { try { f(); return 'ok'; } catch (e) { return e.name; } };
		out.push(fails(() => new sdk.Client({ predict: 'yes' })), fails(() => new sdk.Client({ predict: { blasters: 3 } })));
		const mine = (x, y) => [x, y];
		const c = new sdk.Client({ predict: { blasters: mine, '*': true } });
		const welcome = (mode) => c.handle({ type: 'welcome', id: 1, tickRate: 20, width: 500, height: 500, room: 'r', mode,
			axes: [{ name: 'aim', min: -10, max: 10 }], messages: [], kinds: [] }, 0);
		welcome('blasters');
		out.push(c.session.predictor.move === mine);
		welcome('dots');
		out.push(c.session.predictor.move === sdk.move);
		const stock = new sdk.Client({ predict: true });
		stock.handle({ type: 'welcome', id: 1, tickRate: 20, width: 1000, height: 1000, room: 'r', mode: 'blasters', axes: [], messages: [], kinds: [] }, 0);
		out.push(stock.session.predictor.move === blasters.move);
		stock.leave();
		out.push(fails(() => c.input(32)), fails(() => c.input(1.5)), fails(() => c.input(sdk.UP | sdk.ACTION, [11])),
			fails(() => c.input(0, [1, 2])), fails(() => c.input(sdk.LEFT, [-10])));
		c.leave();
		out.push(new sdk.Client({ predict: { tag: true } }).predict.dots === undefined);
		out.push(fails(() => new sdk.Client({ interp: { angles: 'aim' } })));
		const d = new sdk.Client({ interp: { angles: ['aim'], resets: ['life'] } });
		d.handle({ type: 'welcome', id: 1, tickRate: 20, width: 500, height: 500, room: 'r', mode: 'm', axes: [], messages: [], kinds: [] }, 0);
		out.push(d.session.interp.period('aim') === 2 * Math.PI && d.session.interp.period('hp') === 0 && d.session.interp.reset({ life: 3 }) === '3');
		d.leave();
		return out.join(' ');
	})`)
	if want := "TypeError TypeError true true true RangeError RangeError RangeError RangeError ok true TypeError true"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// TestSDKSendsAtMostOneInputATick: a page that sets the aim many times a
// frame (a pointer moving) sends one input a tick, predicted or not: the
// server applies no more, and counts every message against its limit.
func TestSDKSendsAtMostOneInputATick(t *testing.T) {
	page, srv := sdkSite(t)
	tb, _ := openSDKPage(t, page, srv.URL, "sdk-aim", "behind")
	// A second client on the page, without prediction, in a room of its own.
	eval[int](tb, fmt.Sprintf(`(window.plain = new window.example.game.constructor({ server: %q, room: 'sdk-aim-plain', mode: 'behind', storageKey: 'plain' }), window.plain.join(window.plain.target), 0)`, srv.URL))
	waitFor(tb, "the second client's first snapshot", `window.plain.connected && window.plain.tick > 0`, 10*time.Second)
	for _, c := range []string{"window.example.game", "window.plain"} {
		got := eval[[]float64](tb, `(async () => {
			const g = `+c+`;
			let sent = 0;
			const send = g.conn.input.bind(g.conn);
			g.conn.input = (...a) => { sent++; return send(...a); };
			const t0 = g.serverTick();
			let i = 0;
			await new Promise((done) => {
				const frame = () => {
					for (let k = 0; k < 20; k++) g.setAxes([i++ % 100 - 50]);
					g.entities();
					if (g.serverTick() - t0 < 20) requestAnimationFrame(frame); else done();
				};
				frame();
			});
			g.conn.input = send;
			return [sent, g.serverTick() - t0, i];
		})()`)
		sent, ticks, calls := got[0], got[1], got[2]
		if sent > ticks+2 || sent < ticks/2 {
			t.Errorf("%s: %v inputs for %v calls of setAxes over %.1f ticks; want about one a tick", c, sent, calls, ticks)
		}
	}
}
