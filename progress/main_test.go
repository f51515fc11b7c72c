package progress

import (
	"os"
	"testing"

	"github.com/arena-server/arena/internal/pgtest"
)

// TestMain stops the PostgreSQL server the tests started, if any.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
