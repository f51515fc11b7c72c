package main

import (
	"os"
	"testing"

	"github.com/arena-server/arena/arenatest"
)

// TestMain lets a test run the real main in a child process.
func TestMain(m *testing.M) {
	if os.Getenv(arenatest.RunMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// The binary's options, signals and limits are package arena's and tested
// there; this checks what is cmd/arena's own: the modes it offers.
func TestOffersDotsByDefaultTagAndBlasters(t *testing.T) {
	_, addr := arenatest.StartMain(t, nil, "-host", "127.0.0.1", "-port", "0")
	if got, want := arenatest.ModeList(arenatest.Modes(t, addr)), "dots* tag blasters world"; got != want {
		t.Errorf("GET /api/modes lists %q; want %q", got, want)
	}
}
