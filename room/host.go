package room

import "github.com/arena-server/arena/game"

// Host is what a room asks of whoever hosts it (a Manager, for its rooms):
// whether it may retire, where its tokens and seats are counted, whether
// the box has room for new players, and where its results go.
//
// Every method is called on the room's goroutine, and the room waits for
// it. Nothing the host does may block the room's goroutine: a network or
// database round trip happens elsewhere, and its answer comes back as a
// message.
type Host interface {
	// Idle says the room has been empty for its IdleTimeout. True
	// retires it: Run returns. False: it asks again after another
	// IdleTimeout.
	Idle() bool
	// Token is told when a player's resume token becomes valid (true)
	// and when it stops being (false), so that a resume can find the
	// room by token alone. It is given the token's hash (HashToken),
	// never the token.
	Token(hash string, valid bool)
	// Seat is told when an address takes a seat (taken true: false
	// refuses it, and the join is refused with ErrTooManySeats) and when
	// it frees one (the answer is ignored), so that seats can be bounded
	// across rooms.
	Seat(addr string, taken bool) bool
	// Full reports that the box has no CPU to spare: new players are
	// refused with ErrServerFull (players resuming are not new).
	Full() bool
	// Over is told when the room's game is over (game.Ender) and the room
	// ends for it (no Mode.Rematch), before its clients are closed, so
	// that new joins stop finding the room.
	Over()
	// Result is given the result of each game of the room that ends
	// (game.Ender), once, its Game numbering it (a room whose mode
	// rematches has many), with who played it.
	Result(Report)
	// NewPlayerID hands out a player ID, unique wherever the host says
	// (a Manager's process, a cluster).
	NewPlayerID() game.PlayerID
	// Save is given each save the room's game makes (game.Saver), after
	// the tick it made it in, to write elsewhere without delay. done
	// takes its outcome, from any goroutine, once: the room hands it to
	// the game at its next tick.
	Save(s game.Save, done func(game.SaveResult))
	// Submit is given each score the room's game submits (game.Submitter),
	// after the tick it made it in, to write elsewhere without delay.
	Submit(game.Submission)
}

// noHost hosts a room made alone (New without Config.Host): it never
// retires it, counts nothing beyond the room, is never full, drops its
// results, hands out room-local player IDs and keeps no player storage.
type noHost struct{ r *Room }

func (noHost) Idle() bool                   { return false }
func (noHost) Token(string, bool)           {}
func (noHost) Seat(string, bool) bool       { return true }
func (noHost) Full() bool                   { return false }
func (noHost) Over()                        {}
func (noHost) Result(Report)                {}
func (h noHost) NewPlayerID() game.PlayerID { h.r.nextID++; return h.r.nextID }

func (noHost) Submit(game.Submission) {}

func (noHost) Save(s game.Save, done func(game.SaveResult)) {
	done(game.SaveResult{Save: s, Err: ErrNoStorage})
}
