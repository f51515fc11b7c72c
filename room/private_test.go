package room

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/internal/password"
)

func privateManager(t *testing.T) *Manager {
	t.Helper()
	m, err := NewManager(ManagerConfig{Modes: []game.Mode{tag.Mode}, Room: Settings{ResumeGrace: time.Minute, IdleTimeout: time.Minute},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// TestAPrivateRoomIsJoinedWithASeatOnly: a passworded room seats new
// players only with a seat the right password got, once each; it is never
// matched; its document keeps its privacy and the hash, never the
// password, and a room restored from it still asks for the password.
func TestAPrivateRoomIsJoinedWithASeatOnly(t *testing.T) {
	ctx := context.Background()
	hash, err := password.Hash(ctx, "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	src, dst := privateManager(t), privateManager(t)
	if _, err := src.Create(ctx, "hidden", "tag", "", nil, true, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Create(ctx, "hidden", "tag", "", nil, false, ""); !errors.Is(err, ErrRoomExists) {
		t.Errorf("a second creation of the room: %v; want ErrRoomExists", err)
	}
	if _, _, err := src.Join(ctx, "hidden", "", JoinRequest{Client: &fakeClient{}}); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("a join without a seat: %v; want ErrPasswordRequired", err)
	}
	if name, err := src.Match("tag", ""); err != nil || name == "hidden" {
		t.Errorf("Match = %q, %v; a private room is never matched", name, err)
	}
	if _, err := src.ReservePassword(ctx, "hidden", "", "hunter3", time.Minute, password.Verify); !errors.Is(err, ErrBadPassword) {
		t.Errorf("a wrong password: %v; want ErrBadPassword", err)
	}
	seat, err := src.ReservePassword(ctx, "hidden", "", "hunter2", time.Minute, password.Verify)
	if err != nil {
		t.Fatal(err)
	}
	_, j, err := src.Join(ctx, "hidden", "", JoinRequest{Client: &fakeClient{}, Seat: seat})
	if err != nil {
		t.Fatalf("a join with the seat: %v", err)
	}
	if _, _, err := src.Join(ctx, "hidden", "", JoinRequest{Client: &fakeClient{}, Seat: seat}); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("a seat used twice: %v; want ErrPasswordRequired", err)
	}
	if _, _, err := src.Join(ctx, "hidden", "", JoinRequest{Client: &fakeClient{}, Token: j.Token}); err != nil {
		t.Errorf("a resume needs no seat: %v", err)
	}
	doc, err := src.Export(ctx, "hidden")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), "hunter2") || !strings.Contains(string(doc), hash) || !strings.Contains(string(doc), `"private":true`) {
		t.Fatalf("the document does not keep privacy and hash only: %s", doc)
	}
	if _, err := dst.Import(doc); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dst.Join(ctx, "hidden", "", JoinRequest{Client: &fakeClient{}}); !errors.Is(err, ErrPasswordRequired) {
		t.Errorf("a join of the restored room without a seat: %v; want ErrPasswordRequired", err)
	}
	if st := dst.Rooms(); len(st) != 1 || !st[0].Private || !st[0].Locked {
		t.Errorf("restored room's stats %+v; want private and locked", st)
	}
	// An older release's document cannot be private: it would run open.
	old := edit(t, doc, func(d map[string]any) { d["version"] = 2 })
	if _, err := privateManager(t).Import(old); !errors.Is(err, ErrBadDocument) {
		t.Errorf("a version 2 private document: %v; want ErrBadDocument", err)
	}
}

// TestSecretOptionsAreNeverMatched: a room given a secret option is
// reachable by name only.
func TestSecretOptionsAreNeverMatched(t *testing.T) {
	mode := tag.Mode
	mode.RoomOptions = append([]game.Option{{Name: "key", Type: game.OptionString, Secret: true}}, mode.RoomOptions...)
	m, err := NewManager(ManagerConfig{Modes: []game.Mode{mode}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ctx := context.Background()
	if _, _, err := m.Join(ctx, "keyed", "tag", JoinRequest{Client: &fakeClient{}, RoomOptions: map[string]string{"key": "k"}}); err != nil {
		t.Fatal(err)
	}
	if name, err := m.Match("tag", ""); err != nil || name == "keyed" {
		t.Errorf("Match = %q, %v; want a fresh room", name, err)
	}
	if name, err := m.MatchOptions("tag", "", map[string]string{"key": "k"}); err != nil || name == "keyed" {
		t.Errorf("MatchOptions with the secret = %q, %v; want a fresh room", name, err)
	}
}

// TestNobodyLocksTheDefaultRooms: the default room cannot be created with
// a password, and an overflow room that was is passed over.
func TestNobodyLocksTheDefaultRooms(t *testing.T) {
	m, err := NewManager(ManagerConfig{Modes: []game.Mode{tag.Mode}, Room: Settings{Capacity: 1, IdleTimeout: time.Minute},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ctx := context.Background()
	// Not a real hash: nobody joins with it, and hashing is slow under -race.
	const locked = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	if _, err := m.Create(ctx, "default", "", "", nil, true, locked); !errors.Is(err, ErrRoomExists) {
		t.Errorf("creating the default room: %v; want ErrRoomExists", err)
	}
	if _, err := m.Create(ctx, "default-2", "", "", nil, true, locked); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"default", "default-3"} {
		r, _, err := m.Join(ctx, "", "", JoinRequest{Client: &fakeClient{}})
		if err != nil || r.Name() != want {
			t.Fatalf("a join of the default rooms: %v, %v; want %s", r, err, want)
		}
	}
}
