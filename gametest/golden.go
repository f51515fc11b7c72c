package gametest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Golden compares got, as JSON, with the file at path, rewriting the file
// first when ARENA_UPDATE_GOLDEN=1, and returns the file's contents. Rules
// that a client ports (a mode's movement, its walls) are pinned this way,
// and the client's tests read the same file, so the two sides cannot drift
// apart. A list is written one element a line, to keep the file small and
// its diffs readable.
func Golden(t *testing.T, path string, got any) []byte {
	t.Helper()
	data, err := marshalLines(got)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("ARENA_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (ARENA_UPDATE_GOLDEN=1 writes it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s is out of date with the rules (ARENA_UPDATE_GOLDEN=1 rewrites it; then update the browser's port)", path)
	}
	return want
}

func marshalLines(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		data, err := json.MarshalIndent(v, "", " ")
		return append(data, '\n'), err
	}
	out := []byte("[\n")
	for i := range rv.Len() {
		line, err := json.Marshal(rv.Index(i).Interface())
		if err != nil {
			return nil, err
		}
		out = append(out, line...)
		if i < rv.Len()-1 {
			out = append(out, ',')
		}
		out = append(out, '\n')
	}
	return append(out, "]\n"...), nil
}
