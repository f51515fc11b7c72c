package protocol

import (
	"strings"
	"testing"
)

func TestParseResume(t *testing.T) {
	long := strings.Repeat("a", maxToken+1)
	for _, tc := range []struct {
		name  string
		parse func([]byte) (ClientMessage, *Error)
		data  string
		token string // "" wants an error
		code  string
	}{
		{"binary", ParseBinary, string(AppendBinaryResume(nil, "tok")), "tok", ""},
		{"binary empty", ParseBinary, string(AppendBinaryResume(nil, "")), "", CodeMalformed},
		{"binary long", ParseBinary, string(AppendBinaryResume(nil, long)), "", CodeMalformed},
		{"binary truncated", ParseBinary, "\x05\x09ab", "", CodeMalformed},
		{"json", ParseNativeJSON, `{"t":"resume","token":"tok"}`, "tok", ""},
		{"json missing", ParseNativeJSON, `{"t":"resume"}`, "", CodeMalformed},
		{"json number", ParseNativeJSON, `{"t":"resume","token":3}`, "", CodeMalformed},
		{"seed", ParseSeed, `{"type":"resume","token":"tok"}`, "tok", ""},
		{"seed missing", ParseSeed, `{"type":"resume"}`, "", CodeMalformed},
		{"seed long", ParseSeed, `{"type":"resume","token":"` + long + `"}`, "", CodeMalformed},
	} {
		m, err := tc.parse([]byte(tc.data))
		switch {
		case tc.token != "" && (err != nil || m.Kind != MsgResume || m.Token != tc.token):
			t.Errorf("%s: %+v, %v; want resume %q", tc.name, m, err, tc.token)
		case tc.token == "" && (err == nil || err.Code != tc.code):
			t.Errorf("%s: %+v, %v; want %s", tc.name, m, err, tc.code)
		}
	}
}
