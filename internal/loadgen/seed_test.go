package loadgen

import (
	"strconv"
	"testing"
)

func TestSeedClassify(t *testing.T) {
	tests := []struct {
		msg  string
		want Kind
	}{
		{`{"type":"state_update","players":[]}`, KindState},
		{`{"type": "state_update", "players": [{"id": "1"`, KindState},
		{`{"type":"init","id":"7","token":"x"}`, KindJoined},
		{`{"type": "init", "id": "7"}`, KindJoined},
		{`{"type":"error","code":"x","message":"y"}`, KindOther},
		{`{"type":"notice"}`, KindOther},
		{`{"type":"state_updatex"}`, KindOther},
		{`{"typ":"state_update"}`, KindOther},
		{`{"type":3}`, KindOther},
		{`{"type":"state_upd`, KindOther}, // cut short
		{``, KindOther},
		{`not json`, KindOther},
	}
	for _, tt := range tests {
		head := []byte(tt.msg)
		if len(head) > Seed.PeekLen() {
			head = head[:Seed.PeekLen()]
		}
		if got := Seed.Classify(head); got != tt.want {
			t.Errorf("Classify(%s) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

func TestSeedJoined(t *testing.T) {
	for _, msg := range []string{
		`{"type":"init","id":"7"}`,
		`{"type": "init", "id": "7"}`,
		`{"type":"init","id":"7","token":"abc","room":"r"}`,
		`{"type":"init","id":7}`,
	} {
		self, err := Seed.Joined([]byte(msg))
		if err != nil {
			t.Errorf("Joined(%s): %v", msg, err)
			continue
		}
		x, y, ok := self.Position([]byte(`{"type":"state_update","players":[{"id":"7","x":1,"y":2,"color":"#000000"}]}`))
		if !ok || x != 1 || y != 2 {
			t.Errorf("Joined(%s) then Position = %d, %d, %v; want 1, 2, true", msg, x, y, ok)
		}
	}
	for _, msg := range []string{`{"type":"init"}`, `{"type":"init","id":""}`, `{"type":"init","id":[1]}`, `nope`} {
		if _, err := Seed.Joined([]byte(msg)); err == nil {
			t.Errorf("Joined(%s) succeeded; want an error", msg)
		}
	}
}

func TestSeedPosition(t *testing.T) {
	const arena = `{"type":"state_update","players":[{"id":"1","x":11,"y":12,"color":"#111111"},{"id":"17","x":170,"y":171,"color":"#171717"},{"id":"7","x":70,"y":71,"color":"#070707"}]}`
	const python = `{"type": "state_update", "players": [{"id": "71", "x": 1, "y": 2, "color": "#7"}, {"id": "7", "x": 490, "y": 10, "color": "#aaaaaa"}]}`
	tests := []struct {
		name, state, id string
		x, y            int
		ok              bool
	}{
		{"arena first", arena, "1", 11, 12, true},
		{"arena prefix of another id", arena, "17", 170, 171, true},
		{"arena suffix of another id", arena, "7", 70, 71, true},
		{"python spacing", python, "7", 490, 10, true},
		{"python other", python, "71", 1, 2, true},
		{"absent", arena, "2", 0, 0, false},
		{"id as another field's value", `{"players":[{"id":"3","x":1,"y":1,"name":"9"},{"id":"9","x":5,"y":6}]}`, "9", 5, 6, true},
		{"keys in another order", `{"players":[{"y":-4,"color":"#000000","x":3,"id":"5"}]}`, "5", 3, -4, true},
		{"no coordinates", `{"players":[{"id":"5","color":"#000000"}]}`, "5", 0, 0, false},
		{"cut short", `{"players":[{"id":"5","x":3`, "5", 0, 0, false},
		{"empty", `{"type":"state_update","players":[]}`, "5", 0, 0, false},
	}
	for _, tt := range tests {
		self, err := Seed.Joined([]byte(`{"type":"init","id":"` + tt.id + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		x, y, ok := self.Position([]byte(tt.state))
		if ok != tt.ok || (ok && (x != tt.x || y != tt.y)) {
			t.Errorf("%s: Position(%q) = %d, %d, %v; want %d, %d, %v", tt.name, tt.id, x, y, ok, tt.x, tt.y, tt.ok)
		}
	}
}

func TestSeedURLAndMoves(t *testing.T) {
	tests := []struct{ base, room, want string }{
		{"ws://127.0.0.1:8765/", "", "ws://127.0.0.1:8765/"},
		{"ws://127.0.0.1:8765/", "bench-3", "ws://127.0.0.1:8765/?room=bench-3"},
		{"ws://h/ws?name=x", "bench-0", "ws://h/ws?name=x&room=bench-0"},
	}
	for _, tt := range tests {
		got, err := Seed.URL(tt.base, tt.room)
		if err != nil || got != tt.want {
			t.Errorf("URL(%q, %q) = %q, %v; want %q", tt.base, tt.room, got, err, tt.want)
		}
	}
	for _, bad := range []string{"http://h/", "://", ""} {
		if _, err := Seed.URL(bad, ""); err == nil {
			t.Errorf("URL(%q) succeeded; want an error", bad)
		}
	}
	for d, want := range map[Direction]string{
		Up: `{"type":"move","direction":"UP"}`, Down: `{"type":"move","direction":"DOWN"}`,
		Left: `{"type":"move","direction":"LEFT"}`, Right: `{"type":"move","direction":"RIGHT"}`,
	} {
		if _, got := Seed.Move(d); string(got) != want {
			t.Errorf("Move(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestProbeDirectionNeverHitsAWall(t *testing.T) {
	// From anywhere a probe can be — it spawns in [50, 450] and only moves
	// by its own choices — a move must change its position.
	const lo, hi, step = 10, 490, 10
	for x := 50; x <= 450; x += 5 {
		for y := 50; y <= 450; y += 5 {
			px, py := x, y
			for range 100 {
				d := probeDirection(px, py)
				nx, ny := px, py
				switch d {
				case Up:
					ny = max(lo, py-step)
				case Down:
					ny = min(hi, py+step)
				case Left:
					nx = max(lo, px-step)
				case Right:
					nx = min(hi, px+step)
				}
				if !d.Moved(px, py, nx, ny) {
					t.Fatalf("from (%d, %d) a probe moves %v into a wall", px, py, d)
				}
				px, py = nx, ny
			}
		}
	}
}

func BenchmarkSeedPosition(b *testing.B) {
	// The cost a probe pays per state in a room of 1000.
	state := []byte(`{"type":"state_update","players":[`)
	for i := 1; i <= 1000; i++ {
		if i > 1 {
			state = append(state, ',')
		}
		state = append(state, `{"id":"`...)
		state = strconv.AppendInt(state, int64(i), 10)
		state = append(state, `","x":250,"y":250,"color":"#abcdef"}`...)
	}
	state = append(state, "]}"...)
	self, _ := Seed.Joined([]byte(`{"type":"init","id":"999"}`))
	b.SetBytes(int64(len(state)))
	for b.Loop() {
		if _, _, ok := self.Position(state); !ok {
			b.Fatal("not found")
		}
	}
}
