package protocol

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/arena-server/arena/game"
)

// nativeJSONMessage is a client message of arena.v1.json.
type nativeJSONMessage struct {
	T       *string         `json:"t"`
	Seq     *uint64         `json:"seq"`
	Buttons *uint64         `json:"buttons"`
	Tick    uint64          `json:"tick"`
	Lag     uint64          `json:"lag"`
	Time    uint32          `json:"time"`
	Token   *string         `json:"token"`
	Resume  *string         `json:"resume"`
	Axes    []int64         `json:"axes"`
	Type    *string         `json:"type"`
	Data    json.RawMessage `json:"data"`
}

// ParseNativeJSON decodes one text message from an arena.v1.json client.
func ParseNativeJSON(data []byte) (ClientMessage, *Error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !json.Valid(trimmed) {
		return ClientMessage{}, errorf(CodeInvalidJSON, "message is not valid JSON")
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ClientMessage{}, errorf(CodeNotObject, "message must be a JSON object")
	}
	if err := checkKeys(trimmed, "t", "seq", "buttons", "tick", "lag", "time", "token", "resume", "axes", "type", "data"); err != nil {
		return ClientMessage{}, err
	}
	var m nativeJSONMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return ClientMessage{}, errorf(CodeMalformed, "a field has the wrong type: %v", err)
	}
	if m.T == nil {
		return ClientMessage{}, errorf(CodeMissingType, `message needs a "t" string`)
	}
	switch *m.T {
	case "input":
		if m.Seq == nil || *m.Seq == 0 || *m.Seq > 1<<32-1 {
			return ClientMessage{}, errorf(CodeMalformed, `input needs "seq", from 1, fitting 32 bits`)
		}
		if m.Buttons == nil {
			return ClientMessage{}, errorf(CodeMalformed, `input needs "buttons"`)
		}
		if *m.Buttons&^uint64(game.ButtonMask) != 0 {
			return ClientMessage{}, errorf(CodeBadButtons, "unknown buttons %#x", *m.Buttons)
		}
		msg := ClientMessage{Kind: MsgInput, Seq: uint32(*m.Seq), Buttons: game.Buttons(*m.Buttons), Tick: m.Tick, Lag: uint32(min(m.Lag, MaxLag))}
		if len(m.Axes) > game.MaxAxes {
			return ClientMessage{}, errorf(CodeBadInput, `input has %d "axes"; at most %d`, len(m.Axes), game.MaxAxes)
		}
		for i, v := range m.Axes {
			if v < math.MinInt32 || v > math.MaxInt32 {
				return ClientMessage{}, errorf(CodeBadInput, "axis %d does not fit 32 bits", i)
			}
			msg.Axes[i] = int32(v)
		}
		msg.NAxes = len(m.Axes)
		return msg, nil
	case "ping":
		return ClientMessage{Kind: MsgPing, Time: m.Time}, nil
	case "resync":
		return ClientMessage{Kind: MsgResync}, nil
	case "leave":
		return ClientMessage{Kind: MsgLeave}, nil
	case "resume":
		return parseResume(m.Token)
	case "auth":
		return parseAuth(m.Token, m.Resume)
	case "message":
		if m.Type == nil || m.Data == nil {
			return ClientMessage{}, errorf(CodeMalformed, `a message needs a "type" string and "data"`)
		}
		return ClientMessage{Kind: MsgGame, TypeIndex: -1, TypeName: *m.Type, Data: bytes.Clone(m.Data)}, nil
	}
	t, _ := json.Marshal(*m.T)
	return ClientMessage{}, errorf(CodeUnknownType, "unknown message type %s", truncate(t))
}

