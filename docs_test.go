package arena

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/blasters"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/games/world"
)

// TestProtocolDocListsEveryModesKinds keeps docs/protocol.md's table of
// the built-in modes' kinds true: every kind of every stock mode, by
// index and name, with its fields in order and of their types.
func TestProtocolDocListsEveryModesKinds(t *testing.T) {
	doc, err := os.ReadFile("docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `(\\w+)` \\| (\\d+) `(\\w+)` \\| (.*) \\| .* \\|$")
	field := regexp.MustCompile("(?:^|, )`(\\w+)` \\((\\w+)")
	listed := map[string]string{} // "mode kind-index" -> "name: field type, ..."
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		var fs []string
		for _, f := range field.FindAllStringSubmatch(m[4], -1) {
			fs = append(fs, f[1]+" "+f[2])
		}
		listed[m[1]+" "+m[2]] = m[3] + ": " + strings.Join(fs, ", ")
	}
	for _, mode := range []game.Mode{dots.Mode, tag.Mode, blasters.Mode, world.Mode} {
		for i, k := range mode.EntityKinds() {
			var fs []string
			for _, f := range k.Fields {
				typ := f.Type.String()
				if (f.Type == game.Uint || f.Type == game.Int) && f.Bits != 0 && f.Bits != 32 {
					typ += fmt.Sprint(f.Bits)
				}
				fs = append(fs, f.Name+" "+typ)
			}
			key := fmt.Sprintf("%s %d", mode.Name, i)
			if want := k.Name + ": " + strings.Join(fs, ", "); listed[key] != want {
				t.Errorf("docs/protocol.md lists %s kind %d as %q; the mode declares %q", mode.Name, i, listed[key], want)
			}
			delete(listed, key)
		}
	}
	for key, v := range listed {
		t.Errorf("docs/protocol.md lists %s, %q, which no stock mode declares", key, v)
	}
}

// TestWritingAGameQuotesTheHill keeps docs/writing-a-game.md's excerpts of
// examples/hill true: in the sections about the hill, its hooks and its
// tests, every Go block is the example's code, verbatim, but for import
// blocks and lines elided with "…".
func TestWritingAGameQuotesTheHill(t *testing.T) {
	doc, err := os.ReadFile("docs/writing-a-game.md")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range []string{"main.go", "persist.go", "hooks.go", "main_test.go"} {
		b, err := os.ReadFile("examples/hill/" + f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	sections := regexp.MustCompile("(?ms)^#+ (A whole game: king of the hill|Who plays, and what came of it: hooks|Testing a game)\n.*?\n(?:## |### A page)")
	block := regexp.MustCompile("(?ms)^```go\n(.*?)^```\n")
	quoted := 0
	for _, sec := range sections.FindAllString(string(doc), -1) {
		for _, b := range block.FindAllStringSubmatch(sec, -1) {
			// Runs of lines between blank lines, import blocks and
			// elisions.
			var run []string
			check := func() {
				if len(run) > 0 && !strings.HasPrefix(run[0], "import (") {
					quoted++
					if q := strings.Join(run, "\n") + "\n"; !strings.Contains(src.String(), q) {
						t.Errorf("docs/writing-a-game.md quotes code that examples/hill does not have:\n%s", q)
					}
				}
				run = run[:0]
			}
			for _, line := range strings.Split(strings.TrimSuffix(b[1], "\n"), "\n") {
				if line == "" || strings.Contains(line, "…") {
					check()
					continue
				}
				run = append(run, line)
			}
			check()
		}
	}
	if quoted < 10 {
		t.Errorf("found %d excerpts of examples/hill in docs/writing-a-game.md; the sections moved?", quoted)
	}
}
