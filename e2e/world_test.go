package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/arenatest"
)

// TestWorldRulesMatchGo checks the page's world movement, which predicts
// the own player, against the Go rules' golden vectors.
func TestWorldRulesMatchGo(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	movesMatch(tb, "/js/world.js", "../games/world/testdata/moves.json")
}

// worldRoom creates a world room of the given size through the
// matchmaking API and returns its name.
func worldRoom(t *testing.T, srv *arenatest.Server, size int) string {
	t.Helper()
	resp, err := http.Post(srv.URL+"/api/matchmake", "application/json",
		strings.NewReader(fmt.Sprintf(`{"mode":"world","options":{"size":"%d"}}`, size)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Room, Mode string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK || r.Mode != "world" {
		t.Fatalf("matchmake a world room: %d %+v %v", resp.StatusCode, r, err)
	}
	return r.Room
}

// walk holds k in tb until cond (JavaScript, in watcher's page) holds,
// then releases it. The key is pressed again every second: a page that
// lost its window's focus meanwhile (another tab was driven) has let go
// of what it held, as a player's page does.
func walk(tb *tab, k key, what, cond string, timeout time.Duration, watcher ...*tab) {
	tb.t.Helper()
	w := tb
	if len(watcher) > 0 {
		w = watcher[0]
	}
	deadline := time.Now().Add(timeout)
	for {
		tb.keyEvent(input.DispatchKeyEventTypeKeyDown, k)
		_, err := chromedp.Run(w.ctx, chromedp.Poll[any](cond,
			chromedp.WithPollingInterval(20*time.Millisecond),
			chromedp.WithPollingTimeout(time.Second)))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("waiting for %s (%s): %v; the walker: %s", what, cond, err,
				eval[string](tb, `JSON.stringify({me: arena.me, server: arena.players.get(arena.id), tick: arena.tick, status: arena.status, focus: document.hasFocus()})`))
		}
	}
	tb.keyEvent(input.DispatchKeyEventTypeKeyUp, k)
}

// cameraOff is a script that says how far, in canvas widths, the own
// player is drawn from the middle of the field.
const cameraOff = `(() => {
	const r = document.getElementById('field').getBoundingClientRect();
	const [x, y] = arena.toPage(arena.me.x, arena.me.y);
	return Math.hypot(x - (r.left + r.width / 2), y - (r.top + r.height / 2)) / r.width;
})()`

// TestWorldFarPlayerComesIntoView plays world in two tabs on a field of
// 4×4 cells. With the two players at opposite sides, each is out of the
// other's area of interest and not in its world at all; as one walks
// towards the other, it comes into view (through the delta stream) while
// they are still more than a cell apart. The camera follows the walker,
// and the minimap is on the field.
func TestWorldFarPlayerComesIntoView(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	const size = 4 * 700
	room := worldRoom(t, srv, size)
	one, id1 := openArena(t, srv, "/?room="+room)
	two, id2 := openArena(t, srv, "/?room="+room)
	for _, tb := range []*tab{one, two} {
		if m, w := eval[string](tb, `arena.mode`), eval[float64](tb, `arena.client.welcome.width`); m != "world" || w != size {
			t.Fatalf("the tab plays %s on a field of %v; want world on %d", m, w, size)
		}
	}
	// One goes to the top-left corner (column 0), two to the top-right
	// (column 3): out of each other's areas (columns 0 to 2, and 1 to 3),
	// and in the same row, wherever they spawned.
	walk(one, keyUp, "one at the top edge", `arena.me && arena.me.y <= 20`, 15*time.Second)
	walk(two, keyUp, "two at the top edge", `arena.me && arena.me.y <= 20`, 15*time.Second)
	walk(one, keyLeft, "one at the left edge", `arena.me && arena.me.x <= 20`, 15*time.Second)
	walk(two, keyRight, "two at the right edge", fmt.Sprintf(`arena.me && arena.me.x >= %d`, size-20), 15*time.Second)
	waitFor(one, "two out of one's view", fmt.Sprintf(`!arena.players.has(%d)`, id2), 5*time.Second)
	waitFor(two, "one out of two's view", fmt.Sprintf(`!arena.players.has(%d)`, id1), 5*time.Second)
	if n := eval[float64](one, `[...arena.players.values()].filter((e) => e.kind === 1).length`); n < 9 {
		t.Errorf("one sees %v landmarks; want those of its 9 cells", n)
	}

	// The minimap is shown, and drew something.
	if drawn := eval[bool](one, `(() => {
		const c = document.getElementById('minimap');
		if (c.hidden || c.getBoundingClientRect().width < 40) return false;
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
		return false;
	})()`); !drawn {
		t.Error("the minimap is hidden, tiny or blank")
	}

	// Two walks left, towards one: one sees it come into view while they
	// are still more than a cell apart, and the camera follows two.
	start := eval[[]float64](two, `[arena.me.x, arena.me.y]`)
	walk(two, keyLeft, "two's walk to come into one's view", fmt.Sprintf(`arena.me.x < %v - 400`, start[0]), 15*time.Second)
	if off := eval[float64](two, cameraOff); off > 0.02 {
		t.Errorf("walking, two is drawn %.2f field widths from the middle; the camera does not follow", off)
	}
	if moved := eval[float64](two, fmt.Sprintf(`(() => { const r = document.getElementById('field').getBoundingClientRect(); return (arena.toPage(%v, %v)[0] - r.left) / r.width - 0.5; })()`, start[0], start[1])); moved < 0.15 {
		t.Errorf("where two started is drawn %.2f field widths right of the middle after it walked 400 left; the world did not scroll", moved)
	}
	walk(two, keyLeft, "two to come into one's view", fmt.Sprintf(`arena.players.has(%d)`, id2), 20*time.Second, one)
	gap := eval[float64](one, fmt.Sprintf(`arena.players.get(%d).x - arena.players.get(%d).x`, id2, id1))
	if gap < 700 {
		t.Errorf("one saw two only %v units away; want it in view more than a cell before they meet", gap)
	}
	// Views need not be mutual: two, in column 2, sees columns 1 to 3,
	// not one's column 0, until it walks on into column 1.
	if eval[bool](two, fmt.Sprintf(`arena.players.has(%d)`, id1)) {
		t.Errorf("two, at x=%v, sees one at the left edge, four columns' width away", eval[float64](two, `arena.me.x`))
	}
	walk(two, keyLeft, "one to come into two's view", fmt.Sprintf(`arena.players.has(%d)`, id1), 20*time.Second)
	if x := eval[float64](two, `arena.me.x`); x < 700 {
		t.Errorf("two saw one only at x=%v; want it in view a cell before they meet", x)
	}
}

// TestReenteringEntitiesDoNotGlide: an entity that leaves the view and
// comes back elsewhere (a player who walked out of a world's area of
// interest and back in) is drawn where it is, not glided from where it
// left.
func TestReenteringEntitiesDoNotGlide(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	got := eval[[]float64](tb, `import('/js/interp.js').then(({ Interpolator }) => {
		const ip = new Interpolator();
		const at = (x) => new Map([[7, { id: 7, kind: 0, x, y: 0 }]]);
		for (let tick = 1; tick <= 5; tick++) ip.record(tick, at(0));
		for (let tick = 6; tick <= 10; tick++) ip.record(tick, new Map());
		ip.record(11, at(1000));
		ip.record(12, at(1000));
		// Others are drawn a tick or two in the past: between the last
		// sight of it and its return, it must not be on the way.
		return [9.5, 10.5, 11.5].map((r) => { const p = ip.position(7, r); return p ? p[0] : -1; });
	})`)
	for i, x := range got {
		if x != -1 && x != 1000 {
			t.Errorf("back in view at x 1000 on tick 11, drawn at x %v at tick %v; want nothing or 1000, not a glide from 0", x, 9.5+float64(i))
		}
	}
}
