package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// external matches anything that would make a page load from elsewhere, or
// send anything elsewhere:
//   - any absolute URL (http, https, ws, wss, ftp, or any other scheme
//     written with "//"), wherever it appears: the pages build every URL
//     from location, so none has a reason to hold one, and a rule without
//     exceptions cannot be talked around;
//   - a protocol-relative URL ("//cdn.example/x.js") where a quote, "(" or
//     "=" starts a value: src, href, srcset, import, url(), fetch(), ...;
//   - the names of the usual CDNs and font services, however they are
//     spelled into a URL.
var external = regexp.MustCompile(`(?i)` +
	`\b[a-z][a-z0-9+.-]*://` +
	`|["'(=,\s]//[a-z0-9-]+(\.[a-z0-9-]+)+` +
	`|fonts\.(googleapis|gstatic)\.com|\bcdn\.|\bunpkg\.com|jsdelivr|cdnjs|esm\.sh|skypack`)

func TestPagesLoadNothingFromElsewhere(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"client": FS(), "admin": AdminFS()} {
		n := 0
		err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			n++
			for _, m := range external.FindAllIndex(b, -1) {
				line := 1 + strings.Count(string(b[:m[0]]), "\n")
				t.Errorf("%s/%s:%d refers to something elsewhere: %q", name, path, line, b[m[0]:m[1]])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Stat(fsys, "index.html"); err != nil || n < 2 {
			t.Errorf("%s: %d files, index.html: %v", name, n, err)
		}
	}
}

func TestTheCheckCatchesACDN(t *testing.T) {
	for _, bad := range []string{
		`<script src="https://cdn.tailwindcss.com"></script>`,
		`<script src=https://example.com/a.js></script>`,
		`<link href="//fonts.googleapis.com/css?family=Inter" rel="stylesheet">`,
		`<link rel="preconnect" href="https://fonts.gstatic.com">`,
		`<img srcset="//img.example.com/a.png 2x">`,
		`<img srcset="a.png 1x, //img.example.com/a.png 2x">`,
		`<meta http-equiv="refresh" content="0; url=http://example.com/">`,
		`import x from "https://esm.sh/x";`,
		`import "https://example.com/side-effect.js";`,
		`import('//example.com/lazy.js')`,
		`const m = await import("https://example.com/m.js")`,
		`fetch('https://api.example.com/scores')`,
		`new WebSocket('wss://other.example.com/ws')`,
		`new Worker("//example.com/w.js")`,
		`body { background: url(https://example.com/a.png) }`,
		`body { background: url( "//example.com/a.png" ) }`,
		`@import "https://example.com/a.css";`,
		`@import url(//example.com/a.css);`,
		`@font-face { src: url(https://example.com/a.woff2) }`,
		`// see https://example.com/ for details`,
		`const lib = 'cdn.jsdelivr.net/npm/x'`,
	} {
		if !external.MatchString(bad) {
			t.Errorf("not caught: %s", bad)
		}
	}
	for _, good := range []string{
		`<script type="module" src="js/main.js">`,
		`<link rel="icon" href="data:,">`,
		`import { move } from './rules.js';`,
		`import('/js/rules.js')`,
		`new URL('/ws', location.href)`,
		`u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';`,
		`const x = 1; // a comment`,
		`fetch('/api/rooms', { cache: 'no-store' })`,
		`.a { background: url(data:image/png;base64,AAAA) }`,
		`<path d="M12 5 20 18H4Z"/>`,
	} {
		if external.MatchString(good) {
			t.Errorf("false alarm: %s", good)
		}
	}
}

func TestDirectoriesAreNotListed(t *testing.T) {
	for name, fsys := range map[string]fs.FS{"client": FS(), "admin": AdminFS()} {
		h := http.FileServerFS(fsys)
		for _, tc := range []struct {
			path string
			want int
		}{{"/", 200}, {"/index.html", 301}, {"/js/", 404}, {"/js", 404}} {
			if name == "admin" && strings.HasPrefix(tc.path, "/js") {
				continue
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			if rec.Code != tc.want {
				t.Errorf("%s %s: %d; want %d", name, tc.path, rec.Code, tc.want)
			}
		}
	}
	rec := httptest.NewRecorder()
	http.FileServerFS(FS()).ServeHTTP(rec, httptest.NewRequest("GET", "/js/main.js", nil))
	if rec.Code != 200 {
		t.Errorf("/js/main.js: %d", rec.Code)
	}
}
