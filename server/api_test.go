package server

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/arena-server/arena/room"
)

// FuzzNickname: whatever a client sends as ?name=, the result is a short,
// printable name that can be seen, or an error, never a panic.
func FuzzNickname(f *testing.F) {
	for _, s := range []string{"ann", "  bo  ", "<script>", "\x00", "\xff", "nameofexactly16c", "é", "ééééééééééééééééé",
		"\u3164", "a\u200b", "e\u0301\u0301\u0301", "\ufdfd", " \u0301a", "\u2800"} {
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
		marks, visible := 0, name == ""
		for _, r := range name {
			if !unicode.IsPrint(r) || invisible(r) || tooWide(r) {
				t.Fatalf("accepted %+q, which has %U", name, r)
			}
			if unicode.In(r, unicode.Mn, unicode.Me) {
				if marks++; marks > maxMarksInARow {
					t.Fatalf("accepted %+q, which stacks %d marks", name, marks)
				}
				continue
			}
			marks = 0
			visible = visible || unicode.In(r, unicode.L, unicode.N, unicode.S, unicode.P)
		}
		if !visible {
			t.Fatalf("accepted %+q, which has nothing to see", name)
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
