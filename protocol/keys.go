package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
)

// checkKeys refuses a JSON object whose top-level keys are ambiguous:
// encoding/json takes the last of duplicate keys and matches names without
// regard to case, so {"t":"input","T":"leave"} would be read as a leave
// that another parser (a proxy, a log filter) reads as an input. known are
// the field names the decoder looks at. obj must be valid JSON starting
// with '{'.
func checkKeys(obj []byte, known ...string) *Error {
	var seen [8]string // the messages are small: no allocation in the usual case
	keys := seen[:0]
	i := 1
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return nil
		}
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		end := stringEnd(obj, i)
		key := unquoteKey(obj[i:end])
		for _, k := range keys {
			if k == key {
				return errorf(CodeBadRequest, "duplicate key %s", truncate(obj[i:end]))
			}
		}
		for _, k := range known {
			if k != key && strings.EqualFold(k, key) {
				return errorf(CodeBadRequest, "key %s must be spelled %q", truncate(obj[i:end]), k)
			}
		}
		keys = append(keys, key)
		i = skipSpace(obj, end)
		i = valueEnd(obj, skipSpace(obj, i+1)) // past the colon and the value
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = stringEnd(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}

// unquoteKey decodes a quoted key; escapes ("\u0074" is "t") are rare, so
// only they pay for a decoder.
func unquoteKey(q []byte) string {
	if len(q) >= 2 && bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1])
	}
	var s string
	_ = json.Unmarshal(q, &s) // obj is valid JSON, so q is a valid string
	return s
}
