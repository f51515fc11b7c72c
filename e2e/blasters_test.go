package e2e

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/arenatest"
)

// TestBlastersRulesMatchGo checks the page's blasters movement, which
// predicts the own player, against the Go rules' golden vectors, and its
// walls and constants against the rules file beside them: the two sides
// cannot drift apart.
func TestBlastersRulesMatchGo(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	rules, err := os.ReadFile("../games/blasters/testdata/rules.json")
	if err != nil {
		t.Fatal(err)
	}
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	movesMatch(tb, "/js/blasters.js", "../games/blasters/testdata/moves.json")
	same := eval[bool](tb, `import('/js/blasters.js').then((m) => {
		const rules = `+string(rules)+`;
		const walls = JSON.stringify(rules.walls.map((w) => [w.min_x, w.min_y, w.max_x, w.max_y]));
		const same = rules.size === m.SIZE && rules.radius === m.RADIUS && rules.speed === m.SPEED &&
			rules.diagonal_speed === m.DIAGONAL_SPEED &&
			walls === JSON.stringify(m.WALLS.map((w) => [w.minX, w.minY, w.maxX, w.maxY]));
		return same;
	})`)
	if !same {
		t.Error("the page's blasters constants or walls disagree with games/blasters/testdata/rules.json")
	}
}

