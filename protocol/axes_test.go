package protocol

import (
	"math"
	"testing"

	"github.com/arena-server/arena/game"
)

var testAxes = []game.Axis{{Name: "x", Min: -10, Max: 10}, {Name: "y", Min: 0, Max: 5}}

func TestAxesDecodeInBothEncodings(t *testing.T) {
	bin, perr := ParseBinary(AppendBinaryInput(nil, 1, game.Up, 0, -10, 5))
	if perr != nil {
		t.Fatal(perr)
	}
	if m, err := ParseNativeJSON([]byte(`{"t":"input","seq":1,"buttons":1,"tick":9,"lag":2}`)); err != nil || m.Lag != 2 || m.Tick != 9 {
		t.Errorf("JSON input with a lag: %+v, %v", m, err)
	}
	js, perr := ParseNativeJSON([]byte(`{"t":"input","seq":1,"buttons":1,"axes":[-10,5]}`))
	if perr != nil {
		t.Fatal(perr)
	}
	for _, m := range []ClientMessage{bin, js} {
		if m.NAxes != 2 || m.Axes[0] != -10 || m.Axes[1] != 5 {
			t.Errorf("decoded axes %v (%d); want [-10 5]", m.Axes, m.NAxes)
		}
		if err := CheckAxes(&m, testAxes); err != nil {
			t.Errorf("in-bounds axes refused: %v", err)
		}
	}
	// No axes at all: today's input, unchanged.
	if m, _ := ParseBinary(AppendBinaryInput(nil, 1, game.Up, 0)); m.NAxes != 0 {
		t.Errorf("a buttons-only input decoded %d axes", m.NAxes)
	}
}

func TestBadAxesAreRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  ClientMessage
	}{
		{"above max", decodeBin(t, AppendBinaryInput(nil, 1, 0, 0, 11))},
		{"below min", decodeBin(t, AppendBinaryInput(nil, 1, 0, 0, 0, -1))},
		{"more than declared", decodeBin(t, AppendBinaryInput(nil, 1, 0, 0, 0, 0, 0))},
	} {
		if err := CheckAxes(&c.msg, testAxes); err == nil || err.Code != CodeBadInput {
			t.Errorf("%s: CheckAxes = %v; want %s", c.name, err, CodeBadInput)
		}
	}
	tooMany := AppendBinaryInput(nil, 1, 0, 0, 1, 2, 3, 4, 5)
	if _, err := ParseBinary(tooMany); err == nil || err.Code != CodeMalformed {
		t.Errorf("five axes in binary: %v; want %s", err, CodeMalformed)
	}
	wide := appendZigzag(append(AppendBinaryInput(nil, 1, 0, 0), 0), math.MaxInt32+1) // lag 0, then the axis
	if _, err := ParseBinary(wide); err == nil || err.Code != CodeMalformed {
		t.Errorf("an axis past 32 bits in binary: %v; want %s", err, CodeMalformed)
	}
	for _, s := range []string{
		`{"t":"input","seq":1,"buttons":0,"axes":[1,2,3,4,5]}`,
		`{"t":"input","seq":1,"buttons":0,"axes":[2147483648]}`,
	} {
		if _, err := ParseNativeJSON([]byte(s)); err == nil || err.Code != CodeBadInput {
			t.Errorf("%s: %v; want %s", s, err, CodeBadInput)
		}
	}
	if _, err := ParseNativeJSON([]byte(`{"t":"input","seq":1,"buttons":0,"axes":["a"]}`)); err == nil {
		t.Error("a string axis was accepted")
	}
}

func decodeBin(t *testing.T, b []byte) ClientMessage {
	t.Helper()
	m, err := ParseBinary(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGameMessagesDecodeInBothEncodings(t *testing.T) {
	types := []game.MessageType{{Name: "chat", MaxBytes: 16}, {Name: "vote"}}
	bin := decodeBin(t, AppendBinaryMessage(nil, 1, []byte(`{"for":3}`)))
	js, perr := ParseNativeJSON([]byte(`{"t":"message","type":"vote","data":{"for":3}}`))
	if perr != nil {
		t.Fatal(perr)
	}
	for _, m := range []ClientMessage{bin, js} {
		i, err := CheckMessage(&m, types)
		if err != nil || i != 1 || string(m.Data) != `{"for":3}` {
			t.Errorf("%+v resolved to %d, %v; want vote with its data", m, i, err)
		}
	}
	for _, s := range []string{
		`{"t":"message","type":"vote"}`,
		`{"t":"message","data":1}`,
		`{"t":"message","type":3,"data":1}`,
	} {
		if _, err := ParseNativeJSON([]byte(s)); err == nil {
			t.Errorf("%s was accepted", s)
		}
	}
	for _, m := range []ClientMessage{
		{Kind: MsgGame, TypeIndex: -1, TypeName: "dance", Data: []byte("1")},
		{Kind: MsgGame, TypeIndex: 2, Data: []byte("1")},
		{Kind: MsgGame, TypeIndex: 0, Data: []byte(`"seventeen bytes!"`)},
		{Kind: MsgGame, TypeIndex: 0, Data: []byte(`nope`)},
		{Kind: MsgGame, TypeIndex: 0, Data: []byte{}},
	} {
		if _, err := CheckMessage(&m, types); err == nil || err.Code != CodeBadMessage {
			t.Errorf("%+v: %v; want %s", m, err, CodeBadMessage)
		}
	}
}
