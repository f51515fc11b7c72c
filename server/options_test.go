package server_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/server"
)

// probe is a mode that shows what it was given: each player's dot stands
// at x = the room option round, coloured by its team; team blue holds one
// player and refuses a second.
var probe = game.Mode{
	Name:        "probe",
	Kinds:       tag.Kinds, // players with a colour and a score
	RoomOptions: []game.Option{{Name: "round", Type: game.OptionInt, Min: 10, Max: 600, Default: "60"}},
	JoinOptions: []game.Option{{Name: "team", Type: game.OptionEnum, Values: []string{"red", "blue"}, Default: "red"}},
	New:         func(cfg game.Config) game.Game { return &probeGame{round: int32(cfg.Options.Int("round"))} },
}

type probeGame struct {
	round   int32
	players []game.Entity
}

func (g *probeGame) Join(p game.Player) error {
	color := uint32(0xff0000)
	if p.Options.String("team") == "blue" {
		for _, e := range g.players {
			if e.Fields[tag.FieldColor] == 0x0000ff {
				return &game.OptionError{Option: "team", Problem: "is full: blue holds one player"}
			}
		}
		color = 0x0000ff
	}
	g.players = append(g.players, game.Entity{ID: uint32(p.ID), X: g.round, Y: 10, Fields: [game.MaxFields]int32{tag.FieldColor: int32(color)}})
	return nil
}

func (g *probeGame) Leave(id game.PlayerID) {
	for i, e := range g.players {
		if e.ID == uint32(id) {
			g.players = append(g.players[:i], g.players[i+1:]...)
			return
		}
	}
}

func (g *probeGame) Step([]game.Input)                              {}
func (g *probeGame) AppendEntities(dst []game.Entity) []game.Entity { return append(dst, g.players...) }
func (g *probeGame) World() game.World                              { return game.World{Width: 700, Height: 700} }

func startWithProbe(t *testing.T) *arenatest.Server {
	return arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) {
		c.Modes = []game.Mode{dots.Mode, tag.Mode, probe}
	}})
}

// self waits for the joined player's own entry in a state_update.
func self(t *testing.T, c *arenatest.Client) arenatest.SeedPlayer {
	t.Helper()
	id := c.Init().ID
	var p arenatest.SeedPlayer
	c.WaitFor(5*time.Second, "a state_update with the player", func(m *arenatest.Message) bool {
		var ok bool
		p, ok = m.Player(id)
		return m.Type == "state_update" && ok
	})
	return p
}

func TestJoinOptionColorReachesTheSnapshot(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	if p := self(t, arenatest.Dial(t, srv.WSURL+"?room=c1&join.color=%23FF8800", nil)); p.Color != "#ff8800" {
		t.Errorf("the dot is %s; want the chosen #ff8800", p.Color)
	}
}

