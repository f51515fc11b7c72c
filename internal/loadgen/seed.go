package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// Seed is the seed demo's JSON protocol, which both the seed's Python
// server and arena speak:
//
//	server → client  {"type":"init","id":"7"}
//	server → client  {"type":"state_update","players":[{"id":"7","x":120,"y":45,"color":"#a1b2c3"}, …]}
//	client → server  {"type":"move","direction":"UP"}
//
// The Python server writes JSON with a space after every ':' and ',' and
// arena writes none; everything here accepts both.
var Seed Protocol = seedProtocol{}

func init() { Register(Seed) }

type seedProtocol struct{}

func (seedProtocol) Name() string { return "seed" }

func (seedProtocol) URL(base, room string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", base, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return "", fmt.Errorf("server URL %q: want ws:// or wss://", base)
	}
	if room != "" {
		q := u.Query()
		q.Set("room", room)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// The type comes first in every message of both servers:
// `{"type": "state_update"` is 24 bytes.
func (seedProtocol) PeekLen() int { return 40 }

func (seedProtocol) Classify(head []byte) Kind {
	switch string(typeOf(head)) {
	case "state_update":
		return KindState
	case "init":
		return KindJoined
	}
	return KindOther
}

// typeOf returns the value of the first "type" key in head, if it is a
// string without escapes that ends within head.
func typeOf(head []byte) []byte {
	i := bytes.Index(head, []byte(`"type"`))
	if i < 0 {
		return nil
	}
	rest := skipSpace(head[i+len(`"type"`):])
	if len(rest) == 0 || rest[0] != ':' {
		return nil
	}
	rest = skipSpace(rest[1:])
	if len(rest) == 0 || rest[0] != '"' {
		return nil
	}
	rest = rest[1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil
	}
	return rest[:end]
}

func (seedProtocol) Joined(msg []byte) (Self, error) {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("init message: %w", err)
	}
	var id string
	if err := json.Unmarshal(m.ID, &id); err != nil {
		// The seed's ids are strings; accept a number too.
		var n json.Number
		if err := json.Unmarshal(m.ID, &n); err != nil {
			return nil, fmt.Errorf("init message %.60q: no string id", msg)
		}
		id = n.String()
	}
	if id == "" {
		return nil, errors.New("init message: empty id")
	}
	return seedSelf{quoted: []byte(strconv.Quote(id))}, nil
}

var seedMoves = func() (m [4][]byte) {
	for d := range m {
		m[d] = []byte(`{"type":"move","direction":"` + Direction(d).String() + `"}`)
	}
	return m
}()

func (seedProtocol) Move(d Direction) (int, []byte) {
	return textMessage, seedMoves[d]
}

// seedSelf finds a player's entry in a state_update by scanning for its
// quoted id used as the value of an "id" key, then reads only that entry's
// x and y.
type seedSelf struct {
	quoted []byte // "7", with the quotes
}

func (s seedSelf) Position(state []byte) (x, y int, ok bool) {
	for from := 0; ; {
		i := bytes.Index(state[from:], s.quoted)
		if i < 0 {
			return 0, 0, false
		}
		i += from
		end := i + len(s.quoted)
		if isValueOf(state[:i], `"id"`) {
			start := bytes.LastIndexByte(state[:i], '{') + 1
			stop := bytes.IndexByte(state[end:], '}')
			if stop < 0 {
				return 0, 0, false
			}
			entry := state[start : end+stop]
			x, okx := intField(entry, `"x"`)
			y, oky := intField(entry, `"y"`)
			return x, y, okx && oky
		}
		from = end
	}
}

// isValueOf reports whether before ends with key, optional space and a
// colon: that is, whether what follows it is key's value.
func isValueOf(before []byte, key string) bool {
	before = bytes.TrimRight(before, " \t\r\n")
	if len(before) == 0 || before[len(before)-1] != ':' {
		return false
	}
	before = bytes.TrimRight(before[:len(before)-1], " \t\r\n")
	return bytes.HasSuffix(before, []byte(key))
}

// intField returns the integer value of key in one flat JSON object. A
// fraction is truncated.
func intField(obj []byte, key string) (int, bool) {
	for from := 0; ; {
		i := bytes.Index(obj[from:], []byte(key))
		if i < 0 {
			return 0, false
		}
		rest := skipSpace(obj[from+i+len(key):])
		if len(rest) == 0 || rest[0] != ':' {
			from += i + len(key)
			continue
		}
		rest = skipSpace(rest[1:])
		neg := len(rest) > 0 && rest[0] == '-'
		if neg {
			rest = rest[1:]
		}
		n, digits := 0, 0
		for _, c := range rest {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
			digits++
		}
		if digits == 0 {
			return 0, false
		}
		if neg {
			n = -n
		}
		return n, true
	}
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}
