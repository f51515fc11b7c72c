package server

import (
	"testing"
	"unicode"

	"github.com/arena-server/arena/room"
)

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
