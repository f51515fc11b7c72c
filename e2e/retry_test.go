package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// refusals is how many joins srv has refused for reason, per its metrics.
func refusals(t *testing.T, srv *arenatest.Server, reason string) int {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^arena_connections_refused_total\{reason="` + regexp.QuoteMeta(reason) + `"\} (\S+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// waitRefusals waits until srv has refused at least n joins for reason.
func waitRefusals(t *testing.T, srv *arenatest.Server, reason string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for refusals(t, srv, reason) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d joins refused for %s within %v; want %d", refusals(t, srv, reason), reason, timeout, n)
		}
		time.Sleep(50 * time.Millisecond) // polling the metrics, with a deadline
	}
}

// TestPageStopsAfterAFinalRefusal: a name the server refuses (invisible
// Hangul fillers, which the page's own check lets through) is a final
// refusal, 1008 with bad_request: the page shows the server's words and
// tries no more.
func TestPageStopsAfterAFinalRefusal(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/?room=e2e-final")
	waitFor(tb, "the page to play", `window.arena && window.arena.connected`, 10*time.Second)
	eval[bool](tb, `(localStorage.setItem('arena.name', '\u3164\u3164'), true)`)
	tb.do(chromedp.Reload())
	waitFor(tb, "the page to give up", `window.arena && window.arena.status === 'closed' && window.arena.closed !== null`, 10*time.Second)

	closed := eval[map[string]any](tb, `window.arena.closed`)
	if closed["code"] != float64(websocket.ClosePolicyViolation) || closed["error"] != "bad_request" || !strings.Contains(fmt.Sprint(closed["detail"]), "invisible") {
		t.Errorf("the page closed with %v; want 1008, bad_request and the server's words", closed)
	}
	banner := eval[string](tb, `document.getElementById('banner').hidden ? '' : document.getElementById('banner').textContent`)
	if !strings.Contains(banner, "names may not hold invisible characters") {
		t.Errorf("the banner says %q; want the server's message", banner)
	}
	if st := eval[string](tb, `document.getElementById('status').textContent`); st != "closed" {
		t.Errorf("the status says %q; want closed", st)
	}
	// Nothing is scheduled: the page will not try again by itself.
	if eval[bool](tb, `window.arena.client.conn.retryTimer !== null || window.arena.client.conn.ws !== null`) {
		t.Error("the page still has a retry scheduled or a socket open")
	}
	if n := refusals(t, srv, "bad_request"); n != 1 {
		t.Errorf("%d joins refused as bad_request; want 1", n)
	}
	if eval[int](tb, `window.arena.retries.length`) != 0 {
		t.Errorf("the page scheduled retries: %s", eval[string](tb, `JSON.stringify(window.arena.retries)`))
	}
}

