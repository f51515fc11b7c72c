package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestBinaryEventRoundTrip(t *testing.T) {
	data := []byte(`{"it":7,"by":3}`)
	b := AppendBinaryEvent(nil, 300, "tagged", data)
	want := append([]byte{0x86, 0xac, 0x02, 6, 't', 'a', 'g', 'g', 'e', 'd', byte(len(data))}, data...)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoded % x\nwant    % x", b, want)
	}
	var m ServerMessage
	if err := ParseServerBinary(&m, b); err != nil {
		t.Fatal(err)
	}
	if m.Type != BinEvent || m.Tick != 300 || m.Event != "tagged" || !bytes.Equal(m.Data, data) {
		t.Fatalf("parsed %+v", m)
	}
	big := bytes.Repeat([]byte("a"), 5000) // room_over may exceed the 1 KiB of strings
	if err := ParseServerBinary(&m, AppendBinaryEvent(nil, 1, "room_over", big)); err != nil || len(m.Data) != 5000 {
		t.Fatalf("long data: %v, %d bytes", err, len(m.Data))
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(b, 0), {0x86, 1, 1}} {
		if err := ParseServerBinary(&m, bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x: %v, want ErrMalformed", bad, err)
		}
	}
}

func TestJSONEvent(t *testing.T) {
	b := AppendJSONEvent(nil, 42, "tagged", []byte(`{"it":7,"by":3}`))
	if want := `{"t":"event","tick":42,"event":"tagged","data":{"it":7,"by":3}}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	if !json.Valid(b) {
		t.Fatal("not valid JSON")
	}
}
