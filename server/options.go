package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/arena-server/arena/game"
)

// Mode options travel in the WebSocket URL under a prefix, so that they
// never collide with arena's own parameters (name, room, mode, token,
// resume), today's or tomorrow's, and so that the URL says which are the
// room's and which the player's.
const (
	roomOptionPrefix = "room." // ?room.cooldown=3: options of a room this join creates
	joinOptionPrefix = "join." // ?join.color=%23ff8800: the player's own options
)

// prefixed returns the query parameters named prefix+NAME as NAME→value.
// A parameter given twice is refused rather than one value picked.
func prefixed(q url.Values, prefix string) (map[string]string, error) {
	var opts map[string]string
	for k, vs := range q {
		name, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return nil, &game.OptionError{Option: name, Problem: "is given more than once"}
		}
		if opts == nil {
			opts = make(map[string]string)
		}
		opts[name] = vs[0]
	}
	return opts, nil
}

// jsonOptions decodes the "options" of a matchmaking request. Values may be
// JSON strings, numbers or booleans: {"cooldown":3} and {"cooldown":"3"}
// mean the same.
type jsonOptions map[string]string

func (o *jsonOptions) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*o = make(jsonOptions, len(raw))
	for k, v := range raw {
		var s string
		switch {
		case bytes.HasPrefix(v, []byte(`"`)):
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
		case bytes.Equal(v, []byte("true")), bytes.Equal(v, []byte("false")), isJSONNumber(v):
			s = string(v)
		default:
			return fmt.Errorf("option %q: a value is a string, a number or a boolean", k)
		}
		(*o)[k] = s
	}
	return nil
}

func isJSONNumber(v []byte) bool {
	var n json.Number
	return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) && json.Unmarshal(v, &n) == nil
}
