package room

import (
	"errors"

	"github.com/arena-server/arena/game"
)

// Client is how a room talks to one connected player. The room calls these
// methods from its own goroutine (and, to deliver a big room's states,
// from helpers within its tick; never two calls at once for one client), so
// they must never block: a connection writes what the socket takes at once
// and keeps the rest for later.
type Client interface {
	// State offers the newest view of the world. An older state that has not
	// been written yet is worthless now and may be replaced.
	State(State)
	// Event delivers a message that must arrive, in order. A client that
	// cannot keep up with events should disconnect itself.
	Event(Event)
	// Close ends the connection because of reason (one of this package's
	// errors, possibly wrapped).
	Close(reason error)
}

// State is one player's view of one tick.
type State struct {
	Snap *Snapshot
	// You is the receiving player.
	You game.PlayerID
	// Ack is the sequence number of the last input the room applied for
	// this player (0 before any).
	Ack uint32
}

// Event is a message a room sends to one player that must arrive: Seated or
// Notice.
type Event interface{ isEvent() }

// Seated is the first event a player receives after joining: the room's
// side of it. protocol.Welcome is how each wire protocol spells it.
type Seated struct {
	Player   game.PlayerID
	Token    string // presents this to resume after a dropped connection
	Room     string
	Mode     string
	World    game.World
	Axes     []game.Axis        // the mode's analog controls
	Messages []game.MessageType // the game messages the mode takes
	Kinds    []game.EntityKind  // the mode's kinds of entity
	TickRate int
	Resumed  bool // the player resumed an earlier session
	// Watching says the client is a spectator (JoinRequest.Watch): it
	// has no player (Player is 0) and no token.
	Watching bool
	// Account and Name are who the client is, for one of an account
	// (JoinRequest.Account): its account's ID, and its name as others see
	// it. Both empty for a guest.
	Account, Name string
}

// Notice tells a player something worth knowing that is not an error of
// theirs, such as why a resume did not happen.
type Notice struct {
	Code string // machine-readable, e.g. "token_expired"
	Text string
}

// MessageRefused tells a player that the game refused one of its
// messages, and why.
type MessageRefused struct {
	Type   string
	Reason string
}

// GameEvent is an event the game sent through game.Events, with the tick
// it was sent in, delivered before that tick's State.
type GameEvent struct {
	Tick uint64
	Type string
	Data []byte // a JSON object; shared by every recipient, read only
	// AfterState says the event comes after the state the client was
	// offered before it, where events usually overtake a state not yet
	// written: room_over follows the final tick's state.
	AfterState bool
	// Last marks the final event of a room (room_over, when the room
	// ends with its game): the connection gets nothing after it.
	Last bool
}

func (Seated) isEvent()         {}
func (MessageRefused) isEvent() {}
func (Notice) isEvent()         {}
func (GameEvent) isEvent()      {}

// Reasons a room refuses a join or ends a player's connection. Callers branch
// on them with errors.Is.
var (
	ErrRoomFull = errors.New("room is full")
	// ErrServerFull: the box has no CPU to spare for another player
	// (Host.Full).
	ErrServerFull = errors.New("the server is at capacity")
	// ErrNoPlayerID: a cluster's player IDs are out of reach for now
	// (NATS away, or this node's block used up before the next came).
	ErrNoPlayerID = errors.New("no player ID at hand; try again in a moment")
	// ErrTooManySeats: the client's address holds as many seats (connected
	// or away) as it may, in this room or on the server.
	ErrTooManySeats = errors.New("too many players from your address")
	ErrRoomClosed   = errors.New("room is closed")
	ErrRoomCrashed  = errors.New("room stopped after an internal error")
	ErrTakenOver    = errors.New("another connection resumed this player")
	ErrShutdown     = errors.New("server is shutting down")
	// ErrGameOver: the game ended (game.Ender) and the room stopped.
	ErrGameOver = errors.New("the game is over")
	// ErrPasswordRequired: the room has a password, and the join brought
	// no seat (JoinRequest.Seat) that a right password obtained.
	ErrPasswordRequired = errors.New("the room has a password: get a seat with it first")
	// ErrBadPassword: Manager.ReservePassword was given a wrong password.
	ErrBadPassword = errors.New("wrong password")
	// ErrResumeFailed: a join with JoinRequest.ResumeOnly brought a token
	// that resumes nobody in the room.
	ErrResumeFailed = errors.New("that session has expired or is unknown here; join again")
	// ErrTooManySpectators: the room has Config.MaxSpectators
	// spectators; one may leave.
	ErrTooManySpectators = errors.New("the room has as many spectators as it may")
	// ErrNoSpectators: the room's game shows each player a view of its
	// own (game.Viewer) and none to spectators (game.WatcherViewer).
	ErrNoSpectators = errors.New("this game mode takes no spectators")
	// ErrAuthRequired: the room's mode plays only with accounts
	// (game.AuthRequired), and the join did not sign in
	// (JoinRequest.SignedIn). A resume of a player already seated passes.
	ErrAuthRequired = errors.New("sign in to play here: connect with ?auth=1 and send your access token in an auth message first")
	// ErrAccountsOff: the join signed in, in a mode whose players do not
	// (game.AuthOff).
	ErrAccountsOff = errors.New("accounts are off in this game mode")
)

// RefusedError is a game's refusal of a player (game.Game.Join's error):
// its text is the game's own, for the player; game.ErrFull in it means the
// game had no room, which a later join or another room may find.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }

func (e *RefusedError) Unwrap() error { return e.Err }
