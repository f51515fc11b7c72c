package game

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Bounds of a game event, so that a game's messages stay small and their
// type is a safe identifier on every wire.
const (
	MaxEventType = 32
	MaxEventData = 1024
)

// Event is a message a game sends to players, beside the entities: "you
// were tagged", "round over". Type is the game's name for it, 1 to
// MaxEventType bytes of [a-z0-9_]; Data is a JSON object of the game's
// choosing, at most MaxEventData bytes (empty means {}).
type Event struct {
	Type string
	Data []byte
}

// Queued is an event as the room takes it from the queue. To is nil for
// an event to everyone.
type Queued struct {
	To    []PlayerID
	Event Event
}

// Events is the queue through which a game sends events (Config.Events).
// The room drains it after every Step and delivers what the game sent,
// in order, before the state of that tick. Events sent outside Step (in
// Join or Leave) go out after the next Step. An invalid event is a bug in
// the game: it is dropped and logged once, never delivered. A nil *Events
// drops everything, so a game built without a room needs no queue.
type Events struct {
	queue  []Queued
	log    *slog.Logger
	logged bool
}

// NewEvents returns an empty queue that logs invalid events to log (nil:
// slog.Default()).
func NewEvents(log *slog.Logger) *Events {
	if log == nil {
		log = slog.Default()
	}
	return &Events{log: log}
}

// To sends e to one player.
func (q *Events) To(id PlayerID, e Event) { q.push([]PlayerID{id}, e) }

// ToPlayers sends e to each of ids (a team, say).
func (q *Events) ToPlayers(ids []PlayerID, e Event) {
	if len(ids) > 0 {
		q.push(append([]PlayerID(nil), ids...), e)
	}
}

// ToAll sends e to every player in the room.
func (q *Events) ToAll(e Event) { q.push(nil, e) }

// Take returns the queued events and empties the queue. The room calls it.
func (q *Events) Take() []Queued {
	if q == nil {
		return nil
	}
	out := q.queue
	q.queue = nil
	return out
}

func (q *Events) push(to []PlayerID, e Event) {
	if q == nil {
		return
	}
	if err := CheckEvent(e); err != nil {
		if !q.logged {
			q.logged = true
			q.log.Error("game sent an invalid event; dropping it (logged once)", "type", e.Type, "err", err)
		}
		return
	}
	if len(e.Data) == 0 {
		e.Data = []byte("{}")
	}
	e.Data = append([]byte(nil), e.Data...) // the game may reuse its buffer
	q.queue = append(q.queue, Queued{To: to, Event: e})
}

// CheckEvent reports what is wrong with an event, if anything.
func CheckEvent(e Event) error {
	if len(e.Type) == 0 || len(e.Type) > MaxEventType {
		return fmt.Errorf("event type must be 1 to %d bytes, not %d", MaxEventType, len(e.Type))
	}
	for _, c := range []byte(e.Type) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return fmt.Errorf("event type %q has a byte outside [a-z0-9_]", e.Type)
		}
	}
	if len(e.Data) > MaxEventData {
		return fmt.Errorf("event data is %d bytes, more than %d", len(e.Data), MaxEventData)
	}
	if len(e.Data) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &obj); err != nil || obj == nil {
		return fmt.Errorf("event data is not a JSON object")
	}
	return nil
}

// Standing is one player's place in a result.
//
// Skill ratings are computed from the standings (package progress): their
// order is the places, best first, and players of equal Score next to
// each other tie. With teams, a team's place is that of its best-placed
// player, so a game puts the winning team's players first.
type Standing struct {
	Player PlayerID `json:"player"`
	Name   string   `json:"name"`
	Score  int64    `json:"score"`
	// Team is the player's team, for a mode with teams: players of one
	// team share its place and are rated as one side. 0: no team, the
	// player is a side of its own.
	Team int `json:"team,omitempty"`
	// Stats are the game's counts of the player (kills, deaths...), kept
	// in the match history and fed to leaderboards by name.
	Stats map[string]int64 `json:"stats,omitempty"`
}

// Result is how a game ended: a line for people and the standings, best
// first.
type Result struct {
	Summary   string     `json:"summary"`
	Standings []Standing `json:"standings"`
	// Game says which of its room's games this was: 1 for the first, 2
	// for the first rematch (Mode.Rematch), and so on. The room sets it;
	// a game leaves it zero. A room's results are told apart by it.
	Game int `json:"game,omitempty"`
	// Round says which part of its game a Scorer's result scores (a
	// round, from 1); 0 for the game's end.
	Round int `json:"round,omitempty"`
}

// Scorer is implemented by games scored in parts that do not end them,
// as blasters' rounds. The room asks after every Step, and reports each
// result it hands back as it does a finished game's (Host.Result: the
// history, ratings and leaderboards the program keeps), told apart by its
// Round; play goes on, and nobody is told the room is over.
type Scorer interface {
	Scored() []Result
}

// Ender is implemented by games that end. The room asks after every Step;
// once Over reports true, the room sends every connected player the state
// of that last tick, then a "room_over" event with the result. Then it
// closes their connections and stops, unless the mode asks for a rematch
// (Mode.Rematch): then it starts a new game with the same players after a
// pause.
type Ender interface {
	Over() (Result, bool)
}
