package room

import "github.com/arena-server/arena/game"

// funcHost is a Host of functions, for tests; each nil one does what
// noHost does, but for player IDs, which it counts from next (not past
// the IDs of a restored document) unless room is set.
type funcHost struct {
	idle        func() bool
	token       func(hash string, valid bool)
	seat        func(addr string, taken bool) bool
	full        func() bool
	over        func()
	result      func(Report)
	newPlayerID func() game.PlayerID
	save        func(game.Save, func(game.SaveResult))
	submit      func(game.Submission)
	next        game.PlayerID
	// room, if set, is the room hosted: its own counter hands out the
	// IDs instead, as noHost's would.
	room *Room
}

func (h *funcHost) Idle() bool { return h.idle != nil && h.idle() }

func (h *funcHost) Token(hash string, valid bool) {
	if h.token != nil {
		h.token(hash, valid)
	}
}

func (h *funcHost) Seat(addr string, taken bool) bool {
	return h.seat == nil || h.seat(addr, taken)
}

func (h *funcHost) Full() bool { return h.full != nil && h.full() }

func (h *funcHost) Over() {
	if h.over != nil {
		h.over()
	}
}

func (h *funcHost) Result(rep Report) {
	if h.result != nil {
		h.result(rep)
	}
}

func (h *funcHost) NewPlayerID() game.PlayerID {
	if h.newPlayerID != nil {
		return h.newPlayerID()
	}
	if h.room != nil {
		return noHost{h.room}.NewPlayerID()
	}
	h.next++
	return h.next
}

func (h *funcHost) Submit(s game.Submission) {
	if h.submit != nil {
		h.submit(s)
	}
}

func (h *funcHost) Save(s game.Save, done func(game.SaveResult)) {
	if h.save != nil {
		h.save(s, done)
		return
	}
	noHost{}.Save(s, done)
}
