package server_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// TestAdminAPIIsBehindTheToken: Config.AdminAPI's paths reach it only with
// the admin token, with method, path and body intact and the admin page's
// headers; the stats tell the page it is there. A server without one
// answers those paths 404, as before.
func TestAdminAPIIsBehindTheToken(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.AdminToken = adminToken
		c.AdminAPI = api
	}})
	do := func(method, path, token, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	calls := []struct{ method, path, body string }{
		{"GET", "/admin/api/accounts?q=ann&limit=5", ""},
		{"GET", "/admin/api/accounts/abc", ""},
		{"POST", "/admin/api/accounts/abc/ban", `{"reason":"spam"}`},
		{"POST", "/admin/api/accounts/abc/unban", ""},
		{"POST", "/admin/api/accounts/abc/revoke", ""},
		{"GET", "/admin/api/audit?account=abc", ""},
	}
	for _, c := range calls {
		for _, token := range []string{"", "wrong"} {
			// After five failures the address is throttled (429): refused
			// still, before the token is even compared.
			if resp := do(c.method, c.path, token, c.body); resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
				t.Errorf("%s %s with token %q: HTTP %d; want 401 or 429", c.method, c.path, token, resp.StatusCode)
			}
		}
	}
	mu.Lock()
	if len(seen) > 0 {
		t.Errorf("the admin API was reached without the token: %q", seen)
	}
	mu.Unlock()
	// The address is throttled now; a new server starts afresh.
	srv = arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.AdminToken = adminToken
		c.AdminAPI = api
	}})
	var want []string
	for _, c := range calls {
		resp := do(c.method, c.path, adminToken, c.body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s with the token: HTTP %d", c.method, c.path, resp.StatusCode)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s %s: Content-Security-Policy %q; want the admin page's", c.method, c.path, csp)
		}
		want = append(want, c.method+" "+c.path+" "+c.body)
	}
	mu.Lock()
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("the admin API saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	mu.Unlock()
	var st server.AdminStats
	adminStats(t, srv, &st)
	if !st.Accounts {
		t.Error("stats say accounts: false with an AdminAPI")
	}

	plain := arenatest.Start(t, arenatest.Options{Config: withAdmin})
	srv = plain
	for _, c := range calls {
		if resp := do(c.method, c.path, adminToken, c.body); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("without an AdminAPI, %s %s: HTTP %d; want 404 or 405", c.method, c.path, resp.StatusCode)
		}
	}
	st = server.AdminStats{}
	adminStats(t, plain, &st)
	if st.Accounts {
		t.Error("stats say accounts: true with no AdminAPI")
	}
}
