package game

import "testing"

func TestModeCheck(t *testing.T) {
	newGame := func(Config) Game { return nil }
	good := Mode{Name: "g", New: newGame, Axes: []Axis{{Name: "aim", Min: -1, Max: 1}}}
	if err := good.Check(); err != nil {
		t.Errorf("a good mode: %v", err)
	}
	for _, bad := range []Mode{
		{New: newGame},
		{Name: "g"},
		{Name: "g", New: newGame, Axes: make([]Axis, MaxAxes+1)},
		{Name: "g", New: newGame, Axes: []Axis{{Name: "", Max: 1}}},
		{Name: "g", New: newGame, Axes: []Axis{{Name: "a", Min: 2, Max: 1}}},
		{Name: "g", New: newGame, Messages: []MessageType{{Name: "Chat"}}},
		{Name: "g", New: newGame, Messages: []MessageType{{Name: "chat", MaxBytes: MaxMessageBytes + 1}}},
		{Name: "g", New: newGame, Messages: []MessageType{{Name: "chat"}, {Name: "chat"}}},
	} {
		if bad.Check() == nil {
			t.Errorf("mode %+v passed its check", bad)
		}
	}
}
