// Package progress is what players keep from game to game: their saved
// objects (storage), leaderboards, the history of their matches and their
// skill ratings, with the HTTP API that serves them. Its tables live in
// the store, beside the accounts they belong to.
//
// A room never waits on it: finished games reach it through Result, which
// queues them for a writer of its own, and what a game loads for a
// joining player is read before the join reaches the room.
package progress

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/store"
)

// Config configures a Service.
type Config struct {
	// DB is the store. Required.
	DB *store.DB
	// Accounts checks the bearer tokens of the API's requests. Required.
	Accounts *accounts.Service
	// Modes are the server's game modes: their boards and what they load.
	Modes []game.Mode
	// Log receives what goes wrong, by account ID only. Default:
	// slog.Default().
	Log *slog.Logger
}

// Service is the progress of one node's players.
type Service struct {
	cfg Config
	db  *store.DB
	log *slog.Logger

	saves saveWriter // storage.go: games' saves on their way to the store
	// boards is the leaderboards' part (boards.go).
	boards boardState
	// res is the results writer (results.go).
	res *resultWriter
}

// New returns the Service of cfg.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Accounts == nil {
		return nil, errors.New("progress: a store and accounts are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Service{cfg: cfg, db: cfg.DB, log: cfg.Log}
	if err := s.startBoards(ctx); err != nil {
		return nil, err
	}
	s.startResults()
	return s, nil
}

// Handler serves the API: each part of the package adds its routes.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	s.storageRoutes(mux)
	s.boardRoutes(mux)
	s.resultRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers hold players' data: no cache keeps them.
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// Close stops the Service's background work: the saves and results still
// queued are written first if the store takes them within a few seconds.
func (s *Service) Close() {
	s.saves.close()
	s.closeResults()
}