// AppendJSONWelcome appends the welcome message of arena.v1.json.
func AppendJSONWelcome(dst []byte, w Welcome) []byte {
	dst = append(dst, `{"t":"welcome","v":`...)
	dst = strconv.AppendInt(dst, NativeVersion, 10)
	dst = append(dst, `,"id":`...)
	dst = strconv.AppendUint(dst, uint64(w.Player), 10)
	dst = append(dst, `,"tick_rate":`...)
	dst = strconv.AppendInt(dst, int64(w.TickRate), 10)
	dst = append(dst, `,"world":{"w":`...)
	dst = strconv.AppendInt(dst, int64(w.World.Width), 10)
	dst = append(dst, `,"h":`...)
	dst = strconv.AppendInt(dst, int64(w.World.Height), 10)
	dst = append(dst, `},"resumed":`...)
	dst = strconv.AppendBool(dst, w.Resumed)
	if w.Watching {
		dst = append(dst, `,"watching":true`...)
	}
	dst = append(dst, `,"room":`...)
	dst = appendJSONString(dst, w.Room)
	dst = append(dst, `,"mode":`...)
	dst = appendJSONString(dst, w.Mode)
	dst = append(dst, `,"token":`...)
	dst = appendJSONString(dst, w.Token)
	if w.Account != (Account{}) {
		dst = append(dst, `,"account":{"id":`...)
		dst = appendJSONString(dst, w.Account.ID)
		dst = append(dst, `,"name":`...)
		dst = appendJSONString(dst, w.Account.Name)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"axes":[`...)
	for i, a := range w.Axes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = appendJSONString(dst, a.Name)
		dst = append(dst, `,"min":`...)
		dst = strconv.AppendInt(dst, int64(a.Min), 10)
		dst = append(dst, `,"max":`...)
		dst = strconv.AppendInt(dst, int64(a.Max), 10)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"messages":[`...)
	for i, t := range w.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		maxBytes, _, _ := t.Limits()
		dst = append(dst, `{"name":`...)
		dst = appendJSONString(dst, t.Name)
		dst = append(dst, `,"max_bytes":`...)
		dst = strconv.AppendInt(dst, int64(maxBytes), 10)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"kinds":`...)
	return append(appendJSONKinds(dst, w.Kinds), '}')
}

// jsonKind and jsonField are how a welcome lists a mode's kinds of entity
// in JSON. It is sent once a connection, so encoding/json serves.
type jsonKind struct {
	Name   string      `json:"name"`
	Fields []jsonField `json:"fields"`
	Texts  []jsonText  `json:"texts"`
}

type jsonField struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Bits   uint8    `json:"bits,omitempty"`
	Scale  int32    `json:"scale,omitempty"`
	Values []string `json:"values,omitempty"`
	Delta  bool     `json:"delta,omitempty"`
	Interp bool     `json:"interp,omitempty"`
}

type jsonText struct {
	Name   string `json:"name"`
	MaxLen int    `json:"max_len"`
}

func appendJSONKinds(dst []byte, kinds []game.EntityKind) []byte {
	out := make([]jsonKind, len(kinds))
	for i := range kinds {
		k := &kinds[i]
		out[i] = jsonKind{Name: k.Name, Fields: []jsonField{}, Texts: []jsonText{}}
		for j := range k.Fields {
			f := &k.Fields[j]
			jf := jsonField{Name: f.Name, Type: f.Type.String(), Scale: f.Scale, Values: f.Values, Delta: f.Delta, Interp: f.Interp}
			if f.Type == game.Int || f.Type == game.Uint {
				jf.Bits = width(f)
			}
			out[i].Fields = append(out[i].Fields, jf)
		}
		for j := range k.Texts {
			out[i].Texts = append(out[i].Texts, jsonText{Name: k.Texts[j].Name, MaxLen: textMax(&k.Texts[j])})
		}
	}
	b, err := json.Marshal(out)
	if err != nil { // plain strings and numbers always marshal
		panic(err)
	}
	return append(dst, b...)
}

// AppendJSONSnapshotHeader appends the per-recipient start of a snapshot; a
// body from AppendJSONDelta completes it.
func AppendJSONSnapshotHeader(dst []byte, h SnapshotHeader) []byte {
	dst = append(dst, `{"t":"snap","tick":`...)
	dst = strconv.AppendUint(dst, h.Tick, 10)
	if !h.Full {
		dst = append(dst, `,"base":`...)
		dst = strconv.AppendUint(dst, h.Base, 10)
	}
	dst = append(dst, `,"full":`...)
	dst = strconv.AppendBool(dst, h.Full)
	dst = append(dst, `,"ack":`...)
	dst = strconv.AppendUint(dst, uint64(h.Ack), 10)
	return append(dst, ',')
}

// AppendJSONDelta appends the shared body of a snapshot: removed IDs, added
// entities in full, and the changed fields of changed entities, with their
// new values, named as kinds declares them.
func AppendJSONDelta(dst []byte, d *Delta, kinds []game.EntityKind) []byte {
	if kinds == nil {
		kinds = game.BasicKinds
	}
	dst = append(dst, `"removed":[`...)
	for i, id := range d.Removed {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(id), 10)
	}
	dst = append(dst, `],"added":[`...)
	for i := range d.Added {
		if i > 0 {
			dst = append(dst, ',')
		}
		e := &d.Added[i]
		k := kindOf(kinds, e.Kind)
		dst = appendJSONEntity(dst, e, k, kindMask(k), true)
	}
	dst = append(dst, `],"changed":[`...)
	for i := range d.Changed {
		if i > 0 {
			dst = append(dst, ',')
		}
		c := &d.Changed[i]
		k := kindOf(kinds, c.Entity.Kind)
		dst = appendJSONEntity(dst, &c.Entity, k, wireMask(c, d.Old(c), k), false)
	}
	return append(dst, "]}"...)
}

// appendJSONEntity appends the parts of e in m, with their values: an
// added entity (full) names its kind and every field.
func appendJSONEntity(dst []byte, e *game.Entity, k *game.EntityKind, m Mask, full bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, uint64(e.ID), 10)
	if full {
		dst = append(dst, `,"kind":`...)
		dst = strconv.AppendUint(dst, uint64(e.Kind), 10)
	}
	if m&MaskX != 0 {
		dst = append(dst, `,"x":`...)
		dst = strconv.AppendInt(dst, int64(e.X), 10)
	}
	if m&MaskY != 0 {
		dst = append(dst, `,"y":`...)
		dst = strconv.AppendInt(dst, int64(e.Y), 10)
	}
	if m&MaskAway != 0 {
		dst = append(dst, `,"away":`...)
		dst = strconv.AppendBool(dst, e.Away)
	}
	for i := range k.Fields {
		if m&MaskField(i) == 0 {
			continue
		}
		f := &k.Fields[i]
		dst = append(dst, ',', '"')
		dst = append(dst, f.Name...) // names are [a-z0-9_]: no escaping
		dst = append(dst, '"', ':')
		dst = appendJSONValue(dst, f, e.Fields[i])
	}
	for j := range k.Texts {
		if m&MaskText(j) == 0 {
			continue
		}
		dst = append(dst, ',', '"')
		dst = append(dst, k.Texts[j].Name...)
		dst = append(dst, '"', ':')
		dst = appendJSONString(dst, truncateText(e.Texts[j], textMax(&k.Texts[j])))
	}
	return append(dst, '}')
}

// appendJSONValue appends what a field's value means: JSON clients get a
// fixed-point number as a number, a colour as #rrggbb, an enum by name.
func appendJSONValue(dst []byte, f *game.Field, v int32) []byte {
	switch f.Type {
	case game.Uint:
		return strconv.AppendUint(dst, uint64(uint32(v)), 10)
	case game.Fixed:
		return strconv.AppendFloat(dst, float64(v)/float64(f.Scale), 'f', -1, 64)
	case game.Float:
		x := float64(math.Float32frombits(uint32(v)))
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(dst, "null"...) // JSON has no such numbers
		}
		return strconv.AppendFloat(dst, x, 'g', -1, 32)
	case game.Bool:
		return strconv.AppendBool(dst, v != 0)
	case game.Enum:
		if int(uint32(v)) < len(f.Values) {
			return appendJSONString(dst, f.Values[v])
		}
		return strconv.AppendUint(dst, uint64(uint32(v)), 10)
	case game.Color:
		dst = append(dst, '"')
		return append(AppendColor(dst, uint32(v)), '"')
	}
	return strconv.AppendInt(dst, int64(v), 10)
}

// AppendJSONPong answers a ping.
func AppendJSONPong(dst []byte, clientTime uint32, tick uint64) []byte {
	dst = append(dst, `{"t":"pong","time":`...)
	dst = strconv.AppendUint(dst, uint64(clientTime), 10)
	dst = append(dst, `,"tick":`...)
	dst = strconv.AppendUint(dst, tick, 10)
	return append(dst, '}')
}

// AppendJSONError appends an error answer of arena.v1.json.
func AppendJSONError(dst []byte, e *Error) []byte {
	return appendCodeMessage(dst, "t", "error", e.Code, e.Message)
}

// AppendJSONRedirect appends a redirect of arena.v1.json (see
// AppendBinaryRedirect).
func AppendJSONRedirect(dst []byte, url, room, seat string) []byte {
	dst = append(dst, `{"t":"redirect","url":`...)
	dst = appendJSONString(dst, url)
	dst = append(dst, `,"room":`...)
	dst = appendJSONString(dst, room)
	dst = append(dst, `,"seat":`...)
	dst = appendJSONString(dst, seat)
	return append(dst, '}')
}

// AppendJSONNotice appends a notice of arena.v1.json.
func AppendJSONNotice(dst []byte, code, message string) []byte {
	return appendCodeMessage(dst, "t", "notice", code, message)
}

// AppendJSONEvent appends a game event of arena.v1.json; data must be a
// JSON object, and is written as it is.
func AppendJSONEvent(dst []byte, tick uint64, typ string, data []byte) []byte {
	dst = append(dst, `{"t":"event","tick":`...)
	dst = strconv.AppendUint(dst, tick, 10)
	dst = append(dst, `,"event":`...)
	dst = appendJSONString(dst, typ)
	dst = append(dst, `,"data":`...)
	dst = append(dst, data...)
	return append(dst, '}')
}

// parseResume checks the token of a JSON resume message (both JSON
// protocols).
func parseResume(token *string) (ClientMessage, *Error) {
	if token == nil {
		return ClientMessage{}, errorf(CodeMalformed, `resume needs a "token" string`)
	}
	if err := checkToken(*token); err != nil {
		return ClientMessage{}, err
	}
	return ClientMessage{Kind: MsgResume, Token: *token}, nil
}

// parseAuth checks an auth message's access token and its optional resume
// token (all three protocols).
func parseAuth(access, resume *string) (ClientMessage, *Error) {
	if access == nil {
		return ClientMessage{}, errorf(CodeMalformed, `auth needs a "token" string: the access token`)
	}
	if err := checkAccess(*access); err != nil {
		return ClientMessage{}, err
	}
	m := ClientMessage{Kind: MsgAuth, Access: *access}
	if resume != nil {
		if err := checkToken(*resume); err != nil {
			return ClientMessage{}, err
		}
		m.Token = *resume
	}
	return m, nil
}
