package game

import (
	"strings"
	"testing"
)

func TestModeLoads(t *testing.T) {
	newGame := func(Config) Game { return nil }
	many := make([]string, MaxLoads+1)
	for i := range many {
		many[i] = "c" + strings.Repeat("x", i)
	}
	if err := (Mode{Name: "g", New: newGame, Loads: many[:MaxLoads]}).Check(); err != nil {
		t.Errorf("a mode of %d loads: %v", MaxLoads, err)
	}
	if err := (Mode{Name: "g", New: newGame, Loads: []string{"a.b-c_D9", strings.Repeat("x", 64)}}).Check(); err != nil {
		t.Errorf("good loads: %v", err)
	}
	for _, bad := range [][]string{many, {""}, {"a/b"}, {"a b"}, {strings.Repeat("x", 65)}, {"é"}, {"a", "a"}} {
		if (Mode{Name: "g", New: newGame, Loads: bad}).Check() == nil {
			t.Errorf("loads %q passed the check", bad)
		}
	}
}
