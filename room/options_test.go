package room

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
)

func optionsManager(t *testing.T) *Manager {
	t.Helper()
	m, err := NewManager(ManagerConfig{
		Modes:       []game.Mode{dots.Mode, tag.Mode},
		Room:        Settings{TickRate: 20},
		CreateRate:  0.001, // one creation, then refused
		CreateBurst: 1,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestMatchOptionsCreatesTheRoomWithThem(t *testing.T) {
	m := optionsManager(t)
	// A bad option creates nothing and costs no creation.
	if _, err := m.MatchOptions("tag", "10.0.0.1", map[string]string{"cooldown": "11"}); !errors.Is(err, game.ErrBadOption) {
		t.Fatalf("cooldown 11: %v; want ErrBadOption", err)
	}
	name, err := m.MatchOptions("tag", "10.0.0.1", map[string]string{"cooldown": "7"})
	if err != nil {
		t.Fatal(err)
	}
	rooms := m.Rooms()
	if len(rooms) != 1 || rooms[0].Name != name || rooms[0].Options.Int("cooldown") != 7 {
		t.Fatalf("rooms %+v; want %s with cooldown 7", rooms, name)
	}
	again, err := m.MatchOptions("tag", "10.0.0.1", map[string]string{"cooldown": "7"})
	if err != nil || again != name {
		t.Errorf("the same options matched %q (%v); want %q", again, err, name)
	}
}

func TestJoinOptionsAreCheckedByTheRoom(t *testing.T) {
	m := optionsManager(t)
	ctx := context.Background()
	_, _, err := m.Join(ctx, "", "", JoinRequest{Client: &fakeClient{}, Options: map[string]string{"colour": "#ffffff"}})
	if !errors.Is(err, game.ErrBadOption) {
		t.Fatalf("unknown join option: %v; want ErrBadOption", err)
	}
	c := &fakeClient{}
	r, joined, err := m.Join(ctx, "", "", JoinRequest{Client: c, Options: map[string]string{"color": "#123456"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Leave(joined.Player, c, true)
	waitUntil(t, func() bool { return c.stateCount() > 0 })
	if e, ok := entity(c.last(), joined.Player); !ok || e.Fields[dots.FieldColor] != 0x123456 {
		t.Errorf("the player's entity %+v; want colour 123456", e)
	}
}

// waitUntil polls cond until it holds, failing after 5 s: the fake client
// has no event to wait on.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTheDefaultRoomKeepsTheModesDefaults(t *testing.T) {
	m := optionsManager(t)
	ctx := context.Background()
	if _, _, err := m.Join(ctx, "", "tag", JoinRequest{Client: &fakeClient{}, RoomOptions: map[string]string{"cooldown": "x"}}); !errors.Is(err, game.ErrBadOption) {
		t.Fatalf("bad room option for the default room: %v; want ErrBadOption", err)
	}
	c := &fakeClient{}
	r, joined, err := m.Join(ctx, "", "tag", JoinRequest{Client: c, RoomOptions: map[string]string{"cooldown": "9"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Leave(joined.Player, c, true)
	if r.Name() != "default" || r.Options().Has("cooldown") {
		t.Errorf("room %s got options %v; want the default room with none chosen", r.Name(), r.Options().Map())
	}
}

func TestARoomWithoutOptionsReadsTheDefaults(t *testing.T) {
	var got int64 = -1
	mode := game.Mode{
		Name:        "probe",
		RoomOptions: []game.Option{{Name: "round", Type: game.OptionInt, Min: 1, Max: 9, Default: "4"}},
		New: func(cfg game.Config) game.Game {
			got = cfg.Options.Int("round")
			return dots.New(cfg)
		},
	}
	New(Config{Name: "p", Mode: mode})
	if got != 4 {
		t.Errorf("the game read round %d; want the declared default 4", got)
	}
}