// TestBlastersInTwoTabs plays blasters in two tabs: quick-join puts them
// in one room; the field shows the round; one player aims with the mouse
// at the other, which sees the aim turn, and fires with the button, which
// the other sees as bullets flying from it; a touch on the right half of
// the field aims and fires too.
func TestBlastersInTwoTabs(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	one, two := newTab(t), newTab(t)
	one.navigate(srv.URL + "/?mode=blasters")
	waitFor(one, "blasters", `arena.connected && arena.mode === 'blasters' && arena.me !== null`, 10*time.Second)
	two.navigate(srv.URL + "/?mode=blasters")
	waitFor(two, "blasters, the same room", `arena.connected && arena.mode === 'blasters' && arena.me !== null`, 10*time.Second)
	if r1, r2 := eval[string](one, `arena.room`), eval[string](two, `arena.room`); r1 != r2 {
		t.Fatalf("quick-join put the tabs in %s and %s", r1, r2)
	}
	id1 := eval[float64](one, `arena.id`)
	waitFor(two, "the other player", `arena.players.has(`+fmt.Sprint(id1)+`)`, 5*time.Second)
	waitFor(one, "the round's headline", `/^Round 1/.test(document.getElementById('headline').textContent) && !document.getElementById('headline').hidden`, 5*time.Second)
	if shown := eval[bool](one, `getComputedStyle(document.querySelector('.pad')).display === 'none' && getComputedStyle(document.querySelector('.hint-blasters')).display !== 'none'`); !shown {
		t.Error("blasters shows the movement pad, or not its own hint")
	}

	// Aim with the mouse: tab two sees tab one's aim turn that way. The
	// whole field must be in the window for the mouse to reach any of it.
	one.do(chromedp.EmulateViewport(1200, 1000))
	aimAt := func(tb *tab, dx, dy float64) {
		c := eval[[]float64](tb, fmt.Sprintf(`arena.toPage(arena.me.x + %v, arena.me.y + %v)`, dx, dy))
		tb.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, c[0], c[1]))
	}
	aimOf := func(want float64) string {
		return fmt.Sprintf(`Math.abs(Math.atan2(Math.sin(arena.players.get(%v).aim - (%v)), Math.cos(arena.players.get(%v).aim - (%v)))) < 0.05`, id1, want, id1, want)
	}
	// Towards the middle, so that the pointer stays on the field.
	me := eval[[]float64](one, `[arena.me.x, arena.me.y]`)
	dy, down := 40.0, math.Pi/2
	if me[1] > 500 {
		dy, down = -40, -math.Pi/2
	}
	dx, across := 40.0, 0.0
	if me[0] > 500 {
		dx, across = -40, math.Pi
	}
	aimAt(one, 0, dy)
	waitFor(two, "one's aim, vertical", aimOf(down), 5*time.Second)
	aimAt(one, dx, 0)
	waitFor(two, "one's aim, horizontal", aimOf(across), 5*time.Second)

	// Once the countdown is over, fire: two sees one's bullets.
	waitFor(one, "the round under way", `/·/.test(document.getElementById('headline').textContent)`, 6*time.Second)
	// Fire where the way is clear for a while, so that a bullet lives for
	// a few ticks rather than hitting a wall at once.
	a := clearAngle(one)
	c := eval[[]float64](one, fmt.Sprintf(`arena.toPage(arena.me.x + Math.cos(%v) * 40, arena.me.y + Math.sin(%v) * 40)`, a, a))
	one.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, c[0], c[1], chromedp.ButtonLeft))
	bullets := func(owner float64) string {
		return fmt.Sprintf(`[...arena.players.values()].some((e) => arena.client.welcome.kinds[e.kind].name === 'bullet' && e.owner === %v)`, owner)
	}
	waitFor(two, "one's bullets", bullets(id1), 5*time.Second)
	one.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, c[0], c[1], chromedp.ButtonLeft))

	// On a touch screen, the right thumb aims and fires. (One's shots may
	// have hit two: it must be alive to fire.)
	id2 := eval[float64](two, `arena.id`)
	waitFor(two, "two alive", `arena.players.get(arena.id) && !arena.players.get(arena.id).dead`, 10*time.Second)
	two.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	r := eval[[]float64](two, `(() => { const r = document.getElementById('field').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	x0, y0 := r[0]+r[2]*0.75, r[1]+r[3]/2
	touch := func(typ input.DispatchTouchEventType, points []*input.TouchPoint) {
		if _, err := chromedp.Call(two.ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: points}); err != nil {
			t.Fatal(err)
		}
	}
	a = clearAngle(two)
	touch(input.DispatchTouchEventTypeTouchStart, []*input.TouchPoint{{X: x0, Y: y0}})
	touch(input.DispatchTouchEventTypeTouchMove, []*input.TouchPoint{{X: x0 + 40*math.Cos(a), Y: y0 + 40*math.Sin(a)}})
	if !eval[bool](one, fmt.Sprintf(`(() => { const t0 = performance.now(); return new Promise((ok) => { const f = () => (%s) ? ok(true) : performance.now() - t0 > 10000 ? ok(false) : setTimeout(f, 20); f(); }); })()`, bullets(id2))) {
		t.Fatalf("no bullets of two's in one's view; two: %s", eval[string](two, `JSON.stringify({me: arena.players.get(arena.id), round: document.getElementById('headline').textContent})`))
	}
	waitFor(one, "two's aim", fmt.Sprintf(`Math.abs(Math.atan2(Math.sin(arena.players.get(%v).aim - %v), Math.cos(arena.players.get(%v).aim - %v))) < 0.05`, id2, a, id2, a), 5*time.Second)
	touch(input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{})
}

// clearAngle is a direction in which tb's player can fire a bullet that
// flies a while: no wall and no edge within 150 units.
func clearAngle(tb *tab) float64 {
	tb.t.Helper()
	return eval[float64](tb, `import('/js/blasters.js').then((m) => {
		const { x, y } = arena.me;
		const clear = (a) => {
			for (let d = 0; d <= 150; d += 4) {
				const px = x + Math.cos(a) * d, py = y + Math.sin(a) * d;
				if (px < 5 || py < 5 || px > m.SIZE - 5 || py > m.SIZE - 5) return false;
				if (m.WALLS.some((w) => px >= w.minX && px <= w.maxX && py >= w.minY && py <= w.maxY)) return false;
			}
			return true;
		};
		for (let i = 0; i < 16; i++) if (clear(i * Math.PI / 8 - Math.PI)) return i * Math.PI / 8 - Math.PI;
		return 0;
	})`)
}

// TestBlastersOneShootsTheOther: one player shoots the other until it
// dies, and both tabs show the hits (the victim's health) and the kill in
// the kill feed. The players first walk to the left edge, where no wall
// stands (holding left and down slides any player along the walls to the
// bottom-left corner), and the victim steps up the edge: the shot's line
// is then clear, wherever they spawned.
func TestBlastersOneShootsTheOther(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	shooter, victim := newTab(t), newTab(t)
	shooter.navigate(srv.URL + "/?mode=blasters")
	waitFor(shooter, "blasters", `arena.connected && arena.mode === 'blasters' && arena.me !== null`, 10*time.Second)
	victim.navigate(srv.URL + "/?mode=blasters")
	waitFor(victim, "blasters", `arena.connected && arena.mode === 'blasters' && arena.me !== null`, 10*time.Second)
	sid, vid := eval[float64](shooter, `arena.id`), eval[float64](victim, `arena.id`)

	for _, tb := range []*tab{shooter, victim} {
		tb.keyEvent(input.DispatchKeyEventTypeKeyDown, keyLeft)
		tb.keyEvent(input.DispatchKeyEventTypeKeyDown, keyDown)
	}
	const corner = `(() => { const e = arena.players.get(arena.id); return e && e.x === 16 && e.y === 984; })()`
	for _, tb := range []*tab{shooter, victim} {
		waitFor(tb, "the bottom-left corner", corner, 15*time.Second)
		tb.keyEvent(input.DispatchKeyEventTypeKeyUp, keyLeft)
		tb.keyEvent(input.DispatchKeyEventTypeKeyUp, keyDown)
	}
	victim.keyEvent(input.DispatchKeyEventTypeKeyDown, keyUp)
	waitFor(victim, "a step up the edge", `arena.players.get(arena.id).y <= 860`, 5*time.Second)
	victim.keyEvent(input.DispatchKeyEventTypeKeyUp, keyUp)
	waitFor(shooter, "the victim standing still up the edge", fmt.Sprintf(`(() => {
		const e = arena.players.get(%v), now = performance.now();
		if (!e || e.y > 860) return false;
		const w = window.__still;
		if (!w || w.y !== e.y) { window.__still = { y: e.y, t: now }; return false; }
		return now - w.t > 300;
	})()`, vid), 5*time.Second)

	// Aim at the victim and hold the button until it dies.
	shooter.do(chromedp.EmulateViewport(1200, 1000))
	c := eval[[]float64](shooter, fmt.Sprintf(`(() => { const e = arena.players.get(%v); return arena.toPage(e.x, e.y); })()`, vid))
	shooter.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, c[0], c[1]))
	shooter.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, c[0], c[1], chromedp.ButtonLeft))
	hit := fmt.Sprintf(`arena.players.get(%v).health < 100`, vid)
	waitFor(shooter, "the hit, on the shooter's screen", hit, 5*time.Second)
	waitFor(victim, "the hit, on the victim's screen", hit, 5*time.Second)
	feed := `[...document.querySelectorAll('#feed li')].some((li) => li.textContent === %q)`
	waitFor(shooter, "the kill in the shooter's feed", fmt.Sprintf(feed, fmt.Sprintf("you blasted #%v", vid)), 5*time.Second)
	waitFor(victim, "the kill in the victim's feed", fmt.Sprintf(feed, fmt.Sprintf("#%v blasted you", sid)), 5*time.Second)
	shooter.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, c[0], c[1], chromedp.ButtonLeft))
	waitFor(victim, "the victim dead", fmt.Sprintf(`arena.players.get(%v).dead === true`, vid), 2*time.Second)
	if kills := eval[float64](victim, fmt.Sprintf(`arena.players.get(%v).kills`, sid)); kills != 1 {
		t.Errorf("the shooter has %v kills; want 1", kills)
	}
}
