package arenatest

import "github.com/arena-server/arena/internal/logbuf"

// LogBuffer collects what a server logs (a Run's stderr, a Config.Logger's
// handler) for a test to read while the server still writes: to check that
// a secret never appears in a log line, say.
type LogBuffer = logbuf.Buffer
