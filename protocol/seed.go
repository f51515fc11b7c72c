package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/arena-server/arena/game"
)

// The seed protocol, exactly as the original demo spoke it (JSON text
// frames; fields beyond these may be added, none removed or renamed):
//
//	server → client  {"type":"init","id":"7"}
//	server → client  {"type":"state_update","players":[{"id":"7","x":120,"y":45,"color":"#a1b2c3"}, …]}
//	client → server  {"type":"move","direction":"UP"|"DOWN"|"LEFT"|"RIGHT"}
//
// arena adds, which seed clients ignore:
//
//	server → client  {"type":"error","code":"…","message":"…"}
//	server → client  {"type":"notice","code":"…","message":"…"}
//	init carries "token" (to resume after a dropped connection) and "room".
//	client → server  {"type":"leave"}: leave for good, no resume.
//	client → server  {"type":"resume","token":"…"}: first message of a
//	                 connection opened with ?resume=1.
//	client → server  {"type":"auth","token":"…","resume":"…"}: first
//	                 message of a connection opened with ?auth=1: an
//	                 access token, and optionally a resume token.
//	init carries "account":{"id","name"} for a player of an account.

// seedMessage is a client message of the seed protocol. Fields are kept raw
// so that a wrong type ("type": 3) is told apart from a missing field.
type seedMessage struct {
	Type      json.RawMessage `json:"type"`
	Direction json.RawMessage `json:"direction"`
	Token     json.RawMessage `json:"token"`
	Resume    json.RawMessage `json:"resume"`
}

// seedMoves are the moves exactly as the seed's client sends them, twenty
// times a second per player: recognised without a JSON decoder.
var seedMoves = map[string]game.Buttons{
	`{"type":"move","direction":"UP"}`:    game.Up,
	`{"type":"move","direction":"DOWN"}`:  game.Down,
	`{"type":"move","direction":"LEFT"}`:  game.Left,
	`{"type":"move","direction":"RIGHT"}`: game.Right,
}

// ParseSeed decodes one text message from a seed-protocol client: a move
// (one step in a direction) or arena's leave.
func ParseSeed(data []byte) (ClientMessage, *Error) {
	if b, ok := seedMoves[string(data)]; ok { // no allocation: the compiler looks up without converting
		return ClientMessage{Kind: MsgInput, Buttons: b, Once: true}, nil
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !json.Valid(trimmed) {
		return ClientMessage{}, errorf(CodeInvalidJSON, "message is not valid JSON")
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ClientMessage{}, errorf(CodeNotObject, "message must be a JSON object")
	}
	if err := checkKeys(trimmed, "type", "direction", "token", "resume"); err != nil {
		return ClientMessage{}, err
	}
	var m seedMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return ClientMessage{}, errorf(CodeInvalidJSON, "message is not valid JSON")
	}
	typ, ok := jsonString(m.Type)
	if !ok {
		return ClientMessage{}, errorf(CodeMissingType, `message needs a "type" string`)
	}
	switch typ {
	case "move":
	case "leave":
		return ClientMessage{Kind: MsgLeave}, nil
	case "resume":
		var token *string
		if t, ok := jsonString(m.Token); ok {
			token = &t
		}
		return parseResume(token)
	case "auth":
		var access, resume *string
		if t, ok := jsonString(m.Token); ok {
			access = &t
		}
		if len(m.Resume) > 0 && string(m.Resume) != "null" {
			t, ok := jsonString(m.Resume)
			if !ok {
				return ClientMessage{}, errorf(CodeMalformed, `auth's "resume" must be a string`)
			}
			resume = &t
		}
		return parseAuth(access, resume)
	default:
		return ClientMessage{}, errorf(CodeUnknownType, "unknown message type %s; this protocol accepts \"move\", \"leave\" and a first \"resume\" or \"auth\"", truncate(m.Type))
	}
	dir, ok := jsonString(m.Direction)
	if !ok {
		return ClientMessage{}, errorf(CodeMissingDirection, `move needs a "direction" string`)
	}
	b, ok := seedDirections[dir]
	if !ok {
		return ClientMessage{}, errorf(CodeUnknownDirection, "unknown direction %s; use UP, DOWN, LEFT or RIGHT", truncate(m.Direction))
	}
	return ClientMessage{Kind: MsgInput, Buttons: b, Once: true}, nil
}

