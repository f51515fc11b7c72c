package protocol

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/arena-server/arena/games/dots"
)

func TestParseAuth(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"
	long := strings.Repeat("a", MaxAccessToken+1)
	max := strings.Repeat("a", MaxAccessToken)
	longResume := strings.Repeat("r", maxToken+1)
	for _, tc := range []struct {
		name          string
		parse         func([]byte) (ClientMessage, *Error)
		data          string
		access, token string // access "" wants an error
		code          string
	}{
		{"binary", ParseBinary, string(AppendBinaryAuth(nil, jwt, "")), jwt, "", ""},
		{"binary resume", ParseBinary, string(AppendBinaryAuth(nil, jwt, "tok")), jwt, "tok", ""},
		{"binary longest", ParseBinary, string(AppendBinaryAuth(nil, max, "tok")), max, "tok", ""},
		{"binary too long", ParseBinary, string(AppendBinaryAuth(nil, long, "")), "", "", CodeMalformed},
		{"binary empty", ParseBinary, string(AppendBinaryAuth(nil, "", "")), "", "", CodeMalformed},
		{"binary empty resume", ParseBinary, string(AppendBinaryAuth(nil, jwt, "")) + "\x00", "", "", CodeMalformed},
		{"binary long resume", ParseBinary, string(AppendBinaryAuth(nil, jwt, longResume)), "", "", CodeMalformed},
		{"binary control byte", ParseBinary, string(AppendBinaryAuth(nil, "a\nb", "")), "", "", CodeMalformed},
		{"binary truncated", ParseBinary, "\x07\x09ab", "", "", CodeMalformed},
		{"binary trailing", ParseBinary, string(AppendBinaryAuth(nil, jwt, "tok")) + "x", "", "", CodeMalformed},
		{"json", ParseNativeJSON, `{"t":"auth","token":"` + jwt + `"}`, jwt, "", ""},
		{"json resume", ParseNativeJSON, `{"t":"auth","token":"` + jwt + `","resume":"tok"}`, jwt, "tok", ""},
		{"json null resume", ParseNativeJSON, `{"t":"auth","token":"` + jwt + `","resume":null}`, jwt, "", ""},
		{"json missing", ParseNativeJSON, `{"t":"auth"}`, "", "", CodeMalformed},
		{"json number", ParseNativeJSON, `{"t":"auth","token":3}`, "", "", CodeMalformed},
		{"json long", ParseNativeJSON, `{"t":"auth","token":"` + long + `"}`, "", "", CodeMalformed},
		{"json space", ParseNativeJSON, `{"t":"auth","token":"a b"}`, "", "", CodeMalformed},
		{"json empty resume", ParseNativeJSON, `{"t":"auth","token":"a","resume":""}`, "", "", CodeMalformed},
		{"json resume number", ParseNativeJSON, `{"t":"auth","token":"a","resume":1}`, "", "", CodeMalformed},
		{"json twice", ParseNativeJSON, `{"t":"auth","token":"a","token":"b"}`, "", "", CodeBadRequest},
		{"json Resume", ParseNativeJSON, `{"t":"auth","token":"a","Resume":"tok"}`, "", "", CodeBadRequest},
		{"seed", ParseSeed, `{"type":"auth","token":"` + jwt + `"}`, jwt, "", ""},
		{"seed resume", ParseSeed, `{"type":"auth","token":"` + jwt + `","resume":"tok"}`, jwt, "tok", ""},
		{"seed missing", ParseSeed, `{"type":"auth","resume":"tok"}`, "", "", CodeMalformed},
		{"seed resume number", ParseSeed, `{"type":"auth","token":"a","resume":7}`, "", "", CodeMalformed},
		{"seed long", ParseSeed, `{"type":"auth","token":"` + long + `"}`, "", "", CodeMalformed},
		{"seed twice", ParseSeed, `{"type":"auth","token":"a","token":"b"}`, "", "", CodeBadRequest},
	} {
		m, err := tc.parse([]byte(tc.data))
		if strings.HasSuffix(tc.name, "too long") && (err == nil || !strings.Contains(err.Message, "1 to 2048 bytes")) {
			t.Errorf("%s: %v; want the bound said", tc.name, err)
		}
		switch {
		case tc.access != "" && (err != nil || m.Kind != MsgAuth || m.Access != tc.access || m.Token != tc.token):
			t.Errorf("%s: %+v, %v; want auth %q resume %q", tc.name, m, err, tc.access, tc.token)
		case tc.access == "" && (err == nil || err.Code != tc.code):
			t.Errorf("%s: %+v, %v; want %s", tc.name, m, err, tc.code)
		}
	}
}

