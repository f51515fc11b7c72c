// Package game is the contract between arena's rooms and the rules of a game
// mode.
//
// A game is plain Go: it knows nothing of sockets, codecs, goroutines or
// clocks. A room owns one Game value and calls it from a single goroutine:
// Join and Leave as players come and go, then once per tick Step with the
// controls every player holds during that tick, then AppendEntities to learn
// what clients should see. Given the same calls and the same Config.Rand, a
// game must produce the same entities: that is what makes it testable without
// a network and replayable for client-side prediction.
package game

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// PlayerID identifies a player within one server process. It stays the same
// when a player reconnects.
type PlayerID uint32

// Buttons is the set of controls a player holds during one tick.
type Buttons uint8

// The controls a player can hold. Games give them meaning; opposite
// directions held together cancel out in the built-in modes.
const (
	Up Buttons = 1 << iota
	Down
	Left
	Right
	// Action is a general-purpose button (dash, shoot, ...) for games that
	// want one. The built-in dots mode ignores it.
	Action
)

// ButtonMask is every button a client may send. Bits outside it are invalid.
const ButtonMask = Up | Down | Left | Right | Action

// Step is how far the arrow buttons of b move something in one tick, per
// axis (y grows downward): straight along one axis, diagonal along each of
// two when two perpendicular directions are held, and opposite directions
// cancel. Every built-in mode moves this way, each at its own speeds.
func (b Buttons) Step(straight, diagonal int32) (dx, dy int32) {
	if b&Left != 0 {
		dx--
	}
	if b&Right != 0 {
		dx++
	}
	if b&Up != 0 {
		dy--
	}
	if b&Down != 0 {
		dy++
	}
	step := straight
	if dx != 0 && dy != 0 {
		step = diagonal
	}
	return dx * step, dy * step
}

// Input is what one player holds during one tick.
type Input struct {
	Player  PlayerID
	Buttons Buttons
	// Axes holds the player's analog controls, in the order the mode
	// declares them (Mode.Axes), each within its bounds. Undeclared ones
	// are zero.
	Axes [MaxAxes]int32
	// Behind is how many ticks behind the present the player saw the
	// world when it chose this input: its client's interpolation delay
	// plus half its round trip, at most MaxRewind's worth. A game with lag
	// compensation judges the player's shots against the world as it
	// stood Behind ticks ago.
	Behind int
}

// MaxRewindMillis bounds lag compensation: a player with a worse connection
// sees its shots judged as if it had 200 ms, so that a laggard cannot make
// everyone else get hit behind cover.
const MaxRewindMillis = 200

// MaxRewindTicks is MaxRewindMillis in ticks at tickRate, rounded down:
// the most Input.Behind ever is.
func MaxRewindTicks(tickRate int) int { return MaxRewindMillis * tickRate / 1000 }

// Axis is an analog control that a mode declares: an aim angle, a pointer
// position, a throttle. Clients send one value per declared axis with each
// input; the server refuses a value outside [Min, Max] with bad_input, so
// a game never sees one.
type Axis struct {
	// Name is how clients and docs call it, such as "aim".
	Name string
	// Min and Max bound the value, inclusive. A mode picks its own units:
	// a game that wants an angle in 1/1000 radians declares -3142..3142.
	Min, Max int32
}

// MaxAxes is how many analog controls a mode may declare: enough for a
// twin-stick game (move x, y; aim x, y), and small enough that an input
// stays a few bytes.
const MaxAxes = 4

// Kind says what an entity is, so that clients can draw it.
type Kind uint8

// Kinds of entities.
const (
	// KindPlayer is a player's avatar. Its entity ID equals its PlayerID.
	KindPlayer Kind = iota
	// KindItem is anything in the world that is not a player (a pellet, a
	// wall). Its entity ID must not collide with a player's: use ItemID.
	KindItem
)

