package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestPageNamesItsServer(t *testing.T) {
	h, err := handler("http://arena.test:8765/")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?room=r1", nil))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusFound || loc != "/?room=r1&server=http%3A%2F%2Farena.test%3A8765" {
		t.Errorf("GET /?room=r1: %d to %q; want a redirect naming the server", rec.Code, loc)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?server=http://arena.test:8765", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), page) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("GET /?server=...: %d %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/main.go", nil))
	if rec.Code != 404 {
		t.Errorf("GET /main.go: %d; want 404", rec.Code)
	}
}

func TestBadArenaURLIsRefused(t *testing.T) {
	for _, bad := range []string{"", "arena.test:8765", "ftp://arena.test", "http://"} {
		if _, err := handler(bad); err == nil {
			t.Errorf("handler(%q) accepted it", bad)
		}
		var out strings.Builder
		if code := run(t.Context(), []string{"-arena", bad, "-port", "0"}, func(string) string { return "" }, &out); code != 2 || !strings.Contains(out.String(), "-arena") {
			t.Errorf("run -arena %q: exit %d, %q; want 2 and a word on -arena", bad, code, out.String())
		}
	}
}

// TestPageLoadsOnlyTheSDK pins the example's promise: the one module of
// arena's it imports is /sdk/arena.js.
func TestPageLoadsOnlyTheSDK(t *testing.T) {
	imports := regexp.MustCompile(`\bimport\s*\(([^)]*)\)|\bimport\s[^;]*from\s*'([^']*)'|<script[^>]*\bsrc=`).FindAllSubmatch(page, -1)
	if len(imports) != 1 || !strings.Contains(string(imports[0][1]), `'/sdk/arena.js'`) {
		var found []string
		for _, m := range imports {
			found = append(found, string(m[0]))
		}
		t.Errorf("the page imports %q; want only /sdk/arena.js", found)
	}
}
