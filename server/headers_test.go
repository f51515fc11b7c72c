package server_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// policy parses a Content-Security-Policy into its directives.
func policy(h string) map[string][]string {
	p := map[string][]string{}
	for d := range strings.SplitSeq(h, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			p[f[0]] = f[1:]
		}
	}
	return p
}

// TestPagesCarryTheirPolicy: the game's page and the admin page load only
// their own files, may not be framed and send no Referer; the game's page
// may open sockets to other nodes, the admin page may not. The SDK stays
// importable by pages of any origin.
func TestPagesCarryTheirPolicy(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.AdminToken = "s3cret" }})
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return resp
	}
	for _, tc := range []struct {
		path    string
		connect []string // connect-src; none: default-src's
	}{
		{"/", []string{"'self'", "ws:", "wss:"}},
		{"/?room=castle", []string{"'self'", "ws:", "wss:"}},
		{"/index.html", []string{"'self'", "ws:", "wss:"}},
		{"/admin/", nil},
	} {
		h := get(tc.path).Header
		p := policy(h.Get("Content-Security-Policy"))
		for dir, want := range map[string][]string{
			"default-src":     {"'self'"},
			"object-src":      {"'none'"},
			"base-uri":        {"'none'"},
			"frame-ancestors": {"'none'"},
			"connect-src":     tc.connect,
		} {
			if !slices.Equal(p[dir], want) {
				t.Errorf("GET %s: %s %q; want %q (policy %q)", tc.path, dir, p[dir], want, h.Get("Content-Security-Policy"))
			}
		}
		for _, dir := range []string{"script-src", "style-src", "img-src"} {
			if v, ok := p[dir]; ok {
				t.Errorf("GET %s: %s %q; want default-src's 'self'", tc.path, dir, v)
			}
		}
		for name, want := range map[string]string{
			"X-Frame-Options":        "DENY",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("GET %s: %s %q; want %q", tc.path, name, got, want)
			}
		}
	}
	// Pages of other sites import the SDK and its modules.
	for _, path := range []string{"/sdk/arena.js", "/js/protocol.js"} {
		h := get(path).Header
		if h.Get("Access-Control-Allow-Origin") != "*" || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q, Content-Type %q, X-Content-Type-Options %q; want *, text/javascript, nosniff",
				path, h.Get("Access-Control-Allow-Origin"), h.Get("Content-Type"), h.Get("X-Content-Type-Options"))
		}
	}
}