// Entity is the public view of one thing in the world: everything a client
// may draw. It is a flat value type so that a snapshot is a plain slice
// copy. Fields and Texts mean what the mode's Kinds[Kind] declares; slots
// past the declared ones stay zero.
type Entity struct {
	ID   uint32 // a PlayerID for players, an ItemID for items
	Kind Kind
	// Away marks a player whose connection dropped and who may yet
	// resume. The room sets it; games do not need to.
	Away bool
	X, Y int32
	// Fields holds the kind's numeric fields, Fields[i] as Kinds[Kind].Fields[i]
	// declares it.
	Fields [MaxFields]int32
	// Texts holds the kind's string fields, as Kinds[Kind].Texts declares them.
	Texts [MaxTexts]string
}

// ItemID returns the entity ID of the n-th item of a game. Item IDs live in
// the upper half of the ID space, away from player IDs.
func ItemID(n uint32) uint32 { return 1<<31 | n }

// Player describes a player joining a game.
type Player struct {
	ID   PlayerID
	Name string
	// Account is who the player is to the program that runs arena, as its
	// join hook said (an opaque user ID), or empty for a player nobody
	// vouched for. No client can set or change it; it stays the player's
	// through resumes, moves and restores, and its results carry it.
	Account string
	// Options are the player's join options (Mode.JoinOptions), already
	// validated.
	Options Options
	// Storage holds the player's objects of the collections its mode
	// loads (Mode.Loads), by collection and key, as the player joined
	// (and, in the games of a rematch, with the game's successful saves
	// since): read before the join reached the room, so the game never
	// waits on the store. Nil for a player without an account, or in a
	// mode that loads nothing; a collection the player has nothing in is
	// absent. The game may keep it: it is the game's own copy.
	Storage map[string]map[string]json.RawMessage
}

// World describes the playing field, for clients to size their view.
type World struct {
	Width, Height int32
}

// Config is what a room gives a game it creates.
type Config struct {
	// Rand is the game's only source of randomness. The room seeds it, so a
	// game replays exactly given the same seed and the same calls.
	Rand *rand.Rand
	// TickRate is how many times per second Step is called.
	TickRate int
	// Options are the room's options (Mode.RoomOptions), already
	// validated, fixed for the room's life.
	Options Options
	// Events sends events to players. It may be nil (a game built outside
	// a room): its methods then do nothing.
	Events *Events
}

// Presence is implemented by games that want to know when a player's
// connection drops and when it comes back: to freeze the avatar, hand its
// role to someone else, or tell the others. Away is called when the
// connection drops and the room keeps the player for its resume grace;
// Back when the player resumes within it. A player who never comes back
// gets Leave, as one who leaves on purpose does (without Away first). A
// takeover by another connection of the same player is neither.
type Presence interface {
	Away(id PlayerID)
	Back(id PlayerID)
}

// ViewKey names one of a game's views of the world: a team, a fog-of-war
// area, a cell of an interest grid. Players whose View returns the same key
// see the same entities.
type ViewKey uint64

// Viewer is implemented by games in which players see different things:
// hidden cards, a team's fog of war, the part of a large world around
// them. Each tick, after Step, the room asks View for every connected
// player, then AppendView once per distinct key, and every player whose
// key is the same receives the same snapshot, encoded once. A world of
// 5,000 players that each see about 50 around them keys views by grid
// cell, so the cost is one view per occupied cell, not per player.
// Games that are not Viewers show everyone AppendEntities.
type Viewer interface {
	// View returns the key of what player id sees this tick.
	View(id PlayerID) ViewKey
	// AppendView appends what the view shows, sorted by ascending ID, and
	// returns the extended slice.
	AppendView(dst []Entity, key ViewKey) []Entity
}

// WatcherViewer is implemented by Viewers that show spectators (clients
// that join a room with ?spectate=1, and play no part) a view: each tick
// the room asks WatcherView for its key once, and every spectator
// receives the snapshot of that view, built with AppendView and shared
// with any player whose view has the same key. A Viewer that is not a
// WatcherViewer takes no spectators: its views hide things (cards, a
// team's fog of war), and a spectator's connection must not be a way
// around them. A game that is not a Viewer shows spectators
// AppendEntities, as it shows everyone.
type WatcherViewer interface {
	Viewer
	// WatcherView returns the key of what spectators see this tick.
	WatcherView() ViewKey
}

