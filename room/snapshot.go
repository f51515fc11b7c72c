package room

import (
	"sync"

	"github.com/arena-server/arena/game"
)

// Snapshot is the world as it stood after one tick. It is immutable once the
// room publishes it, so any number of connection writers may read it at once.
type Snapshot struct {
	// Tick counts the room's ticks, starting at 1.
	Tick uint64
	// View is the game's key of the view this is (0 for games that show
	// everyone the same). Tick and View together name a snapshot within a
	// room.
	View game.ViewKey
	// Kinds declares what the entities carry: the room's mode's kinds.
	Kinds []game.EntityKind
	// Entities is everything clients may see, by ascending ID.
	Entities []game.Entity

	mu   sync.Mutex
	memo []*memoEntry
}

type memoEntry struct {
	key   any
	once  sync.Once
	value any
}

// Memo returns the value cached under key, computing it with build on first
// use. Codecs use it to encode a snapshot once per distinct view however many
// clients receive it: the first writer to ask does the work, the others wait
// for it and share the result. key must be comparable.
func (s *Snapshot) Memo(key any, build func() any) any {
	s.mu.Lock()
	var e *memoEntry
	for _, m := range s.memo {
		if m.key == key {
			e = m
			break
		}
	}
	if e == nil {
		e = &memoEntry{key: key}
		s.memo = append(s.memo, e)
	}
	s.mu.Unlock()
	e.once.Do(func() { e.value = build() })
	return e.value
}
