package e2e

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
)

// TestSeedClientFromDisk opens the seed's own client.html, unchanged, from
// disk in two tabs against arena, moves with W/A/S/D in one and watches the
// dot move in the other. The seed's page connects to ws://127.0.0.1:8765
// whatever else happens, so this test needs that port.
func TestSeedClientFromDisk(t *testing.T) {
	page, err := filepath.Abs("testdata/seed-client.html")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// Where the seed itself is at hand (not in a clean clone), the copy
	// must be the seed's page byte for byte.
	for _, seed := range []string{"/work/shared/seed/client.html", "../../shared/seed/client.html"} {
		if orig, err := os.ReadFile(seed); err == nil {
			if !bytes.Equal(orig, mine) {
				t.Fatalf("testdata/seed-client.html differs from %s: it must be the seed's page unchanged", seed)
			}
			break
		}
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:8765"); err != nil {
		t.Fatalf("the seed's client needs port 8765, which is busy (%v): stop whatever holds it (another arena?) and rerun", err)
	} else {
		ln.Close()
	}
	arenatest.Start(t, arenatest.Options{Addr: "127.0.0.1:8765"})

	one, two := newTab(t), newTab(t)
	for _, tb := range []*tab{one, two} {
		tb.allowConsole(`cdn\.tailwindcss\.com`) // the seed's page, unchanged, loads a CDN that is unreachable here
		tb.navigate("file://" + page)
		waitFor(tb, "an id from the server", `/^\d+$/.test(document.getElementById('player-id').textContent)`, 10*time.Second)
		waitFor(tb, "connected", `document.getElementById('status').textContent === 'Connected'`, 5*time.Second)
	}
	id := eval[string](one, `document.getElementById('player-id').textContent`)
	pos := func(tb *tab) (x, y float64) {
		xy := eval[[]float64](tb, `(() => {
			const d = document.querySelector('.player-dot[data-id="`+id+`"]');
			if (!d) return [-1, -1];
			const m = d.style.transform.match(/translate\(([-\d.]+)px, ([-\d.]+)px\)/);
			return m ? [+m[1] + 10, +m[2] + 10] : [-1, -1];
		})()`)
		return xy[0], xy[1]
	}
	waitFor(two, "tab one's dot in tab two", `!!document.querySelector('.player-dot[data-id="`+id+`"]')`, 5*time.Second)
	x0, y0 := pos(two)

	// Walk away from the nearer wall with a held key: the seed's page
	// repeats the move every 50 ms while it is down.
	k, dir := keyD, 1.0
	if x0 > 250 {
		k, dir = keyA, -1
	}
	one.hold(k, 600*time.Millisecond)
	waitFor(two, "tab one's dot to move", `(() => {
		const d = document.querySelector('.player-dot[data-id="`+id+`"]');
		const m = d && d.style.transform.match(/translate\(([-\d.]+)px/);
		return m && (+m[1] + 10 - `+ftoa(x0)+`) * `+ftoa(dir)+` >= 50;
	})()`, 5*time.Second)
	x1, y1 := pos(two)
	if y1 != y0 || (x1-x0)*dir > 150 {
		t.Errorf("holding %s for 0.6 s moved the dot from %v,%v to %v,%v; want about 60-130 px along x", k.key, x0, y0, x1, y1)
	}
	// W/S as well.
	ky, dy := keyS, 1.0
	if y0 > 250 {
		ky, dy = keyW, -1
	}
	one.hold(ky, 300*time.Millisecond)
	waitFor(two, "tab one's dot to move vertically", `(() => {
		const d = document.querySelector('.player-dot[data-id="`+id+`"]');
		const m = d && d.style.transform.match(/translate\([-\d.]+px, ([-\d.]+)px/);
		return m && (+m[1] + 10 - `+ftoa(y0)+`) * `+ftoa(dy)+` >= 20;
	})()`, 5*time.Second)

	// The seed's page asked its CDN for Tailwind; that failed offline and
	// the game still works. Nothing else left the machine.
	if !one.requested("https://cdn.tailwindcss.com") {
		t.Error("the seed page never asked for its CDN script: is it the seed's page?")
	}
	for _, u := range one.offOrigin("file://", "ws://127.0.0.1:8765") {
		if !strings.Contains(u, "cdn.tailwindcss.com") {
			t.Errorf("the seed page requested %s", u)
		}
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
