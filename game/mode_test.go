package game

import "testing"

func TestModeCheck(t *testing.T) {
	newGame := func(Config) Game { return nil }
	good := Mode{Name: "g", New: newGame, Axes: []Axis{{Name: "aim", Min: -1, Max: 1}}, Rematch: 1, IdleTimeout: 1, KeepAlive: true, Auth: AuthRequired}
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
		{Name: "g", New: newGame, Rematch: -1},
		{Name: "g", New: newGame, IdleTimeout: -1},
		{Name: "g", New: newGame, Auth: "Required"},
	} {
		if bad.Check() == nil {
			t.Errorf("mode %+v passed its check", bad)
		}
	}
}

func TestButtonsStep(t *testing.T) {
	for _, c := range []struct {
		b      Buttons
		dx, dy int32
	}{
		{0, 0, 0}, {Up, 0, -10}, {Down, 0, 10}, {Left, -10, 0}, {Right, 10, 0},
		{Up | Right, 7, -7}, {Down | Left, -7, 7}, {Up | Down, 0, 0}, {Left | Right | Up, 0, -10},
		{Action, 0, 0}, {ButtonMask, 0, 0},
	} {
		if dx, dy := c.b.Step(10, 7); dx != c.dx || dy != c.dy {
			t.Errorf("%05b.Step(10, 7) = %d, %d; want %d, %d", c.b, dx, dy, c.dx, c.dy)
		}
	}
}
