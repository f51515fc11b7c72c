package server

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/arena-server/arena/room"
)

// FuzzNickname: whatever a client sends as ?name=, the result is a short,
// printable name or an error, never a panic.
func FuzzNickname(f *testing.F) {
	for _, s := range []string{"ann", "  bo  ", "<script>", "\x00", "\xff", "nameofexactly16c", "é", "ééééééééééééééééé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, err := nickname(in)
		if err != nil {
			return
		}
		if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength {
			t.Fatalf("accepted %q", name)
		}
		for _, r := range name {
			if !unicode.IsPrint(r) {
				t.Fatalf("accepted unprintable %q", name)
			}
		}
	})
}

// FuzzRoomName: room names from ?room= are validated before any room exists.
func FuzzRoomName(f *testing.F) {
	for _, s := range []string{"default", "a-b_c", "", "x y", "../etc", "ü", "abcdefghijabcdefghijabcdefghijabc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !room.ValidName(in) {
			return
		}
		if len(in) == 0 || len(in) > 32 {
			t.Fatalf("accepted %q", in)
		}
		for _, r := range in {
			if !(r == '-' || r == '_' || r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
				t.Fatalf("accepted %q", in)
			}
		}
	})
}
