// Package logbuf is a log a test reads while a server still writes to it.
// It sits below every package, so that any package's tests can use it:
// arenatest.LogBuffer is this, for programs' tests.
package logbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what a server logs (a Run's stderr, a Config.Logger's
// handler) for a test to read while the server still writes: to check that
// a secret never appears in a log line, say.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
