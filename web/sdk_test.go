package web

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestThePagePlaysThroughTheSDK keeps the built-in page on the SDK: it
// imports /sdk/arena.js and none of the modules the SDK puts together, so
// what third-party pages get is what the page itself runs.
func TestThePagePlaysThroughTheSDK(t *testing.T) {
	b, err := fs.ReadFile(FS(), "js/main.js")
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^import .* from '([^']+)';`).FindAllSubmatch(b, -1) {
		imports[string(m[1])] = true
	}
	if !imports["../sdk/arena.js"] {
		t.Errorf("main.js does not import ../sdk/arena.js; it imports %v", imports)
	}
	for _, inner := range []string{"./net.js", "./clock.js", "./predict.js", "./interp.js"} {
		if imports[inner] {
			t.Errorf("main.js imports %s itself, beside the SDK", inner)
		}
	}
	if _, err := fs.Stat(FS(), "sdk/arena.js"); err != nil {
		t.Errorf("the SDK is not in the embedded client: %v", err)
	}
}
