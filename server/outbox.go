package server

import (
	"github.com/arena-server/arena/room"
)

// outbox is what a connection sends next, once its socket takes more. The
// newest state is kept in a single slot and replaces an older state not yet
// written: a state is worthless once a newer one exists, so a slow client
// skips states rather than falling behind. Events (welcome, notices,
// errors) must all arrive, in order; they wait in a bounded queue, and a
// client that lets it overflow is too slow to keep and is disconnected.
// Its session's lock guards it.
type outbox struct {
	state     room.State
	hasState  bool
	events    []any
	maxEvents int
	overflow  bool
	coalesced uint64
	// The payload of the newest ping frame not yet answered. RFC 6455
	// lets an endpoint answer only the most recent of several pings.
	ping    [125]byte
	pingLen int
	hasPing bool
}

func newOutbox(maxEvents int) *outbox {
	return &outbox{maxEvents: maxEvents}
}

// offerState puts st in the state slot, replacing any unsent state.
func (o *outbox) offerState(st room.State) {
	if o.hasState {
		o.coalesced++
	}
	o.state, o.hasState = st, true
}

// push queues an event. It reports false, and marks the outbox overflowed,
// when the queue is full.
//
// The writer sends the queued events before the state, so an event
// overtakes a state offered before it and not yet written: a tick's
// events arrive before its state either way. An event that must follow
// that state (room.GameEvent.AfterState: room_over after the final tick)
// takes the state into the queue ahead of itself, where it can no longer
// be replaced, and the writer sends it in turn (a room.State in events).
func (o *outbox) push(e any) bool {
	ok := len(o.events) < o.maxEvents
	if !ok {
		o.overflow = true
		return false
	}
	if ge, isGame := e.(room.GameEvent); isGame && (ge.AfterState || ge.Last) && o.hasState {
		o.events = append(o.events, o.state)
		o.state, o.hasState = room.State{}, false
	}
	o.events = append(o.events, e)
	return true
}

// answerPing asks the writer to answer a ping frame with a pong carrying
// data (at most 125 bytes, as every control frame).
func (o *outbox) answerPing(data string) {
	o.pingLen = copy(o.ping[:], data)
	o.hasPing = true
}

// empty reports whether there is nothing to send.
func (o *outbox) empty() bool {
	return !o.hasState && len(o.events) == 0 && !o.hasPing && !o.overflow
}

// batch is everything an outbox held at one moment.
type batch struct {
	events    []any // events, and a state that must precede the next one
	state     room.State
	hasState  bool
	overflow  bool
	coalesced uint64 // states replaced since the previous take
	ping      []byte // answer with a pong frame carrying this
	hasPing   bool
}

// take empties the outbox into b, reusing b's event slice.
func (o *outbox) take(b *batch) {
	b.events = append(b.events[:0], o.events...)
	clear(o.events)
	o.events = o.events[:0]
	b.state, b.hasState = o.state, o.hasState
	o.state, o.hasState = room.State{}, false
	b.overflow = o.overflow
	b.coalesced, o.coalesced = o.coalesced, 0
	b.ping = append(b.ping[:0], o.ping[:o.pingLen]...)
	b.hasPing, o.hasPing = o.hasPing, false
}
