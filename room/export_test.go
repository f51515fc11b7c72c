package room

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
)

// runRoom runs r inside the current synctest bubble until the test ends.
func runRoom(t *testing.T, r *Room) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.Done()
	})
}

func quietConfig(mode game.Mode) Config {
	return Config{
		Name:     "test",
		Mode:     mode,
		Settings: Settings{ResumeGrace: time.Minute},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// seat is one player as the round trip drives it, in both rooms.
type seat struct {
	id     game.PlayerID
	token  string
	a, b   *fakeClient
	absent bool // dropped in room a before the export, never back in b
}

func TestExportRoundTripWhilePlaying(t *testing.T) {
	for _, mode := range []game.Mode{dots.Mode, tag.Mode} {
		t.Run(mode.Name, func(t *testing.T) { roundTrip(t, mode) })
	}
}

// roundTrip plays a room, exports it between two ticks, restores the
// document into a second room whose players resume there, then feeds both
// rooms the same inputs and joins: they must show the same entities at
// every tick. Room a ticks at phase 0 of every 50 ms, room b at phase 20;
// the test acts at phase 35, after both.
func roundTrip(t *testing.T, mode game.Mode) {
	synctest.Test(t, func(t *testing.T) {
		a, _ := startRoom(t, Config{Mode: mode, Settings: Settings{TickRate: 20, ResumeGrace: time.Minute}})
		script := mrand.New(mrand.NewPCG(7, 8))
		var seats []*seat
		for range 4 {
			s := &seat{a: &fakeClient{}}
			j := join(t, a, s.a, "")
			s.id, s.token = j.Player, j.Token
			seats = append(seats, s)
		}
		inputs := func(rooms ...*Room) {
			for _, s := range seats {
				in := ClientInput{Buttons: game.Buttons(script.IntN(32)) & game.ButtonMask}
				if !s.absent {
					a.Input(s.id, s.a, in)
				}
				if s.b != nil && len(rooms) > 1 {
					rooms[1].Input(s.id, s.b, in)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
		for tick := 1; tick <= 60; tick++ {
			if tick == 30 {
				a.Leave(seats[1].id, seats[1].a, false) // away, kept
				seats[1].absent = true
			}
			inputs(a)
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
		}
		doc, err := a.Export(context.Background())
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		var d Document
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatal(err)
		}
		if d.Tick != 60 || len(d.Members) != 4 || !d.Members[1].Away || d.Members[0].Away {
			t.Fatalf("exported tick %d, members %+v; want tick 60, 4 members, the second away", d.Tick, d.Members)
		}
		b, err := Restore(quietConfig(mode), doc)
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		runRoom(t, b)
		for _, s := range seats {
			if s.absent {
				continue
			}
			s.b = &fakeClient{}
			j := join(t, b, s.b, s.token)
			if !j.Resumed || j.Player != s.id {
				t.Fatalf("resume of player %d in the copy: %+v", s.id, j)
			}
		}
		time.Sleep(15 * time.Millisecond)
		watchA, watchB := seats[0].a, seats[0].b
		for tick := 61; tick <= 160; tick++ {
			if tick == 100 {
				// A newcomer gets the same ID, and spawns at the same
				// random place, in both rooms.
				s := &seat{a: &fakeClient{}, b: &fakeClient{}}
				ja, jb := join(t, a, s.a, ""), join(t, b, s.b, "")
				if ja.Player != jb.Player {
					t.Fatalf("newcomer is player %d in the original, %d in the copy", ja.Player, jb.Player)
				}
				s.id = ja.Player
				seats = append(seats, s)
			}
			inputs(a, b)
			time.Sleep(50 * time.Millisecond)
			synctest.Wait()
			sa, sb := watchA.last(), watchB.last()
			if sa.Snap.Tick != uint64(tick) || sb.Snap.Tick != uint64(tick) {
				t.Fatalf("ticks %d and %d; want %d", sa.Snap.Tick, sb.Snap.Tick, tick)
			}
			if !slices.Equal(sa.Snap.Entities, sb.Snap.Entities) {
				t.Fatalf("tick %d: the copy differs:\noriginal %+v\ncopy     %+v", tick, sa.Snap.Entities, sb.Snap.Entities)
			}
		}
	})
}

// exported returns the document of a room of mode with two players, one of
// them away, after a few ticks.
func exported(t *testing.T, mode game.Mode) []byte {
	t.Helper()
	doc, _ := exportedTokens(t, mode)
	return doc
}

// exportedTokens is exported, with the tokens of its two players, which
// the document does not hold.
func exportedTokens(t *testing.T, mode game.Mode) (doc []byte, tokens []string) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Mode: mode, Settings: Settings{ResumeGrace: time.Minute}})
		c1, c2 := &fakeClient{}, &fakeClient{}
		j1 := join(t, r, c1, "")
		j2 := join(t, r, c2, "")
		tokens = []string{j1.Token, j2.Token}
		r.Input(j2.Player, c2, ClientInput{Buttons: game.Right})
		time.Sleep(200 * time.Millisecond)
		r.Leave(j2.Player, c2, false)
		synctest.Wait()
		var err error
		if doc, err = r.Export(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	return doc, tokens
}

// edit returns doc with f applied to its decoded form.
func edit(t testing.TB, doc []byte, f func(d map[string]any)) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	f(d)
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRestoreRefusesBadDocuments(t *testing.T) {
	good := exported(t, tag.Mode)
	members := func(d map[string]any) []any { return d["members"].([]any) }
	cases := []struct {
		name, want string
		doc        []byte
		mode       game.Mode
	}{
		{"not JSON", "invalid character", []byte("{nope"), tag.Mode},
		{"empty", "unexpected end", nil, tag.Mode},
		{"version", "version 4", edit(t, good, func(d map[string]any) { d["version"] = FormatVersion + 1 }), tag.Mode},
		{"wrong mode", "room runs another game mode", good, dots.Mode},
		{"room name", "room names are", edit(t, good, func(d map[string]any) { d["room"] = "a b" }), tag.Mode},
		{"tick rate", "tick rate 0", edit(t, good, func(d map[string]any) { d["tick_rate"] = 0 }), tag.Mode},
		{"random source", "random source", edit(t, good, func(d map[string]any) { d["rand"] = "AAAA" }), tag.Mode},
		{"game state", "game state: tag: import", edit(t, good, func(d map[string]any) { d["game"] = "e25vcGU=" /* {nope */ }), tag.Mode},
		{"repeated member", "out of order", edit(t, good, func(d map[string]any) {
			d["members"] = append(members(d), members(d)[0])
		}), tag.Mode},
		{"shared token", "repeated token hash", edit(t, good, func(d map[string]any) {
			members(d)[1].(map[string]any)["token_hash"] = members(d)[0].(map[string]any)["token_hash"]
		}), tag.Mode},
		{"malformed hash", "malformed or repeated token hash", edit(t, good, func(d map[string]any) {
			members(d)[1].(map[string]any)["token_hash"] = "short"
		}), tag.Mode},
		{"plaintext token in version 2", "token or hash out of place", edit(t, good, func(d map[string]any) {
			members(d)[1].(map[string]any)["token"] = "plain"
		}), tag.Mode},
		{"version 1 with a hash", "token or hash out of place", edit(t, good, func(d map[string]any) {
			d["version"] = 1
		}), tag.Mode},
		{"player without member", "who is no member", edit(t, good, func(d map[string]any) {
			d["members"] = members(d)[:1]
		}), tag.Mode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := quietConfig(c.mode)
			cfg.Name = ""
			announced := 0
			cfg.Host = &funcHost{token: func(string, bool) { announced++ }}
			r, err := Restore(cfg, c.doc)
			if err == nil || !errors.Is(err, ErrBadDocument) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("restore: room %v, error %v; want an ErrBadDocument saying %q", r != nil, err, c.want)
			}
			if r != nil || announced != 0 {
				t.Errorf("a refused document left room %v and %d tokens announced", r, announced)
			}
		})
	}
	if _, err := Restore(quietConfig(tag.Mode), good); err != nil {
		t.Errorf("the unedited document: %v", err)
	}
}