var seedDirections = map[string]game.Buttons{
	"UP":    game.Up,
	"DOWN":  game.Down,
	"LEFT":  game.Left,
	"RIGHT": game.Right,
}

// jsonString unquotes raw if it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// truncate quotes at most 32 bytes of raw JSON for an error message, so that
// an error never echoes a large payload back.
func truncate(raw json.RawMessage) string {
	const max = 32
	if len(raw) <= max {
		return string(raw)
	}
	return string(raw[:max]) + "…"
}

// AppendSeedInit appends the init message that tells a player its id. token,
// room and account are arena's additions; empty ones are left out.
func AppendSeedInit(dst []byte, id game.PlayerID, token, room string, account Account) []byte {
	dst = append(dst, `{"type":"init","id":"`...)
	dst = strconv.AppendUint(dst, uint64(id), 10)
	dst = append(dst, '"')
	if token != "" {
		dst = append(dst, `,"token":`...)
		dst = appendJSONString(dst, token)
	}
	if room != "" {
		dst = append(dst, `,"room":`...)
		dst = appendJSONString(dst, room)
	}
	if account != (Account{}) {
		dst = append(dst, `,"account":{"id":`...)
		dst = appendJSONString(dst, account.ID)
		dst = append(dst, `,"name":`...)
		dst = appendJSONString(dst, account.Name)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// SeedColor returns which field of a mode's players the seed protocol
// shows as their colour: the Color field named "color", or -1 for none.
func SeedColor(kinds []game.EntityKind) int {
	if len(kinds) == 0 {
		return -1
	}
	k := &kinds[game.KindPlayer]
	if i := k.FieldIndex("color"); i >= 0 && k.Fields[i].Type == game.Color {
		return i
	}
	return -1
}

// AppendSeedState appends a state_update listing every connected player,
// coloured by field color (from SeedColor; -1 for a mode whose players
// have none, which then get a grey). Items and players who are away are
// not part of the seed's world.
func AppendSeedState(dst []byte, ents []game.Entity, color int) []byte {
	dst = append(dst, `{"type":"state_update","players":[`...)
	first := true
	for i := range ents {
		e := &ents[i]
		if e.Kind != game.KindPlayer || e.Away {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"id":"`...)
		dst = strconv.AppendUint(dst, uint64(e.ID), 10)
		dst = append(dst, `","x":`...)
		dst = strconv.AppendInt(dst, int64(e.X), 10)
		dst = append(dst, `,"y":`...)
		dst = strconv.AppendInt(dst, int64(e.Y), 10)
		dst = append(dst, `,"color":"`...)
		c := uint32(0x808080)
		if color >= 0 {
			c = uint32(e.Fields[color])
		}
		dst = AppendColor(dst, c)
		dst = append(dst, `"}`...)
	}
	return append(dst, "]}"...)
}

// AppendColor appends c as #rrggbb.
func AppendColor(dst []byte, c uint32) []byte {
	const hex = "0123456789abcdef"
	return append(dst, '#',
		hex[c>>20&15], hex[c>>16&15], hex[c>>12&15],
		hex[c>>8&15], hex[c>>4&15], hex[c&15])
}

// AppendSeedError appends an error answer: {"type":"error",...}.
func AppendSeedError(dst []byte, e *Error) []byte {
	return appendCodeMessage(dst, "type", "error", e.Code, e.Message)
}

// AppendSeedNotice appends a notice: {"type":"notice",...}.
func AppendSeedNotice(dst []byte, code, message string) []byte {
	return appendCodeMessage(dst, "type", "notice", code, message)
}

// appendCodeMessage appends {"<typeKey>":"<typ>","code":...,"message":...},
// the shape of errors and notices in both JSON protocols.
func appendCodeMessage(dst []byte, typeKey, typ, code, message string) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, typeKey...)
	dst = append(dst, `":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","code":`...)
	dst = appendJSONString(dst, code)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, message)
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string. encoding/json escapes what
// JSON requires and HTML-sensitive characters too, which is safe anywhere.
func appendJSONString(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil { // a string always marshals
		panic(err)
	}
	return append(dst, b...)
}