func TestJoinOptionOverTheNativeProtocol(t *testing.T) {
	t.Parallel()
	srv := startWithProbe(t)
	c := dialNative(t, srv.WSURL+"?room=n1&mode=probe&room.round=77&join.team=blue")
	c.waitState("the player's dot", func() bool { _, ok := c.find(c.welcome.Player); return ok })
	if e := c.me(); e.Fields[tag.FieldColor] != 0x0000ff || e.X != 77 {
		t.Errorf("the dot is %06x at x %d; want blue (join option) at 77 (room option)", e.Fields[tag.FieldColor], e.X)
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	t.Parallel()
	srv := startWithProbe(t)
	cases := []struct{ query, want string }{
		{"?room=b1&join.color=red", `option "color" must be a colour #rrggbb`},
		{"?room=b2&join.size=3", `option "size" is unknown: this mode takes color`},
		{"?room=b3&join.color=%23000000&join.color=%23111111", `option "color" is given more than once`},
		{"?room=b4&mode=tag&room.cooldown=99", `option "cooldown" must be an integer from 0 to 10`},
		{"?mode=tag&room.cooldown=x", `option "cooldown" must be an integer from 0 to 10`},
		{"?room=b5&mode=probe&join.team=green", `option "team" must be one of red, blue`},
	}
	refusals := 0
	for _, proto := range []string{"", protocol.SubprotocolBinary, protocol.SubprotocolJSON} {
		for _, tc := range cases {
			conn := dialProtocol(t, srv.WSURL+tc.query, proto)
			code, msg := readError(t, conn)
			if code != protocol.CodeBadOption || !strings.Contains(msg, tc.want) {
				t.Errorf("%s %s: error %s %q; want bad_option saying %q", cmp.Or(proto, "seed"), tc.query, code, msg, tc.want)
			}
			if ce := closeWithin(t, conn, time.Second); ce == nil || ce.Code != websocket.ClosePolicyViolation {
				t.Errorf("%s %s: closed with %v; want 1008", cmp.Or(proto, "seed"), tc.query, ce)
			}
			refusals++
		}
	}
	refusalsCounted(t, srv, "bad_option", float64(refusals))
	// None of the refused joins created a room.
	for _, name := range []string{"b1", "b2", "b3", "b4", "b5"} {
		if info, ok := roomByName(t, srv, name); ok && info.Players > 0 {
			t.Errorf("room %s holds %d players", name, info.Players)
		}
	}
}

// closeWithin reads until the close frame and returns it, or nil if none
// came within d.
func closeWithin(t *testing.T, conn *websocket.Conn, d time.Duration) *websocket.CloseError {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(d))
	for {
		_, _, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce
		}
		if err != nil {
			t.Logf("no close frame: %v", err)
			return nil
		}
	}
}

func TestAGameRefusesAJoinOverAnOption(t *testing.T) {
	t.Parallel()
	srv := startWithProbe(t)
	if p := self(t, arenatest.Dial(t, srv.WSURL+"?room=g1&mode=probe&join.team=blue", nil)); p.Color != "#0000ff" {
		t.Fatalf("the blue player's dot is %s", p.Color)
	}
	conn := dialProtocol(t, srv.WSURL+"?room=g1&join.team=blue", "")
	if code, msg := readError(t, conn); code != protocol.CodeBadOption || !strings.Contains(msg, `"team" is full`) {
		t.Errorf("a second blue player: %s %q; want bad_option saying the team is full", code, msg)
	}
	if ce := closeWithin(t, conn, time.Second); ce == nil || ce.Code != websocket.ClosePolicyViolation {
		t.Errorf("closed with %v; want 1008", ce)
	}
}

func TestRoomOptionFromTheURL(t *testing.T) {
	t.Parallel()
	srv := startWithProbe(t)
	if p := self(t, arenatest.Dial(t, srv.WSURL+"?room=u1&mode=probe&room.round=120", nil)); p.X != 120 {
		t.Errorf("the game got round %d; want 120", p.X)
	}
	// The room exists: a join naming other options joins it as it is.
	if p := self(t, arenatest.Dial(t, srv.WSURL+"?room=u1&room.round=300", nil)); p.X != 120 {
		t.Errorf("a later join changed the room's round to %d", p.X)
	}
	// But an option it could never have taken is refused all the same.
	conn := dialProtocol(t, srv.WSURL+"?room=u1&room.round=5", "")
	if code, msg := readError(t, conn); code != protocol.CodeBadOption || !strings.Contains(msg, `"round" must be an integer from 10 to 600`) {
		t.Errorf("a bad room option for a live room: %s %q; want bad_option", code, msg)
	}
	if info, _ := roomByName(t, srv, "u1"); info.Options["round"] != "120" {
		t.Errorf("/api/rooms lists options %v; want round 120", info.Options)
	}
	// A quick join with room options creates a room that has them.
	if p := self(t, arenatest.Dial(t, srv.WSURL+"?mode=probe&room.round=33", nil)); p.X != 33 {
		t.Errorf("quick join: the game got round %d; want 33", p.X)
	}
}

