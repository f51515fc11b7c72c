package arenatest

import (
	"bytes"
	"sync"
)

// LogBuffer collects what a server logs (a Run's stderr, a Config.Logger's
// handler) for a test to read while the server still writes: to check that
// a secret never appears in a log line, say.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
