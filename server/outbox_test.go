package server

import (
	"testing"

	"github.com/arena-server/arena/room"
)

// TestAnEventAfterItsStateTakesThePendingState: an ordinary event
// overtakes a state not yet written, but room_over follows the final
// tick's state: the state goes into the queue ahead of it, where no later
// state replaces it, and nothing is left in the slot to follow it.
func TestAnEventAfterItsStateTakesThePendingState(t *testing.T) {
	o := newOutbox(8)
	o.offerState(room.State{Snap: &room.Snapshot{Tick: 1}})
	o.push(room.GameEvent{Tick: 2, Type: "tagged"})
	var b batch
	o.take(&b)
	if !b.hasState || len(b.events) != 1 {
		t.Fatalf("an ordinary event: state %v, %d events; want both kept", b.hasState, len(b.events))
	}
	for _, last := range []bool{true, false} {
		o.offerState(room.State{Snap: &room.Snapshot{Tick: 4}})
		o.push(room.GameEvent{Tick: 4, Type: "room_over", AfterState: true, Last: last})
		o.take(&b)
		if b.hasState || len(b.events) != 2 {
			t.Fatalf("room_over (last %v): state in the slot %v, %d queued; want the state queued before the event", last, b.hasState, len(b.events))
		}
		st, isState := b.events[0].(room.State)
		ev, isEvent := b.events[1].(room.GameEvent)
		if !isState || st.Snap.Tick != 4 || !isEvent || ev.Type != "room_over" {
			t.Errorf("room_over (last %v): queued %#v, %#v; want the state of tick 4, then room_over", last, b.events[0], b.events[1])
		}
	}
	// With no state pending, the event is queued alone.
	o.push(room.GameEvent{Tick: 5, Type: "room_over", AfterState: true})
	o.take(&b)
	if b.hasState || len(b.events) != 1 {
		t.Errorf("room_over with nothing pending: state %v, %d queued", b.hasState, len(b.events))
	}
}
