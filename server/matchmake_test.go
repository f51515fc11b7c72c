package server

import (
	"testing"

	"github.com/arena-server/arena/cluster"
)

func TestFullestRoom(t *testing.T) {
	// As the directory's Rooms gives them: by name.
	rooms := []cluster.RoomEntry{
		{Name: "full", Mode: "dots", Players: 8, Capacity: 8},
		{Name: "held", Mode: "blasters", Players: 1, Held: 3, Capacity: 4},
		{Name: "open", Mode: "world", Players: 500}, // capacity 0: no limit
		{Name: "seven-a", Mode: "dots", Players: 7, Capacity: 8},
		{Name: "seven-b", Mode: "dots", Players: 7, Capacity: 8},
		{Name: "slow", Mode: "tag", Players: 2, Capacity: 30, Options: map[string]string{"cooldown": "5"}},
		{Name: "spare", Mode: "blasters", Players: 0, Capacity: 4},
		{Name: "tag-big", Mode: "tag", Players: 20, Capacity: 30},
		{Name: "three", Mode: "dots", Players: 3, Capacity: 8},
	}
	for _, c := range []struct {
		about   string
		mode    string
		options map[string]string
		want    string // "": none
	}{
		{"the fullest with a free seat, the first by name of a tie", "dots", nil, "seven-a"},
		{"any options", "tag", nil, "tag-big"},
		{"a capacity of 0 has no limit", "world", nil, "open"},
		{"options asked for", "tag", map[string]string{"cooldown": "5"}, "slow"},
		{"options nobody has", "tag", map[string]string{"cooldown": "9"}, ""},
		{"held seats count: players and holds fill held", "blasters", nil, "spare"},
		{"a mode with no room", "pong", nil, ""},
	} {
		got, ok := fullestRoom(rooms, c.mode, c.options)
		if ok != (c.want != "") || got.Name != c.want {
			t.Errorf("%s: fullestRoom(%q, %v) = %q, %v; want %q", c.about, c.mode, c.options, got.Name, ok, c.want)
		}
	}
}

func TestLeastLoadedNode(t *testing.T) {
	for _, c := range []struct {
		about string
		nodes []cluster.NodeEntry // by name, as the directory's Nodes gives them
		want  string              // "": none
	}{
		{"the fewest players, the first by name of a tie",
			[]cluster.NodeEntry{{Name: "a", Players: 15}, {Name: "b", Players: 10}, {Name: "c", Players: 10}}, "b"},
		{"a draining node takes no room",
			[]cluster.NodeEntry{{Name: "a", Players: 15}, {Name: "b", Players: 10, Draining: true}, {Name: "c", Players: 10}}, "c"},
		{"a full node takes no room, however few its players",
			[]cluster.NodeEntry{{Name: "a", Players: 0, Full: true}, {Name: "b", Players: 50}}, "b"},
		{"no node takes rooms",
			[]cluster.NodeEntry{{Name: "a", Full: true}, {Name: "b", Draining: true}}, ""},
		{"no node", nil, ""},
	} {
		got, ok := leastLoadedNode(c.nodes)
		if ok != (c.want != "") || got.Name != c.want {
			t.Errorf("%s: leastLoadedNode = %q, %v; want %q", c.about, got.Name, ok, c.want)
		}
	}
}
