package server_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/arena-server/arena/arenatest"
)

// staticImport finds the relative module paths a script imports.
var staticImport = regexp.MustCompile(`(?m)^(?:import|export)\s[^'"]*from\s+'(\.\.?/[^']+)'`)

// TestSDKIsServedAsAModule fetches /sdk/arena.js and every module it
// imports, transitively, as a browser of another site would: each must be
// JavaScript, readable from any origin, and the SDK must export connect.
func TestSDKIsServedAsAModule(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{})
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	queue := []string{"/sdk/arena.js"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		body := getScript(t, srv.URL+p)
		if p == "/sdk/arena.js" {
			for _, want := range []string{"export function connect(", "export class Client ", "export { UP, DOWN, LEFT, RIGHT, ACTION, move }"} {
				if !strings.Contains(body, want) {
					t.Errorf("%s does not contain %q", p, want)
				}
			}
		}
		for _, m := range staticImport.FindAllStringSubmatch(body, -1) {
			u := base.ResolveReference(&url.URL{Path: p}).ResolveReference(&url.URL{Path: m[1]})
			queue = append(queue, u.Path)
		}
	}
	for _, want := range []string{"/js/net.js", "/js/protocol.js", "/js/predict.js", "/js/rules.js", "/js/interp.js", "/js/clock.js"} {
		if !seen[want] {
			t.Errorf("the SDK does not import %s; it imports %v", want, seen)
		}
	}

	// The page itself is not for other sites to read.
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("GET / has Access-Control-Allow-Origin %q; want none", got)
	}
}

// getScript fetches a module with an Origin of another site and checks
// that a browser would run it.
func getScript(t *testing.T, u string) string {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "http://elsewhere.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	// Browsers run a module only with a JavaScript MIME type.
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("GET %s: Content-Type %q; want text/javascript", u, ct)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("GET %s: Access-Control-Allow-Origin %q; want *", u, got)
	}
	return string(b)
}
