package loadgen

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

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
// snapshots. Each probe has its own. It keeps the whole state, because a
// change names its entity by its index in the state before it.
type nativeSelf struct {
	id          uint32
	state, next []game.Entity
	known       bool
	msg         protocol.ServerMessage
}

func (s *nativeSelf) Position(state []byte) (x, y int, ok bool) {
	if err := protocol.ParseServerBinary(&s.msg, state); err != nil || s.msg.Type != protocol.BinSnapshot {
		return 0, 0, false
	}
	base := s.state
	switch {
	case s.msg.Snapshot.Full:
		base = nil
	case !s.known:
		return 0, 0, false // a delta on a state this probe never had
	}
	s.next = protocol.ApplyDecoded(s.next[:0], base, &s.msg.Delta, s.msg.Welcome.Kinds)
	s.state, s.next = s.next, s.state
	s.known = true
	i, found := slices.BinarySearchFunc(s.state, s.id, func(e game.Entity, id uint32) int { return cmp.Compare(e.ID, id) })
	if !found {
		return 0, 0, false
	}
	return int(s.state[i].X), int(s.state[i].Y), true
}
