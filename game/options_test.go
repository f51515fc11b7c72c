package game_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/arena-server/arena/game"
)

var testDecl = []game.Option{
	{Name: "round", Type: game.OptionInt, Min: 10, Max: 600, Default: "60"},
	{Name: "team", Type: game.OptionEnum, Values: []string{"red", "blue"}, Default: "red"},
	{Name: "title", Type: game.OptionString, MaxLen: 5},
	{Name: "hard", Type: game.OptionBool},
	{Name: "color", Type: game.OptionColor, Default: "#102030"},
}

func TestParseOptionsRefuses(t *testing.T) {
	cases := []struct {
		raw  map[string]string
		want string // in the error, naming the option and what it allows
	}{
		{map[string]string{"speed": "3"}, `option "speed" is unknown: this mode takes round, team, title, hard, color`},
		{map[string]string{"round": "9"}, `option "round" must be an integer from 10 to 600`},
		{map[string]string{"round": "601"}, `option "round" must be an integer from 10 to 600`},
		{map[string]string{"round": "1e2"}, `option "round" must be an integer from 10 to 600`},
		{map[string]string{"round": ""}, `option "round" must be an integer`},
		{map[string]string{"team": "green"}, `option "team" must be one of red, blue`},
		{map[string]string{"title": "toolong"}, `option "title" is at most 5 characters`},
		{map[string]string{"title": "a\nb"}, `option "title" may only hold printable characters`},
		{map[string]string{"title": "\xff"}, `option "title" must be valid UTF-8`},
		{map[string]string{"hard": "maybe"}, `option "hard" must be true or false`},
		{map[string]string{"color": "#12345"}, `option "color" must be a colour #rrggbb`},
		{map[string]string{"color": "#12345g"}, `option "color" must be a colour #rrggbb`},
		{map[string]string{"color": "123456"}, `option "color" must be a colour #rrggbb`},
		// The first problem in name order, whatever the map's order.
		{map[string]string{"team": "green", "round": "1"}, `option "round"`},
	}
	for _, tc := range cases {
		_, err := game.ParseOptions(testDecl, tc.raw)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v; want one saying %q", tc.raw, err, tc.want)
			continue
		}
		var oe *game.OptionError
		if !errors.Is(err, game.ErrBadOption) || !errors.As(err, &oe) {
			t.Errorf("%v: %v is not an *OptionError matching ErrBadOption", tc.raw, err)
		}
	}
	if _, err := game.ParseOptions(nil, map[string]string{"x": "1"}); err == nil || !strings.Contains(err.Error(), "takes no options") {
		t.Errorf("a mode without options: %v", err)
	}
}

func TestParseOptionsValuesAndDefaults(t *testing.T) {
	opts, err := game.ParseOptions(testDecl, map[string]string{"round": "+120", "title": "héllo", "hard": "1", "color": "#A0B0C0"})
	if err != nil {
		t.Fatal(err)
	}
	if got := opts.Int("round"); got != 120 {
		t.Errorf("round %d; want 120", got)
	}
	if got := opts.String("team"); got != "red" {
		t.Errorf("team %q; want the default red", got)
	}
	if got := opts.String("title"); got != "héllo" {
		t.Errorf("title %q", got)
	}
	if !opts.Bool("hard") || !opts.Has("hard") || opts.Has("team") {
		t.Errorf("hard %v, has hard %v, has team %v", opts.Bool("hard"), opts.Has("hard"), opts.Has("team"))
	}
	if got := opts.Color("color"); got != 0xa0b0c0 {
		t.Errorf("color %06x", got)
	}
	if got := opts.Map(); got["round"] != "120" || got["color"] != "#a0b0c0" || got["hard"] != "true" || len(got) != 4 {
		t.Errorf("canonical values %v", got)
	}
	none, err := game.ParseOptions(testDecl, nil)
	if err != nil || none.Int("round") != 60 || none.Color("color") != 0x102030 || none.Bool("hard") {
		t.Errorf("defaults: %v %d %06x", err, none.Int("round"), none.Color("color"))
	}
	same, _ := game.ParseOptions(testDecl, map[string]string{"round": "60"})
	if !none.Equal(same) || none.Equal(opts) {
		t.Error("Equal must compare values, defaults included")
	}
	var zero game.Options
	if zero.Int("round") != 0 || zero.Has("round") {
		t.Error("the zero Options must hold nothing")
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("round", "60")
	f.Add("round", "-9223372036854775808")
	f.Add("team", "blue")
	f.Add("title", "\x00")
	f.Add("color", "#ffFFff")
	f.Add("hard", "T")
	f.Add("\xff", "")
	f.Fuzz(func(t *testing.T, name, value string) {
		opts, err := game.ParseOptions(testDecl, map[string]string{name: value})
		if err != nil {
			if !errors.Is(err, game.ErrBadOption) || !utf8.ValidString(err.Error()) {
				t.Fatalf("error %q is not a valid-text bad option", err)
			}
			return
		}
		// What was accepted parses again to the same: canonical text is
		// valid text.
		again, err := game.ParseOptions(testDecl, opts.Map())
		if err != nil || !again.Equal(opts) {
			t.Fatalf("%q=%q accepted as %v, which parses to %v (%v)", name, value, opts.Map(), again.Map(), err)
		}
	})
}

func TestSecretOptionsAreNotPublic(t *testing.T) {
	decl := []game.Option{
		{Name: "round", Type: game.OptionInt},
		{Name: "passphrase", Type: game.OptionString, Secret: true},
	}
	opts, err := game.ParseOptions(decl, map[string]string{"round": "30", "passphrase": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if pub := opts.Public(); len(pub) != 1 || pub["round"] != "30" {
		t.Errorf("Public() = %v, want only round", pub)
	}
	if !opts.HasSecret() {
		t.Error("HasSecret() = false with a secret option given")
	}
	if opts.Map()["passphrase"] != "s3cret" {
		t.Error("Map() lost the secret option, which the room and its checkpoints keep")
	}
	plain, _ := game.ParseOptions(decl, map[string]string{"round": "30"})
	if plain.HasSecret() {
		t.Error("HasSecret() = true with no secret option given")
	}
}
