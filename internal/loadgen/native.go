package loadgen

import (
	"errors"
	"fmt"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
)

// Native is arena's native binary protocol, arena.v1.bin (docs/protocol.md).
// Its players hold keys as state: they send an input only when what they
// hold changes, and the server keeps moving them in between. States are
// deltas, so finding oneself in one means following the chain: probes
// decode every state they receive; other players decode only their first,
// to learn where they spawned, and then just count bytes.
var Native Protocol = nativeProtocol{}

func init() { Register(Native) }

// A Stateful protocol numbers each player's inputs and holds keys as state.
// The generator's players of such a protocol send an input only when their
// held key changes, and a probe's move is a tap: a press and, at once, a
// release, which the server applies on two consecutive ticks.
type Stateful interface {
	Protocol
	// Subprotocols are the WebSocket subprotocols to ask for.
	Subprotocols() []string
	// Input encodes a player's seq-th input: holding d, or nothing.
	Input(seq uint32, d Direction, pressed bool) (messageType int, payload []byte)
}

type nativeProtocol struct{}

func (nativeProtocol) Name() string { return "native" }

func (nativeProtocol) Subprotocols() []string { return []string{protocol.SubprotocolBinary} }

func (nativeProtocol) URL(base, room string) (string, error) { return Seed.URL(base, room) }

func (nativeProtocol) PeekLen() int { return 1 }

func (nativeProtocol) Classify(head []byte) Kind {
	if len(head) == 0 {
		return KindOther
	}
	switch head[0] {
	case protocol.BinSnapshot:
		return KindState
	case protocol.BinWelcome:
		return KindJoined
	}
	return KindOther
}

func (nativeProtocol) Joined(msg []byte) (Self, error) {
	var m protocol.ServerMessage
	if err := protocol.ParseServerBinary(&m, msg); err != nil {
		return nil, fmt.Errorf("welcome: %w", err)
	}
	if m.Type != protocol.BinWelcome {
		return nil, errors.New("welcome: wrong message type")
	}
	self := &nativeSelf{id: uint32(m.Welcome.Player)}
	self.msg.Welcome.Kinds = m.Welcome.Kinds // how its snapshots encode entities
	return self, nil
}

var nativeButtons = [...]game.Buttons{Up: game.Up, Down: game.Down, Left: game.Left, Right: game.Right}

// Move is a one-off press, for callers that do not number inputs.
func (nativeProtocol) Move(d Direction) (int, []byte) {
	return binaryMessage, protocol.AppendBinaryInput(nil, 1, nativeButtons[d], 0)
}

// FireInput holds d and the action button, aiming at aim (the first
// axis, in milliradians).
func (nativeProtocol) FireInput(seq uint32, d Direction, aim int32) (int, []byte) {
	return binaryMessage, protocol.AppendBinaryInput(nil, seq, nativeButtons[d]|game.Action, 0, aim)
}

func (nativeProtocol) Input(seq uint32, d Direction, pressed bool) (int, []byte) {
	var b game.Buttons
	if pressed {
		b = nativeButtons[d]
	}
	return binaryMessage, protocol.AppendBinaryInput(nil, seq, b, 0)
}

// nativeSelf follows one player's position through the chain of
// snapshots. Each probe has its own.
type nativeSelf struct {
	id    uint32
	x, y  int32
	known bool
	msg   protocol.ServerMessage
}

func (s *nativeSelf) Position(state []byte) (x, y int, ok bool) {
	if err := protocol.ParseServerBinary(&s.msg, state); err != nil || s.msg.Type != protocol.BinSnapshot {
		return 0, 0, false
	}
	d := &s.msg.Delta
	if s.msg.Snapshot.Full {
		s.known = false
	}
	for _, e := range d.Added {
		if e.ID == s.id {
			s.x, s.y, s.known = e.X, e.Y, true
		}
	}
	for _, c := range d.Changed {
		if c.Entity.ID != s.id {
			continue
		}
		if c.Mask&protocol.MaskX != 0 {
			s.x += c.Entity.X
		}
		if c.Mask&protocol.MaskY != 0 {
			s.y += c.Entity.Y
		}
	}
	for _, id := range d.Removed {
		if id == s.id {
			s.known = false
		}
	}
	return int(s.x), int(s.y), s.known
}
