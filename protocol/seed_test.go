package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

func TestParseSeed(t *testing.T) {
	tests := []struct {
		in   string
		want game.Buttons
		code string
	}{
		{`{"type":"move","direction":"UP"}`, game.Up, ""},
		{`{"type":"move","direction":"DOWN"}`, game.Down, ""},
		{`{"type":"move","direction":"LEFT"}`, game.Left, ""},
		{`{"type":"move","direction":"RIGHT"}`, game.Right, ""},
		{` {"direction":"RIGHT","type":"move","extra":[1,2]} `, game.Right, ""},
		{`{"type":"leave"}`, 0, ""},
		{`not json`, 0, CodeInvalidJSON},
		{`{"type":"move"`, 0, CodeInvalidJSON},
		{``, 0, CodeInvalidJSON},
		{`[1,2]`, 0, CodeNotObject},
		{`"move"`, 0, CodeNotObject},
		{`null`, 0, CodeNotObject},
		{`42`, 0, CodeNotObject},
		{`{}`, 0, CodeMissingType},
		{`{"type":3}`, 0, CodeMissingType},
		{`{"type":null,"direction":"UP"}`, 0, CodeMissingType},
		{`{"type":"jump"}`, 0, CodeUnknownType},
		{`{"type":"MOVE","direction":"UP"}`, 0, CodeUnknownType},
		{`{"type":"move"}`, 0, CodeMissingDirection},
		{`{"type":"move","direction":1}`, 0, CodeMissingDirection},
		{`{"type":"move","direction":"up"}`, 0, CodeUnknownDirection},
		{`{"type":"move","direction":"NORTH"}`, 0, CodeUnknownDirection},
		{`{"type":"move","direction":""}`, 0, CodeUnknownDirection},
		// Ambiguous keys: parsers disagree on which one counts.
		{`{"type":"move","direction":"UP","type":"leave"}`, 0, CodeBadRequest},
		{`{"type":"move","direction":"UP","direction":"DOWN"}`, 0, CodeBadRequest},
		{`{"type":"move","direction":"UP","\u0074ype":"leave"}`, 0, CodeBadRequest},
		{`{"type":"leave","x":1,"x":2}`, 0, CodeBadRequest},
		{`{"Type":"leave"}`, 0, CodeBadRequest},
		{`{"type":"move","DIRECTION":"UP"}`, 0, CodeBadRequest},
		{`{"type":"move", "direction" : "LEFT" , "n":{"type":1,"type":2}, "a":[{"x":"}"}]}`, game.Left, ""},
	}
	for _, tt := range tests {
		got, err := ParseSeed([]byte(tt.in))
		if tt.code == "" {
			wantKind := MsgInput
			if tt.want == 0 {
				wantKind = MsgLeave
			}
			if err != nil || got.Buttons != tt.want || got.Kind != wantKind || got.Once != (wantKind == MsgInput) {
				t.Errorf("ParseSeed(%s) = %+v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || err.Code != tt.code {
			t.Errorf("ParseSeed(%s) error = %v; want code %s", tt.in, err, tt.code)
			continue
		}
		if err.Message == "" {
			t.Errorf("ParseSeed(%s): error %s has no message", tt.in, err.Code)
		}
	}
}

func TestParseSeedErrorDoesNotEchoLargeInput(t *testing.T) {
	big := `{"type":"` + strings.Repeat("x", 3000) + `"}`
	_, err := ParseSeed([]byte(big))
	if err == nil || err.Code != CodeUnknownType {
		t.Fatalf("got %v, want %s", err, CodeUnknownType)
	}
	if len(err.Message) > 200 {
		t.Errorf("error message is %d bytes; it should not echo the input", len(err.Message))
	}
}

func TestAppendSeedState(t *testing.T) {
	ents := []game.Entity{
		{ID: 1, Kind: game.KindPlayer, X: 123, Y: 45, Fields: [game.MaxFields]int32{0xa1b2c3}},
		{ID: 2, Kind: game.KindPlayer, X: 10, Y: 490, Fields: [game.MaxFields]int32{0x00000f}, Away: true},
		{ID: 7, Kind: game.KindPlayer, X: 490, Y: 10, Texts: [game.MaxTexts]string{"ann"}},
		{ID: game.ItemID(1), Kind: game.KindItem, X: 5, Y: 5, Fields: [game.MaxFields]int32{0xffffff}},
	}
	if c := SeedColor(dots.Kinds); c != dots.FieldColor {
		t.Fatalf("SeedColor(dots) = %d; want %d", c, dots.FieldColor)
	}
	if c := SeedColor(game.BasicKinds); c != -1 {
		t.Fatalf("SeedColor of players without colour = %d; want -1", c)
	}
	if got := string(AppendSeedState(nil, ents[:1], -1)); got != `{"type":"state_update","players":[{"id":"1","x":123,"y":45,"color":"#808080"}]}` {
		t.Errorf("without a colour field: %s", got)
	}
	got := string(AppendSeedState(nil, ents, SeedColor(dots.Kinds)))
	want := `{"type":"state_update","players":[{"id":"1","x":123,"y":45,"color":"#a1b2c3"},{"id":"7","x":490,"y":10,"color":"#000000"}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := string(AppendSeedState(nil, nil, 0)); got != `{"type":"state_update","players":[]}` {
		t.Errorf("empty state = %s", got)
	}
}

func TestAppendSeedInitAndErrors(t *testing.T) {
	if got, want := string(AppendSeedInit(nil, 42, "", "", Account{})), `{"type":"init","id":"42"}`; got != want {
		t.Errorf("init = %s, want %s", got, want)
	}
	var init map[string]any
	if err := json.Unmarshal(AppendSeedInit(nil, 42, "tok", "lobby", Account{}), &init); err != nil {
		t.Fatal(err)
	}
	if init["id"] != "42" || init["token"] != "tok" || init["room"] != "lobby" || init["type"] != "init" || init["account"] != nil {
		t.Errorf("init with token = %v", init)
	}
	// A player of an account is told it, as native welcomes tell it.
	if got, want := string(AppendSeedInit(nil, 42, "tok", "lobby", Account{ID: "a1", Name: "Zoë"})), `{"type":"init","id":"42","token":"tok","room":"lobby","account":{"id":"a1","name":"Zoë"}}`; got != want {
		t.Errorf("init with account = %s, want %s", got, want)
	}
	var e map[string]string
	msg := AppendSeedError(nil, &Error{Code: "x", Message: `say "hi" </script>`})
	if err := json.Unmarshal(msg, &e); err != nil {
		t.Fatalf("error message %s is not JSON: %v", msg, err)
	}
	if e["type"] != "error" || e["code"] != "x" || e["message"] != `say "hi" </script>` {
		t.Errorf("error = %v", e)
	}
	if err := json.Unmarshal(AppendSeedNotice(nil, "c", "m"), &e); err != nil || e["type"] != "notice" {
		t.Errorf("notice = %v, %v", e, err)
	}
}

func TestAppendColor(t *testing.T) {
	for c, want := range map[uint32]string{0: "#000000", 0xffffff: "#ffffff", 0x0a0b0c: "#0a0b0c", 0x123456: "#123456"} {
		if got := string(AppendColor(nil, c)); got != want {
			t.Errorf("AppendColor(%06x) = %s, want %s", c, got, want)
		}
	}
}

// FuzzParseSeed checks that no input panics the decoder and that whatever it
// accepts is a single known direction.
func FuzzParseSeed(f *testing.F) {
	for _, s := range []string{
		`{"type":"move","direction":"UP"}`,
		`{"type":"move","direction":"LEFT","x":1}`,
		`{"type":"move"}`,
		`{"type":"jump"}`,
		`[]`,
		`nul`,
		"{\"type\":\"move\",\"direction\":\"\xff\"}",
		`{"type":"move","direction":"UP","type":"leave"}`,
		`{"Type":"move","direction":"UP","\u0074ype":{"a":["}"]}}`,
		`{"type":"resume","token":"tok"}`,
		`{"type":"auth","token":"eyJ.a.b"}`,
		`{"type":"auth","token":"eyJ.a.b","resume":"tok"}`,
		`{"type":"auth","token":"eyJ.a.b","resume":null}`,
		`{"type":"auth","token":"a b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseSeed(data)
		if err != nil {
			if !reflect.DeepEqual(m, ClientMessage{}) || err.Code == "" || err.Message == "" {
				t.Fatalf("error %+v with message %+v", err, m)
			}
			return
		}
		switch m.Kind {
		case MsgLeave:
			return
		case MsgResume, MsgAuth:
			checkTokens(t, m)
			return
		}
		switch m.Buttons {
		case game.Up, game.Down, game.Left, game.Right:
		default:
			t.Fatalf("accepted %q as buttons %v", data, m.Buttons)
		}
	})
}
