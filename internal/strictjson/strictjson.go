// Package strictjson decodes JSON that must mean one thing only.
//
// encoding/json takes the last of duplicate keys and matches struct fields
// without regard to case, so {"mode":"dots","MODE":"tag"} is read as tag
// where another reader (a proxy, a log filter, a client's own check) may
// read dots. Unmarshal refuses such a document instead of picking one.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// DuplicateKeyError is the error of an object that names a key twice, or
// holds two keys that differ only in case.
type DuplicateKeyError struct {
	// Path is the key's path from the top, "options.round"; an array's
	// elements are "list[]".
	Path string
	// Other is the path of the first key when its spelling differs.
	Other string
}

func (e *DuplicateKeyError) Error() string {
	if e.Other != "" {
		return fmt.Sprintf("keys %q and %q differ only in case", e.Other, e.Path)
	}
	return fmt.Sprintf("duplicate key %q", e.Path)
}

// Unmarshal is json.Unmarshal, but refuses, with a *DuplicateKeyError, an
// object at any depth that repeats a key or holds two keys that differ only
// in case.
func Unmarshal(data []byte, v any) error {
	if err := CheckKeys(data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// frame is an object or array being read.
type frame struct {
	object  bool
	wantKey bool              // the object's next token is a key or '}'
	path    string            // where it is, "" at the top
	keys    map[string]string // folded key → as spelled
}

// CheckKeys returns a *DuplicateKeyError for the first object in data that
// repeats a key, or the decoder's error if data is not JSON. It reads the
// first value only; json.Unmarshal refuses anything after it.
func CheckKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var stack []frame
	path := "" // the path of the next value
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey && tok != json.Delim('}') {
			top := &stack[n-1]
			key := tok.(string) // the decoder makes sure keys are strings
			path = join(top.path, key)
			folded := fold(key)
			if first, ok := top.keys[folded]; ok {
				e := &DuplicateKeyError{Path: path}
				if first != key {
					e.Other = join(top.path, first)
				}
				return e
			}
			if top.keys == nil {
				top.keys = make(map[string]string)
			}
			top.keys[folded] = key
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true, path: path})
			continue
		case json.Delim('['):
			stack = append(stack, frame{path: path})
			path += "[]"
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object wants its next key; an
		// array's next element has the same path as this one.
		if len(stack) == 0 {
			return nil
		}
		if top := &stack[len(stack)-1]; top.object {
			top.wantKey = true
		} else {
			path = top.path + "[]"
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fold maps the keys that encoding/json would match to one field to one
// string: each letter becomes the smallest of its simple case folds, as
// bytes.EqualFold compares them ("K", "k" and the Kelvin sign are one).
func fold(key string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, key)
}
