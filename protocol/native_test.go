package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/games/tag"
)

func TestParseBinary(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want ClientMessage
		code string
	}{
		{"input", AppendBinaryInput(nil, 7, game.Up|game.Left, 1234), ClientMessage{Kind: MsgInput, Seq: 7, Buttons: game.Up | game.Left, Tick: 1234}, ""},
		{"input asap", AppendBinaryInput(nil, 1, 0, 0), ClientMessage{Kind: MsgInput, Seq: 1}, ""},
		{"input with lag", AppendBinaryInputLag(nil, 2, game.Action, 90, 3), ClientMessage{Kind: MsgInput, Seq: 2, Buttons: game.Action, Tick: 90, Lag: 3}, ""},
		{"input with lag and axes", AppendBinaryInputLag(nil, 2, 0, 90, 3, -7, 8), ClientMessage{Kind: MsgInput, Seq: 2, Tick: 90, Lag: 3, Axes: [game.MaxAxes]int32{-7, 8}, NAxes: 2}, ""},
		{"input with axes, no lag", AppendBinaryInput(nil, 2, 0, 90, 5), ClientMessage{Kind: MsgInput, Seq: 2, Tick: 90, Axes: [game.MaxAxes]int32{5}, NAxes: 1}, ""},
		{"input with a huge lag", []byte{BinInput, 1, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ClientMessage{Kind: MsgInput, Seq: 1, Tick: 1, Lag: MaxLag}, ""},
		{"ping", AppendBinaryPing(nil, 0xdeadbeef), ClientMessage{Kind: MsgPing, Time: 0xdeadbeef}, ""},
		{"resync", []byte{BinResync}, ClientMessage{Kind: MsgResync}, ""},
		{"leave", []byte{BinLeave}, ClientMessage{Kind: MsgLeave}, ""},
		{"empty", nil, ClientMessage{}, CodeMalformed},
		{"unknown", []byte{0x7f}, ClientMessage{}, CodeUnknownType},
		{"server type", []byte{BinSnapshot}, ClientMessage{}, CodeUnknownType},
		{"truncated input", []byte{BinInput, 5}, ClientMessage{}, CodeMalformed},
		{"seq zero", AppendBinaryInput(nil, 0, game.Up, 0), ClientMessage{}, CodeMalformed},
		{"bad buttons", []byte{BinInput, 1, 0x80, 0}, ClientMessage{}, CodeBadButtons},
		{"trailing bytes", []byte{BinLeave, 0}, ClientMessage{}, CodeMalformed},
		{"truncated ping", []byte{BinPing, 1, 2}, ClientMessage{}, CodeMalformed},
		{"overlong varint", append([]byte{BinInput}, bytes.Repeat([]byte{0xff}, 11)...), ClientMessage{}, CodeMalformed},
	}
	for _, tt := range tests {
		got, err := ParseBinary(tt.in)
		if tt.code != "" {
			if err == nil || err.Code != tt.code || err.Message == "" {
				t.Errorf("%s: error %v; want code %s", tt.name, err, tt.code)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestParseNativeJSON(t *testing.T) {
	tests := []struct {
		in   string
		want ClientMessage
		code string
	}{
		{`{"t":"input","seq":3,"buttons":9,"tick":77}`, ClientMessage{Kind: MsgInput, Seq: 3, Buttons: game.Up | game.Right, Tick: 77}, ""},
		{`{"t":"input","seq":3,"buttons":0}`, ClientMessage{Kind: MsgInput, Seq: 3}, ""},
		{`{"t":"ping","time":99}`, ClientMessage{Kind: MsgPing, Time: 99}, ""},
		{`{"t":"resync"}`, ClientMessage{Kind: MsgResync}, ""},
		{`{"t":"leave"}`, ClientMessage{Kind: MsgLeave}, ""},
		{`{"t":"input","buttons":1}`, ClientMessage{}, CodeMalformed},
		{`{"t":"input","seq":0,"buttons":1}`, ClientMessage{}, CodeMalformed},
		{`{"t":"input","seq":1}`, ClientMessage{}, CodeMalformed},
		{`{"t":"input","seq":1,"buttons":64}`, ClientMessage{}, CodeBadButtons},
		{`{"t":"input","seq":-1,"buttons":1}`, ClientMessage{}, CodeMalformed},
		{`{"t":"input","seq":"1","buttons":1}`, ClientMessage{}, CodeMalformed},
		{`{"t":"fly"}`, ClientMessage{}, CodeUnknownType},
		{`{"type":"move"}`, ClientMessage{}, CodeMissingType},
		{`[]`, ClientMessage{}, CodeNotObject},
		{`{`, ClientMessage{}, CodeInvalidJSON},
		{`{"t":"input","seq":3,"buttons":9,"t":"leave"}`, ClientMessage{}, CodeBadRequest},
		{`{"t":"ping","time":1,"time":2}`, ClientMessage{}, CodeBadRequest},
		{`{"T":"leave"}`, ClientMessage{}, CodeBadRequest},
		{`{"t":"input","SEQ":3,"buttons":9}`, ClientMessage{}, CodeBadRequest},
		{`{"t":"input","seq":3,"Buttons":9}`, ClientMessage{}, CodeBadRequest},
		{"{\"t\":\"input\",\"\u017feq\":3,\"buttons\":9}", ClientMessage{}, CodeBadRequest}, // ſ folds to s
		{`{"t":"leave","\u0074":"ping"}`, ClientMessage{}, CodeBadRequest},
		{`{"t":"leave","x":{"t":1,"t":2}}`, ClientMessage{Kind: MsgLeave}, ""},
	}
	for _, tt := range tests {
		got, err := ParseNativeJSON([]byte(tt.in))
		if tt.code != "" {
			if err == nil || err.Code != tt.code {
				t.Errorf("%s: error %v; want %s", tt.in, err, tt.code)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// testKinds declares a field of every type, in two kinds.
var testKinds = []game.EntityKind{
	{Name: "player", Fields: []game.Field{
		{Name: "color", Type: game.Color},
		{Name: "score", Type: game.Int},
		{Name: "it", Type: game.Bool},
		{Name: "hp", Type: game.Uint, Bits: 8},
		{Name: "aim", Type: game.Fixed, Scale: 1000, Delta: true, Interp: true},
		{Name: "speed", Type: game.Float},
		{Name: "team", Type: game.Enum, Values: []string{"red", "blue"}},
	}, Texts: []game.Text{{Name: "name", MaxLen: 16}}},
	{Name: "item", Fields: []game.Field{{Name: "size", Type: game.Int, Bits: 16, Delta: true}}, Texts: []game.Text{{Name: "label"}}},
}

// randomFields sets e's declared fields to random values of their types.
func randomFields(r *rand.Rand, e *game.Entity) {
	e.Fields, e.Texts = [game.MaxFields]int32{}, [game.MaxTexts]string{}
	k := &testKinds[e.Kind]
	for i, f := range k.Fields {
		switch f.Type {
		case game.Color:
			e.Fields[i] = int32(r.IntN(0x1000000))
		case game.Bool:
			e.Fields[i] = int32(r.IntN(2))
		case game.Uint:
			e.Fields[i] = int32(r.IntN(256))
		case game.Float:
			e.Fields[i] = game.Float32(float32(r.NormFloat64() * 100))
		case game.Enum:
			e.Fields[i] = int32(r.IntN(len(f.Values)))
		default:
			e.Fields[i] = int32(r.IntN(20001) - 10000)
		}
	}
	for j := range k.Texts {
		e.Texts[j] = []string{"", "ann", "bö", `q"<x>`}[r.IntN(4)]
	}
}

// randomWorld returns n entities sorted by ID with random fields.
func randomWorld(r *rand.Rand, n int) []game.Entity {
	var ents []game.Entity
	id := uint32(0)
	for range n {
		id += 1 + uint32(r.IntN(20))
		e := game.Entity{ID: id, Kind: game.Kind(r.IntN(2)), Away: r.IntN(4) == 0, X: int32(r.IntN(500)), Y: int32(r.IntN(500))}
		randomFields(r, &e)
		ents = append(ents, e)
	}
	return ents
}

// evolve changes a world the way games do: some leave, some join, some move.
func evolve(r *rand.Rand, base []game.Entity) []game.Entity {
	var next []game.Entity
	for _, e := range base {
		switch r.IntN(10) {
		case 0: // leaves
			continue
		case 1, 2, 3:
			e.X += int32(r.IntN(21) - 10)
			e.Y -= int32(r.IntN(3)) * 7
		case 4:
			e.Away = !e.Away
			e.Fields[0] += int32(r.IntN(3))
		case 5:
			i := r.IntN(len(testKinds[e.Kind].Fields))
			old := e.Fields
			randomFields(r, &e)
			v := e.Fields[i]
			e.Fields = old
			e.Fields[i] = v
		case 6:
			randomFields(r, &e)
		case 7:
			e.Kind = 1 - e.Kind // a different kind: removed and added
			randomFields(r, &e)
		}
		next = append(next, e)
	}
	maxID := uint32(0)
	if len(base) > 0 {
		maxID = base[len(base)-1].ID
	}
	for _, e := range randomWorld(r, r.IntN(4)) {
		e.ID += maxID
		next = append(next, e)
	}
	return next
}

func equalWorlds(a, b []game.Entity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeltaRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d Delta
	var msg ServerMessage
	for trial := range 300 {
		base := randomWorld(r, r.IntN(50))
		cur := evolve(r, base)
		if trial%10 == 0 {
			base = nil // a full snapshot
		}
		Diff(&d, base, cur)
		if got := Apply(nil, base, &d); !equalWorlds(got, cur) {
			t.Fatalf("trial %d: Apply(Diff) differs", trial)
		}
		// Binary: through the wire format and back.
		h := SnapshotHeader{Full: base == nil, Tick: 100, Ack: 9}
		if base != nil {
			h.Base = 98
		}
		wire := AppendBinaryDelta(AppendBinarySnapshotHeader(nil, h), &d, testKinds)
		msg.Welcome.Kinds = testKinds
		if err := ParseServerBinary(&msg, wire); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if msg.Type != BinSnapshot || msg.Snapshot != h {
			t.Fatalf("trial %d: header %+v; want %+v", trial, msg.Snapshot, h)
		}
		if got := ApplyDecoded(nil, base, &msg.Delta, testKinds); !equalWorlds(got, cur) {
			t.Fatalf("trial %d: binary round trip differs:\n got %+v\nwant %+v", trial, got, cur)
		}
		// JSON: valid, and the same world once applied.
		js := AppendJSONDelta(AppendJSONSnapshotHeader(nil, h), &d, testKinds)
		if got := applyJSON(t, base, js); !equalWorlds(got, cur) {
			t.Fatalf("trial %d: JSON round trip differs", trial)
		}
	}
}

// applyJSON applies an arena.v1.json snapshot to base as a client would.
func applyJSON(t *testing.T, base []game.Entity, msg []byte) []game.Entity {
	t.Helper()
	var snap struct {
		T       string           `json:"t"`
		Full    bool             `json:"full"`
		Removed []uint32         `json:"removed"`
		Added   []map[string]any `json:"added"`
		Changed []map[string]any `json:"changed"`
	}
	if err := json.Unmarshal(msg, &snap); err != nil || snap.T != "snap" {
		t.Fatalf("snapshot %s: %v", msg, err)
	}
	byID := map[uint32]game.Entity{}
	if !snap.Full {
		for _, e := range base {
			byID[e.ID] = e
		}
	}
	for _, id := range snap.Removed {
		delete(byID, id)
	}
	set := func(e *game.Entity, m map[string]any) {
		if v, ok := m["kind"]; ok {
			e.Kind = game.Kind(v.(float64))
		}
		k := &testKinds[e.Kind]
		for key, v := range m {
			switch key {
			case "id":
				e.ID = uint32(v.(float64))
			case "kind":
			case "x":
				e.X = int32(v.(float64))
			case "y":
				e.Y = int32(v.(float64))
			case "away":
				e.Away = v.(bool)
			default:
				if i := k.FieldIndex(key); i >= 0 {
					e.Fields[i] = jsonValue(t, &k.Fields[i], v)
				} else if j := k.TextIndex(key); j >= 0 {
					e.Texts[j] = v.(string)
				} else {
					t.Fatalf("entity %+v has an undeclared key %q", m, key)
				}
			}
		}
	}
	for _, m := range snap.Added {
		var e game.Entity
		set(&e, m)
		byID[e.ID] = e
	}
	for _, m := range snap.Changed {
		e := byID[uint32(m["id"].(float64))]
		set(&e, m)
		byID[e.ID] = e
	}
	var out []game.Entity
	for _, e := range byID {
		out = append(out, e)
	}
	sortEntities(out)
	return out
}

// jsonValue reads a JSON field's value back into its int32.
func jsonValue(t *testing.T, f *game.Field, v any) int32 {
	switch f.Type {
	case game.Color:
		var c [3]byte
		hex.Decode(c[:], []byte(strings.TrimPrefix(v.(string), "#")))
		return int32(c[0])<<16 | int32(c[1])<<8 | int32(c[2])
	case game.Bool:
		return game.Flag(v.(bool))
	case game.Enum:
		return int32(slices.Index(f.Values, v.(string)))
	case game.Fixed:
		return int32(math.Round(v.(float64) * float64(f.Scale)))
	case game.Float:
		return game.Float32(float32(v.(float64)))
	}
	return int32(v.(float64))
}

func sortEntities(ents []game.Entity) {
	for i := 1; i < len(ents); i++ {
		for j := i; j > 0 && ents[j].ID < ents[j-1].ID; j-- {
			ents[j], ents[j-1] = ents[j-1], ents[j]
		}
	}
}

// TestAChangePastTheBaseChangesNothing: a decoded change names its entity
// by index in the base; one past the end of it (a broken or hostile
// encoder) is ignored, without a panic, and the others still apply.
func TestAChangePastTheBaseChangesNothing(t *testing.T) {
	base := []game.Entity{{ID: 1, X: 1}, {ID: 2, X: 2}, {ID: 5, X: 5}}
	// tick 44 on 43: no removals or additions; two changes, of base
	// index 1 (skip 1, x +1) and of index 1+1+9 = 11 (skip 9, x +1).
	var m ServerMessage
	if err := ParseServerBinary(&m, []byte{BinSnapshot, 0, 44, 1, 0, 0, 0, 2, 1<<3 | 1, 2, 9<<3 | 1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := m.Delta.Changed[1].Index(); got != 11 {
		t.Fatalf("second change's index %d; want 11", got)
	}
	got := ApplyDecoded(nil, base, &m.Delta, nil)
	want := []game.Entity{{ID: 1, X: 1}, {ID: 2, X: 3}, {ID: 5, X: 5}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v; want %+v", got, want)
	}
}

// TestDeltaSize pins what a moving player costs: the seed's game moves one
// axis by 10 px a tick, which must cost 2 bytes (a skip with the field
// mask, and the step), against Colyseus's 3.6.
func TestDeltaSize(t *testing.T) {
	for _, mode := range []struct {
		name  string
		kinds []game.EntityKind
	}{{"dots", dots.Kinds}, {"tag", tag.Kinds}} {
		const n = 500
		base := make([]game.Entity, n)
		for i := range base {
			base[i] = game.Entity{ID: uint32(i + 1), X: 250, Y: 250}
			base[i].Fields[0] = 0xabcdef
		}
		allMoving := make([]game.Entity, n)
		tenth := make([]game.Entity, n)
		r := rand.New(rand.NewPCG(5, 6))
		moved10 := 0
		for i, e := range base {
			allMoving[i], tenth[i] = e, e
			if i%2 == 0 {
				allMoving[i].X += 10
			} else {
				allMoving[i].Y -= 10
			}
			if r.IntN(10) == 0 {
				tenth[i].X -= 10
				moved10++
			}
		}
		var d Delta
		Diff(&d, base, allMoving)
		body := AppendBinaryDelta(nil, &d, mode.kinds)
		if per := float64(len(body)) / n; per > 2.01 {
			t.Errorf("%s, all moving: %.2f bytes per moving player; want 2", mode.name, per)
		}
		Diff(&d, base, tenth)
		body = AppendBinaryDelta(nil, &d, mode.kinds)
		if per := float64(len(body)) / float64(moved10); per > 2.5 {
			t.Errorf("%s, 10%% moving: %.2f bytes per moving player; want at most 2.5", mode.name, per)
		}
		Diff(&d, base, base)
		if body := AppendBinaryDelta(nil, &d, mode.kinds); len(body) != 3 {
			t.Errorf("%s, nothing moving: %d bytes; want 3 (three empty lists)", mode.name, len(body))
		}
	}
}

// TestFieldCosts pins what a change of each type of field costs beside
// its ID and its mask: a flag that flips costs its mask bit only.
func TestFieldCosts(t *testing.T) {
	base := game.Entity{ID: 1, X: 5, Y: 5}
	for _, c := range []struct {
		field int
		value int32
		bytes int // after the first varint and the mask
	}{
		{0, 0x123456, 3}, // colour
		{1, 5, 1},        // score: zigzag
		{2, 1, 0},        // it: the mask says it flipped
		{4, 3, 1},        // aim, a difference
		{5, game.Float32(1.5), 4},
		{6, 1, 1}, // team
	} {
		cur := base
		cur.Fields[c.field] = c.value
		var d Delta
		Diff(&d, []game.Entity{base}, []game.Entity{cur})
		body := AppendBinaryDelta(nil, &d, testKinds)
		// removed 0, added 0, changed 1, the entity's first varint, then
		// the mask of field c.field (bit 1+i) and the kind (one bit).
		mask := len(binary.AppendUvarint(nil, 1<<(1+c.field)<<1))
		if got := len(body) - 4 - mask; got != c.bytes {
			t.Errorf("field %s: %d bytes (%x); want %d", testKinds[0].Fields[c.field].Name, got, body, c.bytes)
		}
	}
}

// TestGoldenBytes pins the binary format byte for byte against
// testdata/golden.txt, which docs/protocol.md quotes. Run with
// ARENA_UPDATE_GOLDEN=1 to rewrite it after a deliberate change.
func TestGoldenBytes(t *testing.T) {
	dot := func(id uint32, x, y int32, color int32, name string) game.Entity {
		e := game.Entity{ID: id, X: x, Y: y}
		e.Fields[dots.FieldColor], e.Texts[dots.TextName] = color, name
		return e
	}
	var d Delta
	base := []game.Entity{dot(1, 100, 100, 0xff0000, "ann"), dot(2, 200, 200, 0x00ff00, ""), dot(5, 300, 300, 0x0000ff, "")}
	cur := []game.Entity{dot(1, 110, 100, 0xff0000, "ann"), dot(2, 200, 193, 0x00ff00, ""), dot(7, 50, 450, 0x123456, "bo")}
	cur[1].Away = true
	Diff(&d, base, cur)
	// Only the last entity changes: its change skips the two before it.
	last := slices.Clone(cur)
	last[2].Y += 5
	var skip Delta
	Diff(&skip, cur, last)
	var full Delta
	Diff(&full, nil, base)
	// A world of every type of field (testKinds), and what changes in it.
	every := []game.Entity{{ID: 3, X: -20, Y: 40}, {ID: game.ItemID(1), Kind: 1, X: 7, Y: 8}}
	every[0].Fields = [game.MaxFields]int32{0x336699, -12, 1, 200, 1571, game.Float32(2.5), 1}
	every[0].Texts[0] = "zoë"
	every[1].Fields[0], every[1].Texts[0] = 30, "coin"
	everyNext := slices.Clone(every)
	everyNext[0].X, everyNext[0].Away = -19, true
	everyNext[0].Fields = [game.MaxFields]int32{0x336699, -10, 0, 199, 1560, game.Float32(-0.25), 0}
	everyNext[0].Texts[0] = "zo"
	everyNext[1].Fields[0] = 32
	var everyFull, everyDelta Delta
	Diff(&everyFull, nil, every)
	Diff(&everyDelta, every, everyNext)
	// A snapshot block carries, on a third line, the world once it is
	// applied, as arena.v1.json shows entities: what a decoder must make
	// of the bytes, checked by the page's own decoder (e2e).
	world := func(ents []game.Entity, kinds []game.EntityKind) string {
		var b []byte
		for i := range ents {
			k := &kinds[ents[i].Kind]
			b = appendJSONEntity(append(b, ','), &ents[i], k, kindMask(k), true)
		}
		return "\n[" + strings.TrimPrefix(string(b), ",") + "]"
	}
	dotsWelcome := Welcome{Player: 7, TickRate: 20, World: game.World{Width: 500, Height: 500}, Room: "default", Mode: "dots", Token: "tok", Kinds: dots.Kinds}
	cases := []struct {
		name  string
		msg   []byte
		state string
	}{
		{"client input seq=7 buttons=Up|Right tick=300", AppendBinaryInput(nil, 7, game.Up|game.Right, 300), ""},
		{"client input seq=8 buttons=Action tick=301 axes=[-1571 250]", AppendBinaryInput(nil, 8, game.Action, 301, -1571, 250), ""},
		{"client input seq=9 buttons=Action tick=302 lag=3 axes=[100]", AppendBinaryInputLag(nil, 9, game.Action, 302, 3, 100), ""},
		{"client message type=0 data=\"gg\"", AppendBinaryMessage(nil, 0, []byte(`"gg"`)), ""},
		{"client ping time=1000", AppendBinaryPing(nil, 1000), ""},
		{"client resync", []byte{BinResync}, ""},
		{"client leave", []byte{BinLeave}, ""},
		{"client resume token=tok", AppendBinaryResume(nil, "tok"), ""},
		{"client auth token=eyJ.e30.sig", AppendBinaryAuth(nil, "eyJ.e30.sig", ""), ""},
		{"client auth token=eyJ.e30.sig resume=tok", AppendBinaryAuth(nil, "eyJ.e30.sig", "tok"), ""},
		{"welcome ... mode=blasters token=tok axes=[aim -3142..3142]", AppendBinaryWelcome(nil, Welcome{Player: 7, TickRate: 20, World: game.World{Width: 500, Height: 500}, Room: "default", Mode: "blasters", Token: "tok", Axes: []game.Axis{{Name: "aim", Min: -3142, Max: 3142}}}), ""},
		{"welcome ... mode=chat token=tok messages=[say 64]", AppendBinaryWelcome(nil, Welcome{Player: 7, TickRate: 20, World: game.World{Width: 500, Height: 500}, Room: "default", Mode: "chat", Token: "tok", Messages: []game.MessageType{{Name: "say", MaxBytes: 64}}}), ""},
		{"welcome player=7 tick_rate=20 world=500x500 room=default mode=dots token=tok kinds=[player color; name]", AppendBinaryWelcome(nil, dotsWelcome), ""},
		{"welcome player=7 ... mode=dots token=tok kinds=[player color; name] account=a1b2/ann", AppendBinaryWelcome(nil, Welcome{Player: 7, TickRate: 20, World: game.World{Width: 500, Height: 500}, Room: "default", Mode: "dots", Token: "tok", Account: Account{ID: "a1b2", Name: "ann"}, Kinds: dots.Kinds}), ""},
		{"welcome player=0 ... room=default mode=dots token= watching kinds=[player color; name]", AppendBinaryWelcome(nil, Welcome{TickRate: 20, World: game.World{Width: 500, Height: 500}, Room: "default", Mode: "dots", Watching: true, Kinds: dots.Kinds}), ""},
		{"full snapshot tick=41 ack=0 of players 1, 2, 5", AppendBinaryDelta(AppendBinarySnapshotHeader(nil, SnapshotHeader{Full: true, Tick: 41}), &full, dots.Kinds), world(base, dots.Kinds)},
		{"delta snapshot tick=42 base=41 ack=7: 1 moves +10 x, 2 moves -7 y and is away, 5 leaves, 7 joins", AppendBinaryDelta(AppendBinarySnapshotHeader(nil, SnapshotHeader{Tick: 42, Base: 41, Ack: 7}), &d, dots.Kinds), world(cur, dots.Kinds)},
		{"delta snapshot tick=43 base=42 ack=7: 7 moves +5 y, 1 and 2 do not move", AppendBinaryDelta(AppendBinarySnapshotHeader(nil, SnapshotHeader{Tick: 43, Base: 42, Ack: 7}), &skip, dots.Kinds), world(last, dots.Kinds)},
		{"welcome ... mode=every kinds=[player color score it hp aim speed team; name] [item size; label]", AppendBinaryWelcome(nil, Welcome{Player: 3, TickRate: 20, World: game.World{Width: 500, Height: 500}, Room: "r", Mode: "every", Token: "tok", Kinds: testKinds}), ""},
		{"full snapshot tick=5 ack=0 of a player and an item with every type of field", AppendBinaryDelta(AppendBinarySnapshotHeader(nil, SnapshotHeader{Full: true, Tick: 5}), &everyFull, testKinds), world(every, testKinds)},
		{"delta snapshot tick=6 base=5 ack=0: every field of the player changes, and the item's size", AppendBinaryDelta(AppendBinarySnapshotHeader(nil, SnapshotHeader{Tick: 6, Base: 5}), &everyDelta, testKinds), world(everyNext, testKinds)},
		{"pong time=1000 tick=42", AppendBinaryPong(nil, 1000, 42), ""},
		{"event tick=42 type=tagged data={\"it\":7,\"by\":2}", AppendBinaryEvent(nil, 42, "tagged", []byte(`{"it":7,"by":2}`)), ""},
		{"error code=malformed message=bad", AppendBinaryError(nil, &Error{Code: "malformed", Message: "bad"}), ""},
		{"redirect url=http://b.example/ room=castle seat=s3at", AppendBinaryRedirect(nil, "http://b.example/", "castle", "s3at"), ""},
	}
	var out strings.Builder
	for _, c := range cases {
		out.WriteString(c.name + "\n" + hex.EncodeToString(c.msg) + c.state + "\n\n")
	}
	path := filepath.Join("testdata", "golden.txt")
	if os.Getenv("ARENA_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with ARENA_UPDATE_GOLDEN=1 to create it)", err)
	}
	if out.String() != string(want) {
		t.Errorf("binary encoding changed; got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func FuzzParseBinary(f *testing.F) {
	f.Add(AppendBinaryInput(nil, 1, game.Up, 5))
	f.Add(AppendBinaryPing(nil, 7))
	f.Add([]byte{BinResync})
	f.Add([]byte{BinLeave})
	f.Add(AppendBinaryMessage(nil, 1, []byte(`{"a":1}`)))
	f.Add(AppendBinaryInput(nil, 3, 1, 0, -5, 7))
	f.Add([]byte{BinInput, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add(AppendBinaryResume(nil, "tok"))
	f.Add(AppendBinaryAuth(nil, "eyJ.a.b", "tok"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseBinary(data)
		if err != nil {
			if err.Code == "" || err.Message == "" {
				t.Fatalf("error without code or message: %+v", err)
			}
			return
		}
		if m.Buttons&^game.ButtonMask != 0 || (m.Kind == MsgInput && m.Seq == 0) {
			t.Fatalf("accepted invalid %+v", m)
		}
		// What parses re-encodes to the same bytes.
		var again []byte
		switch m.Kind {
		case MsgInput:
			again = AppendBinaryInputLag(nil, m.Seq, m.Buttons, m.Tick, m.Lag, m.Axes[:m.NAxes]...)
		case MsgGame:
			again = AppendBinaryMessage(nil, m.TypeIndex, m.Data)
		case MsgPing:
			again = AppendBinaryPing(nil, m.Time)
		case MsgResume:
			again = AppendBinaryResume(nil, m.Token)
		case MsgAuth:
			again = AppendBinaryAuth(nil, m.Access, m.Token)
		default:
			again = data[:1]
		}
		checkTokens(t, m)
		if m2, err := ParseBinary(again); err != nil || !reflect.DeepEqual(m2, m) {
			t.Fatalf("re-encoding %+v gave %+v, %v", m, m2, err)
		}
	})
}

func FuzzParseNativeJSON(f *testing.F) {
	f.Add([]byte(`{"t":"input","seq":1,"buttons":3,"tick":9}`))
	f.Add([]byte(`{"t":"ping","time":5}`))
	f.Add([]byte(`{"t":"leave"}`))
	f.Add([]byte(`{"t":1}`))
	f.Add([]byte(`{"t":"input","seq":1,"buttons":3,"T":"leave","seq":2}`))
	f.Add([]byte(`{"t":"resume","token":"tok"}`))
	f.Add([]byte(`{"t":"auth","token":"eyJ.a.b","resume":"tok"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseNativeJSON(data)
		if err != nil {
			if err.Code == "" || err.Message == "" {
				t.Fatalf("error without code or message: %+v", err)
			}
			return
		}
		checkTokens(t, m)
		if m.Buttons&^game.ButtonMask != 0 || (m.Kind == MsgInput && m.Seq == 0) {
			t.Fatalf("accepted invalid %+v", m)
		}
	})
}

// FuzzParseServerBinary feeds arbitrary bytes to the decoder Go clients use:
// it must never panic or allocate without bound.
func FuzzParseServerBinary(f *testing.F) {
	var d Delta
	Diff(&d, nil, randomWorld(rand.New(rand.NewPCG(1, 1)), 5))
	f.Add(AppendBinaryDelta(AppendBinarySnapshotHeader(nil, SnapshotHeader{Full: true, Tick: 1}), &d, testKinds))
	f.Add(AppendBinaryWelcome(nil, Welcome{Player: 1, Room: "r", Kinds: testKinds}))
	f.Add(AppendBinaryWelcome(nil, Welcome{Player: 1, Room: "r", Account: Account{ID: "a", Name: "ann"}, Kinds: testKinds}))
	f.Add(AppendBinaryPong(nil, 1, 2))
	f.Add([]byte{BinSnapshot, 0, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m ServerMessage
		m.Welcome.Kinds = testKinds
		_ = ParseServerBinary(&m, data)
		// A welcome's schema read back re-encodes to the same bytes.
		if m.Type == BinWelcome && ParseServerBinary(&m, data) == nil {
			if again := AppendBinaryWelcome(nil, m.Welcome); !bytes.Equal(again, data) {
				var m2 ServerMessage
				if err := ParseServerBinary(&m2, again); err != nil || !reflect.DeepEqual(m2.Welcome, m.Welcome) {
					t.Fatalf("welcome %+v re-encodes to what reads back as %+v, %v", m.Welcome, m2.Welcome, err)
				}
			}
		}
	})
}

// FuzzDeltaRoundTrip derives two worlds from the fuzzer's bytes and checks
// that the delta between them survives the wire.
func FuzzDeltaRoundTrip(f *testing.F) {
	f.Add(uint64(1), uint64(2), uint8(10))
	f.Add(uint64(99), uint64(7), uint8(0))
	f.Fuzz(func(t *testing.T, s1, s2 uint64, n uint8) {
		r := rand.New(rand.NewPCG(s1, s2))
		base := randomWorld(r, int(n))
		cur := evolve(r, base)
		var d Delta
		Diff(&d, base, cur)
		var m ServerMessage
		m.Welcome.Kinds = testKinds
		if err := ParseServerBinary(&m, AppendBinaryDelta(AppendBinarySnapshotHeader(nil, SnapshotHeader{Tick: 2, Base: 1}), &d, testKinds)); err != nil {
			t.Fatal(err)
		}
		if got := ApplyDecoded(nil, base, &m.Delta, testKinds); !equalWorlds(got, cur) {
			t.Fatalf("round trip differs")
		}
	})
}

// A spectator's welcome says so in a flag bit of its own, which decoders
// that know only the resumed bit read past; in JSON, a field.
func TestWelcomeWatching(t *testing.T) {
	for _, w := range []Welcome{
		{TickRate: 20, Room: "r", Mode: "dots", Watching: true, Kinds: dots.Kinds},
		{Player: 3, TickRate: 20, Room: "r", Mode: "dots", Token: "tok", Resumed: true, Kinds: dots.Kinds},
	} {
		b := AppendBinaryWelcome(nil, w)
		var m ServerMessage
		if err := ParseServerBinary(&m, b); err != nil {
			t.Fatal(err)
		}
		if m.Welcome.Watching != w.Watching || m.Welcome.Resumed != w.Resumed || m.Welcome.Player != w.Player || m.Welcome.Room != "r" || m.Welcome.Token != w.Token {
			t.Errorf("%+v reads back as %+v", w, m.Welcome)
		}
		var js struct {
			ID       uint32 `json:"id"`
			Resumed  bool   `json:"resumed"`
			Watching bool   `json:"watching"`
		}
		if err := json.Unmarshal(AppendJSONWelcome(nil, w), &js); err != nil || js.Watching != w.Watching || js.Resumed != w.Resumed || js.ID != uint32(w.Player) {
			t.Errorf("JSON welcome of %+v: %+v, %v", w, js, err)
		}
	}
}