// opaque hides every method of a game but game.Game's.
type opaque struct{ game.Game }

func TestExportNeedsAPersistentGame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mode := game.Mode{Name: "opaque", New: func(c game.Config) game.Game { return opaque{dots.New(c)} }}
		r, _ := startRoom(t, Config{Mode: mode})
		join(t, r, &fakeClient{}, "")
		doc, err := r.Export(context.Background())
		if !errors.Is(err, ErrNotPersistent) || doc != nil {
			t.Errorf("export of a game that is not Persistent: %q, %v; want ErrNotPersistent", doc, err)
		}
	})
}

// TestRestoredMembersExpire: a restored member who never resumes is
// removed once the grace ends, its token announced void, and its ID is
// never handed out again.
func TestRestoredMembersExpire(t *testing.T) {
	doc, tokens := exportedTokens(t, dots.Mode)
	synctest.Test(t, func(t *testing.T) {
		cfg := quietConfig(dots.Mode)
		cfg.ResumeGrace = time.Second
		voided := make(chan string, 16)
		host := &funcHost{token: func(hash string, valid bool) {
			if !valid {
				voided <- hash
			}
		}}
		cfg.Host = host
		r, err := Restore(cfg, doc)
		if err != nil {
			t.Fatal(err)
		}
		host.room = r // its own counter, which Restore moved past the members
		var d Document
		_ = json.Unmarshal(doc, &d)
		runRoom(t, r)
		c := &fakeClient{}
		j := join(t, r, c, tokens[0])
		if !j.Resumed || j.Player != d.Members[0].ID {
			t.Fatalf("resume: %+v; want player %d", j, d.Members[0].ID)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if e, ok := entity(c.last(), d.Members[1].ID); !ok || !e.Away {
			t.Fatalf("the member who has not resumed: %+v, %v; want it shown away", e, ok)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if _, ok := entity(c.last(), d.Members[1].ID); ok {
			t.Error("the member who never resumed is still there after the grace")
		}
		if got := len(voided); got != 2 { // the resumed one's old token, the expired one's
			t.Errorf("%d tokens voided; want 2", got)
		}
		n := join(t, r, &fakeClient{}, "")
		if n.Player <= d.Members[1].ID {
			t.Errorf("a newcomer got player %d; want one past the restored %d", n.Player, d.Members[1].ID)
		}
	})
}

func TestManagerMovesARoom(t *testing.T) {
	newManager := func() *Manager {
		m, err := NewManager(ManagerConfig{Modes: []game.Mode{dots.Mode, tag.Mode}, Room: Settings{ResumeGrace: time.Minute},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	}
	src, dst := newManager(), newManager()
	ctx := context.Background()
	_, j, err := src.Join(ctx, "moving", "tag", JoinRequest{Client: &fakeClient{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Export(ctx, "moving"); !errors.Is(err, ErrNoRoom) {
		t.Errorf("export of a room that is not there: %v; want ErrNoRoom", err)
	}
	doc, err := src.Export(ctx, "moving")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Import(doc); err != nil {
		t.Fatalf("import: %v", err)
	}
	if _, err := dst.Import(doc); !errors.Is(err, ErrRoomExists) {
		t.Errorf("second import: %v; want ErrRoomExists", err)
	}
	for _, bad := range [][]byte{[]byte("{"), edit(t, doc, func(d map[string]any) { d["mode"] = "chess" }), edit(t, doc, func(d map[string]any) { d["room"] = "x"; d["version"] = 0 })} {
		if r, err := dst.Import(bad); !errors.Is(err, ErrBadDocument) || r != nil {
			t.Errorf("import of %.60s: %v, %v; want ErrBadDocument", bad, r, err)
		}
	}
	if rooms := dst.Rooms(); len(rooms) != 1 {
		t.Errorf("rooms after refused imports: %+v; want only moving", rooms)
	}
	// By token alone, as a resume that names no room does.
	r, back, err := dst.Join(ctx, "", "", JoinRequest{Client: &fakeClient{}, Token: j.Token})
	if err != nil || !back.Resumed || back.Player != j.Player || r.Name() != "moving" {
		t.Fatalf("resume in the new manager: %+v in %v, %v; want player %d resumed in moving", back, r, err, j.Player)
	}
	_, n, err := dst.Join(ctx, "other", "", JoinRequest{Client: &fakeClient{}})
	if err != nil || n.Player <= j.Player {
		t.Errorf("a newcomer elsewhere got player %d (%v); want one past the imported %d", n.Player, err, j.Player)
	}
}

// FuzzRestore: whatever the document, Restore refuses it with an
// ErrBadDocument or gives a room whose own export restores again.
func FuzzRestore(f *testing.F) {
	for _, mode := range []game.Mode{dots.Mode, tag.Mode} {
		f.Add(mode.Name, seedDoc(f, mode))
	}
	f.Add("dots", []byte(`{"version":1,"room":"r","mode":"dots","tick_rate":20,"rand":"cGNnOgAAAAAAAAABAAAAAAAAAAI=","game":"eyJwbGF5ZXJzIjpbXX0=","members":[]}`))
	f.Add("tag", []byte(`{"version":1,"room":"r","mode":"tag","tick_rate":20,"tick":5,"rand":"cGNnOgAAAAAAAAABAAAAAAAAAAI=","game":"eyJwbGF5ZXJzIjpbeyJpZCI6MywibmFtZSI6InAiLCJ4IjoxMCwieSI6MTAsImNvbG9yIjoxLCJzY29yZSI6MiwiaXQiOnRydWV9XSwiY29vbGRvd24iOjAsInRpY2tzIjowfQ==","members":[{"id":3,"name":"p","token":"t"}]}`))
	f.Add("tag", []byte(`{"version":1,"members":[{"id":0}]}`))
	f.Add("dots", []byte(`[]`))
	f.Fuzz(func(t *testing.T, modeName string, doc []byte) {
		mode := dots.Mode
		if modeName == "tag" {
			mode = tag.Mode
		}
		cfg := quietConfig(mode)
		cfg.Name = ""
		r, err := Restore(cfg, doc)
		if err != nil {
			if !errors.Is(err, ErrBadDocument) || r != nil {
				t.Fatalf("refused with room %v, error %v; want nil and an ErrBadDocument", r, err)
			}
			return
		}
		again := r.export()
		if again.err != nil {
			t.Fatalf("a restored room does not export: %v", again.err)
		}
		if _, err := Restore(cfg, again.doc); err != nil {
			t.Fatalf("the export %s of a restored room is refused: %v", again.doc, err)
		}
	})
}

// seedDoc drives a room of mode by hand, without Run, and exports it.
func seedDoc(f *testing.F, mode game.Mode) []byte {
	cfg := quietConfig(mode)
	cfg.Seed = 1
	r := New(cfg)
	for range 3 {
		if _, err := r.join(JoinRequest{Client: &fakeClient{}}); err != nil {
			f.Fatal(err)
		}
	}
	for range 10 {
		_ = r.step()
	}
	res := r.export()
	if res.err != nil {
		f.Fatal(res.err)
	}
	return res.doc
}

// TestRestoredSeatsAreCounted: a restored member's address holds its seat
// in the shared count from the first tick, and frees it when the member
// goes; a seat the shared count refuses is never freed.
func TestRestoredSeatsAreCounted(t *testing.T) {
	doc := edit(t, exported(t, dots.Mode), func(m map[string]any) {
		ms := m["members"].([]any)
		ms[0].(map[string]any)["addr"] = "192.0.2.1"
		ms[1].(map[string]any)["addr"] = "192.0.2.2"
	})
	synctest.Test(t, func(t *testing.T) {
		cfg := quietConfig(dots.Mode)
		cfg.ResumeGrace = time.Second
		seats := map[string]int{}
		var calls []string
		cfg.Host = &funcHost{seat: func(addr string, taken bool) bool {
			calls = append(calls, fmt.Sprint(addr, taken))
			if taken && addr == "192.0.2.2" {
				return false // that address is at its limit elsewhere
			}
			if taken {
				seats[addr]++
			} else {
				seats[addr]--
			}
			return true
		}}
		r, err := Restore(cfg, doc)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 0 {
			t.Fatalf("Restore counted seats before Run: %v", calls)
		}
		runRoom(t, r)
		time.Sleep(2 * time.Second) // both expire
		synctest.Wait()
		want := []string{"192.0.2.1true", "192.0.2.2true", "192.0.2.1false"}
		if !slices.Equal(calls, want) || seats["192.0.2.1"] != 0 {
			t.Errorf("seat calls %v, seats %v; want %v and none held", calls, seats, want)
		}
	})
}

func TestExportKeepsTheRoomOptions(t *testing.T) {
	opts, err := game.ParseOptions(tag.Mode.RoomOptions, map[string]string{"cooldown": "5"})
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{Name: "t", Mode: tag.Mode, Options: opts, Seed: 3})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = r.Run(ctx) }()
	doc, err := r.Export(ctx)
	cancel()
	<-r.Done()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Restore(Config{Mode: tag.Mode}, doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.cfg.Options.Int("cooldown"); got != 5 {
		t.Errorf("restored room has cooldown %d; want 5", got)
	}
	bad := bytes.Replace(doc, []byte(`"cooldown":"5"`), []byte(`"cooldown":"99"`), 1)
	if _, err := Restore(Config{Mode: tag.Mode}, bad); !errors.Is(err, ErrBadDocument) {
		t.Errorf("a document with a bad room option: %v; want ErrBadDocument", err)
	}
}

// TestMoveEndsTheRoomWhereItWent: a move that succeeds ends the room with
// its answer, which every connected client is closed with, and hands over
// a document of every member; one that fails leaves the room running
// here, its players still in it.
func TestMoveEndsTheRoomWhereItWent(t *testing.T) {
	m, err := NewManager(ManagerConfig{Modes: []game.Mode{tag.Mode}, Room: Settings{ResumeGrace: time.Minute},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ctx := context.Background()
	a, b := &fakeClient{}, &fakeClient{}
	r, ja, err := m.Join(ctx, "moving", "", JoinRequest{Client: a})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Join(ctx, "moving", "", JoinRequest{Client: b}); err != nil {
		t.Fatal(err)
	}

	refused := errors.New("no node takes it")
	if err := m.Move(ctx, "moving", func([]byte) (*ElsewhereError, error) { return nil, refused }); !errors.Is(err, refused) {
		t.Fatalf("a refused move: %v; want its error", err)
	}
	if st := r.Stats(); st.Players != 2 || a.closeReason() != nil {
		t.Fatalf("after a refused move: %d players, a closed with %v; want the room as it was", st.Players, a.closeReason())
	}
	ticks := r.Stats().Ticks
	waitUntil(t, func() bool { return r.Stats().Ticks > ticks })

	there := &ElsewhereError{Room: "moving", Node: "b", URL: "http://b/"}
	var doc Document
	err = m.Move(ctx, "moving", func(d []byte) (*ElsewhereError, error) { return there, json.Unmarshal(d, &doc) })
	if err != nil {
		t.Fatal(err)
	}
	<-r.Done()
	if len(doc.Members) != 2 || doc.Members[0].ID != ja.Player || doc.Members[0].TokenHash != HashToken(ja.Token) {
		t.Errorf("the document's members: %+v; want both players, %d first", doc.Members, ja.Player)
	}
	for _, c := range []*fakeClient{a, b} {
		if got := c.closeReason(); got != there {
			t.Errorf("a client was closed with %v; want where the room went", got)
		}
	}
	waitUntil(t, func() bool { return len(m.Rooms()) == 0 })
	if err := m.Move(ctx, "moving", func([]byte) (*ElsewhereError, error) { return there, nil }); !errors.Is(err, ErrNoRoom) {
		t.Errorf("moving a room that left: %v; want ErrNoRoom", err)
	}
}

// TestAReservedSeatWaitsForItsPlayer: a held seat counts against the
// room's capacity until its player brings its token, or it lapses.
func TestAReservedSeatWaitsForItsPlayer(t *testing.T) {
	m, err := NewManager(ManagerConfig{Modes: []game.Mode{tag.Mode}, Room: Settings{Capacity: 2},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ctx := context.Background()
	if _, _, err := m.Join(ctx, "pair", "", JoinRequest{Client: &fakeClient{}}); err != nil {
		t.Fatal(err)
	}
	seat, err := m.Reserve(ctx, "pair", "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reserve(ctx, "pair", "", time.Minute); !errors.Is(err, ErrRoomFull) {
		t.Errorf("a second hold in a room of two: %v; want ErrRoomFull", err)
	}
	if _, _, err := m.Join(ctx, "pair", "", JoinRequest{Client: &fakeClient{}}); !errors.Is(err, ErrRoomFull) {
		t.Errorf("a join without the held seat's token: %v; want ErrRoomFull", err)
	}
	if _, _, err := m.Join(ctx, "pair", "", JoinRequest{Client: &fakeClient{}, Seat: seat}); err != nil {
		t.Errorf("the player the seat was held for: %v", err)
	}
	if _, _, err := m.Join(ctx, "pair", "", JoinRequest{Client: &fakeClient{}, Seat: seat}); !errors.Is(err, ErrRoomFull) {
		t.Errorf("a held seat taken twice: %v; want ErrRoomFull", err)
	}
	// A hold that lapsed frees its seat.
	if _, err := m.Reserve(ctx, "solo", "", time.Minute); !errors.Is(err, ErrNoRoom) {
		t.Errorf("a hold in a room that is not live: %v; want ErrNoRoom", err)
	}
	if _, _, err := m.Join(ctx, "lapse", "", JoinRequest{Client: &fakeClient{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reserve(ctx, "lapse", "", -time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Join(ctx, "lapse", "", JoinRequest{Client: &fakeClient{}}); err != nil {
		t.Errorf("a join after the hold lapsed: %v", err)
	}
}

// TestAnExportHoldsNoToken: a document (a checkpoint, a move) holds no
// member's token in any form a client could present: not the token, and
// not its stored hash, which resumes nobody.
func TestAnExportHoldsNoToken(t *testing.T) {
	doc, tokens := exportedTokens(t, tag.Mode)
	for _, tok := range tokens {
		if bytes.Contains(doc, []byte(tok)) {
			t.Errorf("the document holds the token %q:\n%s", tok, doc)
		}
	}
	var d Document
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Members) != 2 {
		t.Fatalf("members %+v; want 2", d.Members)
	}
	synctest.Test(t, func(t *testing.T) {
		r, err := Restore(quietConfig(tag.Mode), doc)
		if err != nil {
			t.Fatal(err)
		}
		runRoom(t, r)
		for i, m := range d.Members { // in the order of their IDs, as they joined
			if m.Token != "" || m.TokenHash != HashToken(tokens[i]) {
				t.Errorf("member %+v; want only the hash of its token", m)
			}
			if j := join(t, r, &fakeClient{}, m.TokenHash); j.Resumed || j.Player == m.ID {
				t.Errorf("the stored hash of player %d, presented as a token, resumed it: %+v", m.ID, j)
			}
		}
		if j := join(t, r, &fakeClient{}, tokens[0]); !j.Resumed || j.Player != d.Members[0].ID {
			t.Errorf("the token itself: %+v; want player %d resumed", j, d.Members[0].ID)
		}
	})
}

// TestRestoreHashesAVersion1Document: a document an older release wrote,
// with plaintext tokens, restores, and its tokens resume; exported again,
// it holds only their hashes.
func TestRestoreHashesAVersion1Document(t *testing.T) {
	doc, tokens := exportedTokens(t, tag.Mode)
	v1 := edit(t, doc, func(d map[string]any) {
		d["version"] = 1
		for i, m := range d["members"].([]any) {
			mm := m.(map[string]any)
			delete(mm, "token_hash")
			mm["token"] = tokens[i]
		}
	})
	synctest.Test(t, func(t *testing.T) {
		r, err := Restore(quietConfig(tag.Mode), v1)
		if err != nil {
			t.Fatal(err)
		}
		runRoom(t, r)
		again, err := r.Export(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			if bytes.Contains(again, []byte(tok)) {
				t.Errorf("the export of a restored version 1 document holds the token %q", tok)
			}
		}
		if j := join(t, r, &fakeClient{}, tokens[1]); !j.Resumed {
			t.Errorf("a version 1 document's token: %+v; want a resume", j)
		}
	})
}

// TestRestoreFollowsRecordedResumes: a member whose token was spent after
// the document was written (a resume recorded its successor) resumes with
// the successor, and the spent token resumes nobody.
func TestRestoreFollowsRecordedResumes(t *testing.T) {
	doc, tokens := exportedTokens(t, tag.Mode)
	const next = "the-next-token"
	synctest.Test(t, func(t *testing.T) {
		r, err := restoreForward(quietConfig(tag.Mode), doc, map[string]string{HashToken(tokens[0]): HashToken(next)})
		if err != nil {
			t.Fatal(err)
		}
		runRoom(t, r)
		if j := join(t, r, &fakeClient{}, tokens[0]); j.Resumed {
			t.Errorf("the spent token: %+v; want no resume", j)
		}
		if j := join(t, r, &fakeClient{}, next); !j.Resumed {
			t.Errorf("the token it was spent for: %+v; want a resume", j)
		}
	})
}

// TestMatchmakerReserveGroup: the matchmaker holds a room's seats all at
// once, or none, past the share single holds may take.
func TestMatchmakerReserveGroup(t *testing.T) {
	m, err := NewManager(ManagerConfig{Modes: []game.Mode{tag.Mode}, Room: Settings{Capacity: 4},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	ctx := context.Background()
	r, err := m.Create(ctx, "", "", "", nil, true, "")
	if err != nil {
		t.Fatal(err)
	}
	name := r.Stats().Name
	seats, err := m.ReserveGroup(ctx, name, 3, time.Minute)
	if err != nil || len(seats) != 3 {
		t.Fatalf("3 seats of 4: %v, %v", seats, err)
	}
	if _, err := m.ReserveGroup(ctx, name, 2, time.Minute); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("2 more seats of the 1 left: %v; want ErrRoomFull", err)
	}
	for _, s := range seats {
		if _, _, err := m.Join(ctx, name, "", JoinRequest{Client: &fakeClient{}, Seat: s}); err != nil {
			t.Fatalf("a held seat: %v", err)
		}
	}
	if more, err := m.ReserveGroup(ctx, name, 1, time.Minute); err != nil || len(more) != 1 {
		t.Fatalf("the last seat: %v, %v", more, err)
	}
}