func matchmake(t *testing.T, srv *arenatest.Server, body string) (status int, answer map[string]string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/api/matchmake", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("matchmake %s: %v", body, err)
	}
	answer = map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			answer[k] = s
		}
	}
	return resp.StatusCode, answer
}

func TestRoomOptionFromMatchmake(t *testing.T) {
	t.Parallel()
	srv := startWithProbe(t)
	status, match := matchmake(t, srv, `{"mode":"probe","options":{"round":250}}`)
	if status != http.StatusOK {
		t.Fatalf("matchmake: %d %v", status, match)
	}
	if p := self(t, arenatest.Dial(t, srv.WSURL+"?room="+url.QueryEscape(match["room"]), nil)); p.X != 250 {
		t.Errorf("the matchmade room's game got round %d; want 250", p.X)
	}
	// The same options match the same room; others get another.
	if _, again := matchmake(t, srv, `{"mode":"probe","options":{"round":"250"}}`); again["room"] != match["room"] {
		t.Errorf("same options matched %q; want %q", again["room"], match["room"])
	}
	if _, other := matchmake(t, srv, `{"mode":"probe","options":{"round":"90"}}`); other["room"] == match["room"] || other["room"] == "" {
		t.Errorf("other options matched %q", other["room"])
	}

	for _, body := range []string{
		`{"mode":"probe","options":{"round":5}}`,
		`{"mode":"probe","options":{"speed":"3"}}`,
		`{"mode":"tag","options":{"cooldown":"soon"}}`,
	} {
		status, answer := matchmake(t, srv, body)
		if status != http.StatusBadRequest || answer["code"] != protocol.CodeBadOption || !strings.Contains(answer["message"], "option") {
			t.Errorf("matchmake %s: %d %v; want 400 bad_option", body, status, answer)
		}
	}
	refusalsCounted(t, srv, "bad_option", 3)
}

func TestModesListTheirOptions(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	var list struct{ Modes []server.ModeInfo }
	getJSON(t, srv.URL+"/api/modes", &list)
	got := map[string]server.ModeInfo{}
	for _, m := range list.Modes {
		got[m.Name] = m
	}
	if j := got["dots"].JoinOptions; len(j) != 1 || j[0].Name != "color" || j[0].Type != game.OptionColor {
		t.Errorf("dots join options %+v; want color", j)
	}
	if r := got["tag"].RoomOptions; len(r) != 2 || r[0].Name != "cooldown" || r[0].Max != 10 || r[0].Default != "2" || r[1].Name != "goal" || r[1].Default != "0" {
		t.Errorf("tag room options %+v; want cooldown 0..10 and goal", r)
	}
}

// TestMatchmakeRefusesAmbiguousKeys: a body that names a key twice, or
// twice in different cases, at any depth, is refused with the key named,
// not read as whichever came last.
func TestMatchmakeRefusesAmbiguousKeys(t *testing.T) {
	t.Parallel()
	srv := startWithProbe(t)
	for _, tc := range []struct{ body, want string }{
		{`{"mode":"dots","mode":"tag"}`, `duplicate key "mode"`},
		{`{"mode":"dots","Mode":"tag"}`, `keys "mode" and "Mode" differ only in case`},
		{`{"mode":"probe","options":{"round":250,"round":90}}`, `duplicate key "options.round"`},
		{`{"options":{},"mode":"probe","options":{"round":90}}`, `duplicate key "options"`},
	} {
		status, answer := matchmake(t, srv, tc.body)
		if status != http.StatusBadRequest || answer["code"] != protocol.CodeBadRequest || !strings.Contains(answer["message"], tc.want) {
			t.Errorf("matchmake %s: %d %v; want 400 bad_request saying %s", tc.body, status, answer, tc.want)
		}
	}
	// The same keys once each are fine.
	if status, answer := matchmake(t, srv, `{"mode":"probe","options":{"round":90}}`); status != http.StatusOK || answer["mode"] != "probe" {
		t.Errorf("matchmake: %d %v; want a probe room", status, answer)
	}
}