// Persistent is implemented by games whose whole state can be saved and
// restored: a room moves to another process with it, and a crashed one is
// restored from its last checkpoint. Export returns the state in a form of
// the game's choosing; Import replaces the state of a fresh game with one
// Export returned, or fails and changes nothing. The random source is not
// part of the state: whoever restores a game restores Config.Rand's source
// beside it, and then the game goes on exactly as the original would have.
type Persistent interface {
	Export() ([]byte, error)
	Import(state []byte) error
}

// BotFiller is a game that plays bots of its own in seats no player
// holds, for the rated matchmaker (Mode.BotsAfter). When the matchmaker
// starts a room short of players, the room calls FillBots with the
// room's size: from then on the game plays as many bots (entities of its
// own, no Player) as its players fall short of it, so that a player who
// arrives takes a bot's seat, and a bot takes the seat of one who
// leaves.
type BotFiller interface {
	FillBots(size int)
}

// Game is the rules of one game mode. A room calls its methods from one
// goroutine only; implementations need no locking.
type Game interface {
	// Join adds a player to the world. An error refuses the player (a game
	// may be full, say) and is shown to them.
	Join(p Player) error
	// Leave removes a player. It is called once for every successful Join.
	Leave(id PlayerID)
	// Step advances the world by one tick. inputs holds at most one Input
	// per player: the buttons it holds during this tick. A player without
	// an entry holds nothing. In a mode that declares axes, every connected
	// player has an entry, since its axes are held even at 0. The slice is
	// reused after Step returns.
	Step(inputs []Input)
	// AppendEntities appends what clients should see, sorted by ascending
	// ID, and returns the extended slice.
	AppendEntities(dst []Entity) []Entity
	// World describes the playing field.
	World() World
}

// Mode is a game mode that rooms can run.
type Mode struct {
	// Name is how clients ask for the mode (?mode=NAME).
	Name string
	// Description is one line for the lobby.
	Description string
	// New creates a game for a new room.
	New func(Config) Game
	// Axes are the mode's analog controls, at most MaxAxes. Nil: buttons
	// only.
	Axes []Axis
	// Messages are the message types players may send the game, which
	// must then implement Messenger. Nil: none.
	Messages []MessageType
	// RoomOptions are what a room's creator may choose (a round's length,
	// say); the game finds them in Config.Options. JoinOptions are what each
	// player may choose as it joins (a team, a colour): Player.Options.
	// Clients are refused values these do not allow.
	RoomOptions []Option
	JoinOptions []Option
	// MaxPlayers is the most players a room of the mode seats: a game of
	// two, of four teams of four. 0: as many as the server's room capacity
	// (-room-capacity). A room's capacity is the smaller of the two, and
	// quick-joins and matchmaking open a new room rather than join a full
	// one.
	MaxPlayers int
	// Kinds declares the mode's kinds of entity: Kinds[k] describes
	// entities of Kind k, Kinds[KindPlayer] the players. Nil means
	// BasicKinds: players and items with a position only.
	Kinds []EntityKind
	// Rematch is the pause between a game's end (Ender) and the next
	// one. A room of a mode that sets it does not close when its game
	// ends: it reports the result, waits Rematch (at least one tick),
	// and starts a new game (New, with the room's options and a new
	// seed drawn from the last game's random source) with the players
	// still seated, connected or away, who keep their IDs and tokens.
	// Zero: the room closes when its game ends.
	Rematch time.Duration
	// BotsAfter, if set, lets the rated matchmaker start a room of this
	// mode short of players for a player who waited that long, with bots
	// in the seats left: its game must be a BotFiller. Zero: a matched
	// room starts full.
	BotsAfter time.Duration
	// IdleTimeout is how long a room of this mode lives with nobody in
	// it, in place of the server's (-room-idle-timeout). Zero: the
	// server's.
	IdleTimeout time.Duration
	// KeepAlive keeps the rooms of this mode alive with nobody in them:
	// they are never retired for being empty (a lobby, a persistent
	// world). A room still closes when its game ends without a rematch.
	KeepAlive bool
	// Auth says whether players of this mode sign in with an account, in
	// place of the server's policy (-auth): a ranked mode that requires
	// accounts beside casual ones that do not. "": the server's.
	Auth AuthPolicy
	// Loads names the collections of player storage a joining player's
	// objects are loaded from, into Player.Storage (at most MaxLoads,
	// each a StorageName). A player whose storage cannot be read is
	// refused, to try again shortly, rather than seated with none: a game
	// that saw no progress would save over it.
	Loads []string
	// Boards are the leaderboards the mode's results feed (Board). Nil:
	// none.
	Boards []Board
}