// TestPageBacksOffFromAFullRoomAndGetsIn: a room at capacity refuses
// with room_full and 1013, "later": the page says so, is never shown
// connected meanwhile, tries again at growing intervals (exponential
// backoff with full jitter: each wait below a ceiling that doubles), and
// gets in once a seat frees.
func TestPageBacksOffFromAFullRoomAndGetsIn(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Room.Capacity = 1 }})
	seated := arenatest.Dial(t, srv.WSURL+"?room=e2e-full", nil)
	seated.Init()
	// The seated player keeps reading (and so answering the server's
	// pings) while the page tries: a client that stops reading is closed
	// as too slow, and its player kept, away, for the resume grace.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if _, _, err := seated.Conn.ReadMessage(); err != nil {
				return
			}
		}
	}()

	tb := newTab(t)
	tb.navigate(srv.URL + "/?room=e2e-full")
	// Every status the page shows, from the start: it must never say
	// connected while refused.
	waitFor(tb, "the page's client", `window.arena && window.arena.client`, 5*time.Second)
	eval[bool](tb, `(window.__statuses = [], window.arena.client.on('status', (s) => window.__statuses.push(s.state)), true)`)
	const tries = 5 // the first attempt and four retries: ceilings 0.5, 1, 2 and 4 s
	waitRefusals(t, srv, "room_full", tries, 20*time.Second)
	waitFor(tb, "the page to have scheduled its retries", fmt.Sprintf(`window.arena.retries.length >= %d`, tries-1), 5*time.Second)

	if eval[bool](tb, `window.arena.connected || window.arena.id !== null || window.__statuses.includes('connected')`) {
		t.Errorf("the page showed connected while refused: statuses %s", eval[string](tb, `JSON.stringify(window.__statuses)`))
	}
	if banner := eval[string](tb, `document.getElementById('banner').textContent`); !strings.Contains(banner, "room is full") {
		t.Errorf("the banner says %q; want the refusal's message", banner)
	}
	var retries []struct {
		Attempt, Code      int
		Delay, Ceiling, At float64
		Error              string
	}
	if err := json.Unmarshal([]byte(eval[string](tb, `JSON.stringify(window.arena.retries)`)), &retries); err != nil {
		t.Fatal(err)
	}
	for i, r := range retries {
		want := min(15000, 500*float64(int(1)<<i))
		if r.Attempt != i+1 || r.Code != websocket.CloseTryAgainLater || r.Error != "room_full" || r.Ceiling != want || r.Delay < 0 || r.Delay >= r.Ceiling {
			t.Errorf("retry %d: %+v; want attempt %d after 1013 room_full, waiting under a ceiling of %v ms", i, r, i+1, want)
		}
		// The next attempt came no sooner than the wait said.
		if i > 0 && r.At-retries[i-1].At < retries[i-1].Delay {
			t.Errorf("retry %d came %.0f ms after the one before, which was to wait %.0f ms", i, r.At-retries[i-1].At, retries[i-1].Delay)
		}
	}
	// Each attempt reached the server and was refused there, no more.
	if got, want := refusals(t, srv, "room_full"), len(retries)+1; got < want-1 || got > want+1 {
		t.Errorf("the server refused %d joins; the page made %d attempts", got, want)
	}

	// The seat frees: a leave ends the player at once.
	seated.Send(`{"type":"leave"}`)
	select {
	case <-drained: // the server closed the connection
	case <-time.After(5 * time.Second):
		t.Fatal("the seated player's connection did not close after its leave")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("retries: %s; status %s; banner %q; refused %d", eval[string](tb, `JSON.stringify(window.arena.retries)`),
				eval[string](tb, `window.arena.status`), eval[string](tb, `document.getElementById('banner').textContent`), refusals(t, srv, "room_full"))
		}
	})
	waitFor(tb, "the page to get in", `window.arena.connected && window.arena.room === 'e2e-full' && window.arena.tick > 0
		&& document.getElementById('banner').hidden`, 20*time.Second)
	if n := eval[int](tb, `window.arena.client.attempts`); n != 0 {
		t.Errorf("after the welcome the client counts %d failed attempts; want 0", n)
	}
}

// TestRetryPolicyDecidesByCode pins the client's table: what it does
// after each close and refusal, by their codes alone.
func TestRetryPolicyDecidesByCode(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	tb := newTab(t)
	tb.navigate(srv.URL + "/")
	got := eval[[]string](tb, `import('/js/net.js').then((net) => [
		[1008, 'rate_limited'], // rooms created too fast from your address: later, whatever the text says
		[1008, 'too_many_seats'],
		[1013, 'rate_limited'],
		[1013, 'room_full'],
		[1013, 'server_full'],
		[1013, 'too_many_rooms'],
		[1013, 'room_elsewhere'],
		[1013, ''],
		[1011, 'server_error'],
		[1011, ''],
		[1001, ''],
		[1006, ''],
		[1008, ''], // too slow, no pong: while playing, no refusal
		[1008, 'bad_request'],
		[1008, 'bad_option'],
		[1008, 'refused'], // the game's rules
		[1008, 'some_new_refusal'],
		[1000, ''],
		[1000, 'server_error'],
		[4001, ''],
		[1009, ''],
		[1012, ''],
		[1008, 'auth_required'],
		[1008, 'auth_failed'], // refresh the token, and try once more
		[4003, 'banned'],
		[4003, ''],
		[4004, 'signed_out'],
		[4004, ''],
	].map(([code, error]) => code + ' ' + (error || '-') + ' ' + net.retryPolicy(code, error))
		.concat([0, 1, 2, 3, 4, 5, 6, 10].map((n) => String(net.backoffCeiling(n)))))`)
	want := []string{
		"1008 rate_limited later", "1008 too_many_seats later", "1013 rate_limited later", "1013 room_full later",
		"1013 server_full later", "1013 too_many_rooms later", "1013 room_elsewhere later", "1013 - later",
		"1011 server_error later", "1011 - later", "1001 - later", "1006 - later", "1008 - later",
		"1008 bad_request never", "1008 bad_option never", "1008 refused never", "1008 some_new_refusal never",
		"1000 - never", "1000 server_error never", "4001 - never", "1009 - never", "1012 - now",
		"1008 auth_required never", "1008 auth_failed now", "4003 banned never", "4003 - never", "4004 signed_out never", "4004 - never",
		"500", "1000", "2000", "4000", "8000", "15000", "15000", "15000",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("policies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
