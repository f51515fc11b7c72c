package server

import (
	"testing"

	"github.com/arena-server/arena/room"
)

// TestTheLastEventDropsThePendingState: room_over is a room's last word;
// a state offered before it, not yet written, must not follow it.
func TestTheLastEventDropsThePendingState(t *testing.T) {
	o := newOutbox(8)
	o.offerState(room.State{Snap: &room.Snapshot{Tick: 1}})
	o.push(room.GameEvent{Tick: 2, Type: "tagged"})
	var b batch
	o.take(&b)
	if !b.hasState || len(b.events) != 1 {
		t.Fatalf("an ordinary event: state %v, %d events; want both kept", b.hasState, len(b.events))
	}
	o.offerState(room.State{Snap: &room.Snapshot{Tick: 3}})
	o.push(room.GameEvent{Tick: 4, Type: "room_over", Last: true})
	o.take(&b)
	if b.hasState || len(b.events) != 1 {
		t.Errorf("after the last event: state %v, %d events; want only the event", b.hasState, len(b.events))
	}
}
