package game

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// Player storage is what a player keeps from game to game: JSON objects
// its account holds in named collections, under keys, which the server
// stores (package progress) and players read and write over HTTP. A game
// reads and writes them without waiting on the store:
//
//   - a mode names the collections it loads (Mode.Loads), and a joining
//     player with an account arrives with them (Player.Storage), read
//     before the join reaches the room;
//   - a game that saves (Saver) hands its writes to the room after each
//     tick, which passes them to a writer of the server's; a game that
//     wants to know how each went (SaveReporter) is told on its own
//     goroutine, at a later tick.

// StorageName reports whether s may name a collection or a key:
// 1 to 64 of A-Z a-z 0-9 _ . -, which travel in a URL's path as they are.
func StorageName(s string) bool { return storageName.MatchString(s) }

var storageName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// MaxLoads bounds how many collections a mode loads for a joining player.
const MaxLoads = 16

// Save is a write of one object of a player's storage, from a game.
type Save struct {
	// Account is the player's (Player.Account): only a player with an
	// account has storage.
	Account string
	// Collection and Key name the object (StorageName).
	Collection, Key string
	// Value is the object: JSON, at most the server's size for one
	// object (16 KiB).
	Value json.RawMessage
	// Public lets every signed-in player read the object; else only its
	// account does.
	Public bool
	// ServerOnly keeps the object from the player's own writes (over
	// HTTP): a record of what the game granted, which a client must not
	// forge. Else the player may write it too.
	ServerOnly bool
}

// SaveResult is how a Save went.
type SaveResult struct {
	Save
	// Version is the object's version after the write; 0 if it failed.
	Version int64
	// Err says why the write failed: the store is down, the value is too
	// large or not JSON, the account's storage is full, or there is no
	// storage on this server. The game may try again at a later tick.
	Err error
}

// ErrStorageUnavailable is what a SaveResult's Err wraps when the write
// may pass later: the store is down or behind, or the server is shutting
// down. Other errors are the write's own (too large, not JSON, the
// account full, no storage on this server) and will fail again.
var ErrStorageUnavailable = errors.New("player storage is unavailable; try again later")

// Saver is implemented by games that write players' storage. After each
// tick the room takes the writes the game made since the last (Join,
// Leave, messages and Step alike) and passes them on; the game never
// waits for the store. Saves returns them and forgets them; their Values
// are kept as they are (by the writer, and by the room for a rematch),
// so the game must not change their bytes afterwards.
//
// A write is applied as it comes: the last one of a key wins, whatever
// the player wrote over HTTP in between (the game is the authority on
// what it saves). Writes of one room reach the store in their order.
type Saver interface {
	Saves() []Save
}

// Submission is a score a game submits to a leaderboard for a player,
// beside what its results feed the mode's boards (Mode.Boards).
type Submission struct {
	// Account is the player's (Player.Account): only an account is ranked.
	Account string
	// Board is the leaderboard's ID: any mode's, or one the admin made.
	Board string
	// Score is submitted by the board's operator (best, set or incr).
	Score int64
}

// Submitter is implemented by games that submit scores themselves: a
// high score reached mid-game, say. After each tick the room takes the
// submissions the game made since the last and passes them on, as it does
// saves; the game never waits for the store, and a submission that fails
// (an unknown board or account, the store down) is logged, not retried.
type Submitter interface {
	Submissions() []Submission
}

// SaveReporter is implemented by Savers that want to know how each write
// went: Saved is called on the room's goroutine, before a later tick's
// Step, once for every Save, in the order they were written.
type SaveReporter interface {
	Saved(SaveResult)
}

// checkLoads reports what is wrong with a mode's Loads.
func checkLoads(mode string, loads []string) error {
	if len(loads) > MaxLoads {
		return fmt.Errorf("mode %s loads %d collections; at most %d", mode, len(loads), MaxLoads)
	}
	seen := map[string]bool{}
	for _, c := range loads {
		if !StorageName(c) {
			return fmt.Errorf("mode %s loads collection %q: a name is 1 to 64 of A-Z a-z 0-9 _ . -", mode, c)
		}
		if seen[c] {
			return fmt.Errorf("mode %s loads collection %s twice", mode, c)
		}
		seen[c] = true
	}
	return nil
}
