package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/arena-server/arena/game"
)

// Player storage in a room (see game/storage.go): a joining player's
// objects are loaded before its join reaches the room, on the joining
// connection's goroutine (Manager.join, with ManagerConfig.Load); a game's
// saves go from the room's goroutine to its host after each tick
// (Host.Save), which writes them elsewhere; their outcomes come back
// through a queue the room empties at its next tick, on its goroutine.
// The room never waits on the store.

var (
	// ErrStorageUnavailable refuses a new player whose storage, which its
	// mode loads (game.Mode.Loads), could not be read: seated with none,
	// it would play without its progress, and the game could save over
	// it. It may try again shortly. A resume is never refused for it: its
	// game has the player already.
	ErrStorageUnavailable = errors.New("player storage is unavailable right now; try again shortly")
	// ErrNoStorage is a save's outcome in a room whose host keeps no
	// player storage (a server without a store).
	ErrNoStorage = errors.New("this server keeps no player storage")
)

// Storage is a player's objects, by collection and key
// (game.Player.Storage).
type Storage = map[string]map[string]json.RawMessage

// LoadFunc reads an account's objects of the collections named
// (ManagerConfig.Load).
type LoadFunc func(ctx context.Context, account string, collections []string) (Storage, error)

// SaveFunc writes a game's save elsewhere and hands done its outcome,
// from any goroutine (ManagerConfig.Save). It must not block.
type SaveFunc func(s game.Save, done func(game.SaveResult))

// storageLoad is what a join has loaded, shared by the copies of its
// JoinRequest as the Manager tries room after room (overflow rooms, a
// quick-join's candidates), so that it is read once per mode.
type storageLoad struct {
	mode    string
	storage Storage
	err     error
}

// loadStorage sets req's Storage (or StorageErr) for a join of room r, on
// the joining connection's goroutine: for a player with an account, not
// a spectator, in a mode that loads collections, if the manager has a
// Load.
func (m *Manager) loadStorage(ctx context.Context, r *Room, req JoinRequest) JoinRequest {
	mode := r.cfg.Mode
	if m.cfg.Load == nil || req.Account == "" || req.Watch || len(mode.Loads) == 0 {
		return req
	}
	if req.loaded == nil {
		req.loaded = &storageLoad{}
	}
	if l := req.loaded; l.mode != mode.Name {
		l.mode = mode.Name
		l.storage, l.err = m.cfg.Load(ctx, req.Account, mode.Loads)
		if l.err != nil {
			m.cfg.Logger.Warn("player storage not loaded", "room", r.Name(), "account", req.Account, "err", l.err)
		}
	}
	req.Storage, req.StorageErr = req.loaded.storage, req.loaded.err
	return req
}

// checkStorage refuses a new player whose storage could not be loaded.
func (r *Room) checkStorage(req JoinRequest) error {
	if req.StorageErr != nil && len(r.cfg.Mode.Loads) > 0 {
		return fmt.Errorf("%w: %w", ErrStorageUnavailable, req.StorageErr)
	}
	return nil
}

// playerStorage is a game's own copy of a member's storage: the game may
// keep and change it without touching the member's.
func playerStorage(s Storage) Storage {
	if s == nil {
		return nil
	}
	c := make(Storage, len(s))
	for k, objs := range s {
		c[k] = maps.Clone(objs)
	}
	return c
}

// saveOutcome is a save's outcome on its way back to the room, with the
// number of the game that made it.
type saveOutcome struct {
	game int
	res  game.SaveResult
}

// outcomes holds saves' outcomes until the room's next tick: the host's
// writer adds to it from its goroutine without waiting on the room.
type outcomes struct {
	mu   sync.Mutex
	list []saveOutcome
}

func (o *outcomes) add(so saveOutcome) {
	o.mu.Lock()
	o.list = append(o.list, so)
	o.mu.Unlock()
}

func (o *outcomes) take(into []saveOutcome) []saveOutcome {
	o.mu.Lock()
	into = append(into, o.list...)
	clear(o.list)
	o.list = o.list[:0]
	o.mu.Unlock()
	return into
}

// drainSaves hands the host the saves the game made since the last call.
// It runs on the room's goroutine, after each tick, and as the room
// stops.
func (r *Room) drainSaves() {
	if sub, ok := r.game.(game.Submitter); ok {
		for _, s := range sub.Submissions() {
			r.cfg.Host.Submit(s)
		}
	}
	s, ok := r.game.(game.Saver)
	if !ok {
		return
	}
	number := r.number
	for _, sv := range s.Saves() {
		r.cfg.Host.Save(sv, func(res game.SaveResult) { r.saved.add(saveOutcome{number, res}) })
	}
}

// deliverSaved keeps the outcomes of the saves written since the last
// tick in the members' storage, for the games of a rematch, and tells the
// game that made them, if it is a game.SaveReporter and still the
// room's. It runs on the room's goroutine, before the game steps.
func (r *Room) deliverSaved() {
	r.savedNow = r.saved.take(r.savedNow[:0])
	if len(r.savedNow) == 0 {
		return
	}
	reporter, _ := r.game.(game.SaveReporter)
	for i, so := range r.savedNow {
		r.savedNow[i] = saveOutcome{} // drop the references
		if so.res.Err == nil {
			r.keepSaved(so.res.Save)
		}
		if reporter != nil && so.game == r.number {
			reporter.Saved(so.res)
		}
	}
}

// keepSaved puts a save that was written in the storage of the members
// of its account, if its collection is one the mode loads.
func (r *Room) keepSaved(sv game.Save) {
	if !slices.Contains(r.cfg.Mode.Loads, sv.Collection) {
		return
	}
	for _, m := range r.members {
		if m.account != sv.Account {
			continue
		}
		if m.storage == nil {
			m.storage = make(Storage)
		}
		c := m.storage[sv.Collection]
		if c == nil {
			c = make(map[string]json.RawMessage)
			m.storage[sv.Collection] = c
		}
		c[sv.Key] = sv.Value
	}
}
