package strictjson

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the error, "" for none
	}{
		{`{"mode":"dots","options":{"round":3}}`, ""},
		{`{}`, ""},
		{`[]`, ""},
		{`"s"`, ""},
		{`3`, ""},
		{`null`, ""},
		{`{"a":{},"b":[],"c":[{}, {"a":1}], "d":{"a":{"a":1}}}`, ""},
		{`[{"a":1},{"a":2}]`, ""}, // each element is its own object
		{`{"a":[1,{"b":2}],"b":3}`, ""},
		{`{"mode":"dots","mode":"tag"}`, `duplicate key "mode"`},
		{`{"mode":"dots","MODE":"tag"}`, `keys "mode" and "MODE" differ only in case`},
		{`{"k":1,"\u212a":2}`, "keys \"k\" and \"\u212a\" differ only in case"}, // the Kelvin sign
		{`{"m\u006fde":1,"mode":2}`, `duplicate key "mode"`},
		{`{"options":{"round":3,"round":4}}`, `duplicate key "options.round"`},
		{`{"a":[{"b":{"c":1,"c":2}}]}`, `duplicate key "a[].b.c"`},
		{`[[{"x":1,"x":1}]]`, `duplicate key "[][].x"`},
		{`{"a":{"b":1},"b":{"a":1},"a":2}`, `duplicate key "a"`},
	} {
		err := CheckKeys([]byte(tc.in))
		got := ""
		if err != nil {
			got = err.Error()
			if !errors.As(err, new(*DuplicateKeyError)) {
				t.Errorf("%s: %T; want a *DuplicateKeyError", tc.in, err)
			}
		}
		if got != tc.want {
			t.Errorf("%s: %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	var v struct{ Mode string }
	if err := Unmarshal([]byte(`{"mode":"dots"}`), &v); err != nil || v.Mode != "dots" {
		t.Errorf("got %+v, %v", v, err)
	}
	for _, in := range []string{`{"mode":`, `{"mode":"a"}{}`, `{"mode":1}`, `{"mode":"a"} x`, ``, `{"a":1,}`} {
		if err := Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	if err := Unmarshal([]byte(`{"mode":"a","Mode":"b"}`), &v); !errors.As(err, new(*DuplicateKeyError)) {
		t.Errorf("case variants: %v", err)
	}
}

// FuzzCheckKeys: CheckKeys never panics, accepts what json.Unmarshal
// accepts unless it finds a repeated key, and refuses what is not JSON.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, `[{"a":[]},{"a":{}}]`, `{"a":{"b":[1,{"c":"d"}]}}`, `{`, `]`, `{"a" 1}`, `{1:2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckKeys(data)
		var v any
		valid := json.Unmarshal(data, &v) == nil
		var dup *DuplicateKeyError
		if valid && err != nil && !errors.As(err, &dup) {
			t.Fatalf("%q is JSON, but: %v", data, err)
		}
	})
}