// checkTokens fails the fuzz test whose decoder accepted a resume or an
// auth message with tokens out of their bounds.
func checkTokens(t *testing.T, m ClientMessage) {
	t.Helper()
	switch m.Kind {
	case MsgResume:
		if checkToken(m.Token) != nil || m.Access != "" {
			t.Fatalf("accepted resume %+v", m)
		}
	case MsgAuth:
		if checkAccess(m.Access) != nil || (m.Token != "" && checkToken(m.Token) != nil) {
			t.Fatalf("accepted auth %+v", m)
		}
	}
}

// The welcome of a player of an account says who it is: in binary after
// a flag bit, at the end, so that a decoder that knows no accounts reads
// the rest as before; in JSON, a field. A guest's says nothing.
func TestWelcomeAccount(t *testing.T) {
	acct := Account{ID: "01hv3k7f9q2w8e5r6t4y1u0i9o", Name: "Zoë"}
	for _, w := range []Welcome{
		{Player: 3, TickRate: 20, Room: "r", Mode: "dots", Token: "tok", Account: acct, Kinds: dots.Kinds},
		{Player: 3, TickRate: 20, Room: "r", Mode: "dots", Token: "tok", Kinds: dots.Kinds},
	} {
		b := AppendBinaryWelcome(nil, w)
		var m ServerMessage
		if err := ParseServerBinary(&m, b); err != nil {
			t.Fatal(err)
		}
		if m.Welcome.Account != w.Account || m.Welcome.Player != 3 || m.Welcome.Token != "tok" || len(m.Welcome.Kinds) != 1 {
			t.Errorf("%+v reads back as %+v", w, m.Welcome)
		}
		// Without the account, the bytes are a welcome of old.
		old := w
		old.Account = Account{}
		plain := AppendBinaryWelcome(nil, old)
		if w.Account != (Account{}) {
			if b[6] != plain[6]|WelcomeAccount || string(b[:6]) != string(plain[:6]) || string(b[7:len(plain)]) != string(plain[7:]) {
				t.Errorf("the account changes more than a flag and the end:\n%x\n%x", b, plain)
			}
		}
		var js struct {
			Account *struct{ ID, Name string } `json:"account"`
		}
		if err := json.Unmarshal(AppendJSONWelcome(nil, w), &js); err != nil {
			t.Fatal(err)
		}
		switch {
		case w.Account == (Account{}) && js.Account != nil:
			t.Errorf("a guest's JSON welcome has an account: %+v", js.Account)
		case w.Account != (Account{}) && (js.Account == nil || js.Account.ID != acct.ID || js.Account.Name != acct.Name):
			t.Errorf("JSON welcome's account %+v; want %+v", js.Account, acct)
		}
	}
}

func FuzzParseAuth(f *testing.F) {
	f.Add(AppendBinaryAuth(nil, "eyJ.a.b", ""))
	f.Add(AppendBinaryAuth(nil, "eyJ.a.b", "tok"))
	f.Add([]byte{BinAuth, 0x80, 0x10})
	f.Add([]byte(`{"t":"auth","token":"eyJ.a.b","resume":"tok"}`))
	f.Add([]byte(`{"type":"auth","token":"eyJ.a.b","resume":"tok"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) (ClientMessage, *Error){ParseBinary, ParseNativeJSON, ParseSeed} {
			m, err := parse(data)
			if err != nil {
				if err.Code == "" || err.Message == "" {
					t.Fatalf("error without code or message: %+v", err)
				}
				continue
			}
			checkTokens(t, m)
		}
	})
}
