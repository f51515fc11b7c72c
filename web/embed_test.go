package web

import (
	"io/fs"
	"regexp"
	"testing"
)

// external matches anything that would make a page load from elsewhere: an
// absolute or protocol-relative URL in src, href, import, url() or @import.
var external = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|import\s*(\(|[^;]*from)\s*["'](https?:)?//|url\(\s*["']?(https?:)?//|@import\s+["']?(https?:)?//|fonts\.googleapis|cdn\.`)

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
			if m := external.Find(b); m != nil {
				t.Errorf("%s/%s refers to something elsewhere: %q", name, path, m)
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
		`<link href="//fonts.googleapis.com/css?family=Inter" rel="stylesheet">`,
		`import x from "https://esm.sh/x";`,
		`body { background: url(https://example.com/a.png) }`,
		`@import "https://example.com/a.css";`,
	} {
		if !external.MatchString(bad) {
			t.Errorf("not caught: %s", bad)
		}
	}
	for _, good := range []string{`<script type="module" src="js/main.js">`, `import { move } from './rules.js';`, `new URL('/ws', location.href)`} {
		if external.MatchString(good) {
			t.Errorf("false alarm: %s", good)
		}
	}
}
