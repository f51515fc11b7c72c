package progress

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/arena-server/arena/rating"
)

// get fetches path from the API and decodes its JSON answer into v.
func get(t *testing.T, base, path string, v any) int {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return res.StatusCode
}

type apiErr struct{ Code, Message string }

func TestMatchHistoryAndProfileAPI(t *testing.T) {
	each(t, func(t *testing.T, u string) {
		db := openDB(t, u)
		addAccounts(t, db, "a", "b")
		s := newService(t, db)
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		const n = 5
		for i := range n {
			s.Result(report("duel", "h", i+1, player{id: 1, account: "a", score: 2}, player{id: 2, account: "b", score: 1}, player{id: 3}))
		}
		waitFor(t, "written", func() bool { return s.ResultStats().Written == n })

		// The profile: name, creation, and the rating per mode.
		var prof profileJSON
		if code := get(t, srv.URL, "/api/accounts/a", &prof); code != 200 {
			t.Fatalf("profile: %d", code)
		}
		if prof.ID != "a" || prof.Name != "Name-a" || prof.Created.IsZero() || len(prof.Ratings) != 1 {
			t.Fatalf("profile %+v", prof)
		}
		r := prof.Ratings[0]
		if r.Mode != "duel" || r.Games != n || r.Mu <= rating.DefaultMu || r.Ordinal != (rating.Rating{Mu: r.Mu, Sigma: r.Sigma}).Ordinal() {
			t.Fatalf("rating %+v", r)
		}

		// The history, newest first, in pages of two.
		var games []int
		next := ""
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("paging does not end")
			}
			var page struct {
				Matches []matchJSON
				Next    string
			}
			path := "/api/matches?account=a&limit=2"
			if next != "" {
				path += "&before=" + url.QueryEscape(next)
			}
			if code := get(t, srv.URL, path, &page); code != 200 {
				t.Fatalf("GET %s: %d", path, code)
			}
			for _, m := range page.Matches {
				games = append(games, m.Game)
				if m.Guests != 1 || len(m.Players) != 2 || m.Players[0].Account != "a" || m.Players[0].Standing != 1 || m.Mode != "duel" {
					t.Fatalf("match %+v", m)
				}
			}
			if page.Next == "" {
				break
			}
			next = page.Next
		}
		if len(games) != n || games[0] != n || games[n-1] != 1 {
			t.Fatalf("games in pages: %v, want %d down to 1", games, n)
		}

		// Strict and bounded.
		for path, want := range map[string]int{
			"/api/matches":                                              400, // no account
			"/api/matches?account=a&limit=0":                            400,
			"/api/matches?account=a&limit=101":                          400,
			"/api/matches?account=a&limit=x":                            400,
			"/api/matches?account=a&account=b":                          400,
			"/api/matches?account=a&page=2":                             400,
			"/api/matches?account=a&before=nonsense!":                   400,
			"/api/matches?account=a&before=" + strings.Repeat("A", 600): 400,
			"/api/matches?account=" + strings.Repeat("a", 65):           400,
			"/api/matches?account=nobody":                               404,
			"/api/accounts/nobody":                                      404,
			"/api/accounts/a%20b":                                       404,
			"/api/accounts/a?x=1":                                       400,
		} {
			var e apiErr
			if code := get(t, srv.URL, path, &e); code != want || e.Code == "" || e.Message == "" {
				t.Errorf("GET %s: %d %+v, want %d", path, code, e, want)
			}
		}
		res, err := http.Post(srv.URL+"/api/matches?account=a", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("POST: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
		}

		// The store down: 503 unavailable, with a Retry-After.
		db.Close()
		for _, path := range []string{"/api/accounts/a", "/api/matches?account=a"} {
			var e apiErr
			if code := get(t, srv.URL, path, &e); code != 503 || e.Code != "unavailable" {
				t.Fatalf("GET %s with the store down: %d %+v", path, code, e)
			}
		}
	})
}