// AuthPolicy says whether players sign in with an account (an access
// token, after ?auth=1) to play.
type AuthPolicy string

// The policies: a server's default is AuthOptional.
const (
	// AuthOptional: guests play, and players who sign in play as their
	// account.
	AuthOptional AuthPolicy = "optional"
	// AuthRequired: only players who sign in play, or watch; others are
	// refused with the final code auth_required.
	AuthRequired AuthPolicy = "required"
	// AuthOff: nobody signs in; a join that tries (?auth=1) is refused.
	AuthOff AuthPolicy = "off"
)

// Check reports whether p is a policy: one of the three, or "" (none of its
// own, for a mode).
func (p AuthPolicy) Check() error {
	switch p {
	case "", AuthOptional, AuthRequired, AuthOff:
		return nil
	}
	return fmt.Errorf("auth policy %q is not optional, required or off", string(p))
}

// EntityKinds returns the mode's kinds of entity.
func (m Mode) EntityKinds() []EntityKind {
	if m.Kinds == nil {
		return BasicKinds
	}
	return m.Kinds
}

// Check reports what is wrong with a mode's declaration, so that a server
// refuses to start with it rather than misbehave.
func (m Mode) Check() error {
	if m.Name == "" || m.New == nil {
		return errors.New("a game mode needs a Name and a New function")
	}
	if m.MaxPlayers < 0 {
		return fmt.Errorf("mode %s has MaxPlayers %d; 0 (the server's room capacity) or more", m.Name, m.MaxPlayers)
	}
	if len(m.Axes) > MaxAxes {
		return fmt.Errorf("mode %s declares %d axes; at most %d", m.Name, len(m.Axes), MaxAxes)
	}
	for i, a := range m.Axes {
		if a.Name == "" || a.Min > a.Max {
			return fmt.Errorf("mode %s: axis %d (%q) needs a name and Min <= Max", m.Name, i, a.Name)
		}
	}
	if m.Rematch < 0 || m.IdleTimeout < 0 {
		return fmt.Errorf("mode %s: Rematch and IdleTimeout cannot be negative", m.Name)
	}
	if err := m.Auth.Check(); err != nil {
		return fmt.Errorf("mode %s: %w", m.Name, err)
	}
	if err := checkLoads(m.Name, m.Loads); err != nil {
		return err
	}
	if len(m.Kinds) > 256 {
		return fmt.Errorf("mode %s declares %d kinds of entity; at most 256", m.Name, len(m.Kinds))
	}
	for i := range m.Kinds {
		if err := m.Kinds[i].Check(); err != nil {
			return fmt.Errorf("mode %s: %w", m.Name, err)
		}
	}
	seen := map[string]bool{}
	for _, t := range m.Messages {
		if err := t.check(); err != nil {
			return fmt.Errorf("mode %s: %w", m.Name, err)
		}
		if seen[t.Name] {
			return fmt.Errorf("mode %s declares message type %s twice", m.Name, t.Name)
		}
		seen[t.Name] = true
	}
	boards := map[string]bool{}
	for _, b := range m.Boards {
		if err := b.Check(); err != nil {
			return fmt.Errorf("mode %s: %w", m.Name, err)
		}
		if boards[b.ID] {
			return fmt.Errorf("mode %s declares board %s twice", m.Name, b.ID)
		}
		boards[b.ID] = true
	}
	return nil
}

// ErrFull is returned by Join when a game has no room for another player
// (wrap it to say why: fmt.Errorf("%w: team red has four", game.ErrFull)).
// The player is told room_full, with the game's text, and may try again or
// another room; any other error from Join is a final refusal, and the
// player is told the game's text with the code refused.
var ErrFull = errors.New("game is full")
