package protocol

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNickname(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: the name kept, or a part of the error
		ok       bool
	}{
		{"", "", true},
		{"  ", "", true},
		{"ann", "ann", true},
		{"  bo  ", "bo", true},
		{"Zed", "Zed", true},
		{"<b>Ann</b>", "<b>Ann</b>", true},
		{"nameofexactly16c", "nameofexactly16c", true},
		{"Ann Bo", "Ann Bo", true},
		{"é", "é", true},
		{"e\u0301", "e\u0301", true},             // é decomposed
		{"e\u0323\u0302", "e\u0323\u0302", true}, // Vietnamese ệ decomposed
		{"กี่", "กี่", true},                     // Thai: two marks on a letter
		{"क्षत्रिय", "क्षत्रिय", true},
		{"李小龍", "李小龍", true},
		{"Çağrı", "Çağrı", true},
		{"Ωmega", "Ωmega", true},
		{"😀", "😀", true},
		{"❤\ufe0f", "❤\ufe0f", true}, // emoji presentation selector
		{"-_-", "-_-", true},
		{"42", "42", true},
		{"$", "$", true},

		{"a\nb", "printable", false},
		{"a\x00", "printable", false},
		{"a\u3000b", "printable", false},    // ideographic space
		{"a\ue000", "printable", false},     // private use
		{"a\U000F0000", "printable", false}, // private use, plane 15
		{"a\u0378", "printable", false},     // unassigned
		{"\xff", "valid UTF-8", false},
		{"\xed\xa0\x80", "valid UTF-8", false}, // a surrogate, encoded
		{strings.Repeat("n", 17), "at most 16 characters", false},

		{"\u3164", "invisible", false}, // Hangul filler
		{"\u3164\u3164\u3164", "invisible", false},
		{"a\u115f", "invisible", false},
		{"\u1160b", "invisible", false},
		{"\uffa0", "invisible", false},
		{"\u2800", "invisible", false},   // blank Braille cell
		{"a\u200bb", "invisible", false}, // zero-width space
		{"a\u200db", "invisible", false}, // zero-width joiner
		{"\ufeffann", "invisible", false},
		{"ann\u202e", "invisible", false},   // right-to-left override
		{"a\u2066b", "invisible", false},    // bidi isolate
		{"a\u00adb", "invisible", false},    // soft hyphen
		{"a\u034fb", "invisible", false},    // combining grapheme joiner
		{"a\u180eb", "invisible", false},    // Mongolian vowel separator
		{"a\U000E0041", "invisible", false}, // a tag character
		{"a\u2064", "invisible", false},     // invisible plus

		{"e\u0301\u0301\u0301", "at most 2 combining marks", false},
		{"Z\u0351\u0325\u0353\u0324\u0348ALGO", "at most 2 combining marks", false},
		{"a\u20dd\u20dd\u20dd", "at most 2 combining marks", false}, // enclosing marks
		{"\u0301a", "start with a combining mark", false},
		{"\u0903a", "start with a combining mark", false},

		{"\ufdfd", "wider", false},
		{"a\ufdfa", "wider", false},
		{"\ufdfb", "wider", false},
		{"\U00012219", "wider", false},
		{"\U0001242b", "wider", false},
		{"\ua9c5", "wider", false},
		{"a\u2e3b", "wider", false},
		{"a\u2e3a", "wider", false},

		{"a \u0301\u0301", "a \u0301\u0301", true}, // marks on a space: a base still
	} {
		got, err := Nickname(tc.in)
		switch {
		case tc.ok && (err != nil || got != tc.want):
			t.Errorf("Nickname(%+q) = %+q, %v; want %+q", tc.in, got, err, tc.want)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Nickname(%+q) = %+q, %v; want an error saying %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzNickname: whatever a client sends as ?name=, the result is a short,
// printable name that can be seen, or an error, never a panic.
func FuzzNickname(f *testing.F) {
	for _, s := range []string{"ann", "  bo  ", "<script>", "\x00", "\xff", "nameofexactly16c", "é", "ééééééééééééééééé",
		"\u3164", "a\u200b", "e\u0301\u0301\u0301", "\ufdfd", " \u0301a", "\u2800"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		name, err := Nickname(in)
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
