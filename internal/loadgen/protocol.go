package loadgen

import (
	"fmt"
	"slices"
	"sort"
)

// Direction is one of the four moves every protocol can send.
type Direction uint8

// Directions a simulated player moves in. Screen coordinates: y grows
// downward, so Up decreases y.
const (
	Up Direction = iota
	Down
	Left
	Right
)

var directionNames = [...]string{"UP", "DOWN", "LEFT", "RIGHT"}

func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return fmt.Sprintf("Direction(%d)", d)
}

// Moved reports whether going from (x0, y0) to (x1, y1) is a step in d.
func (d Direction) Moved(x0, y0, x1, y1 int) bool {
	switch d {
	case Up:
		return y1 < y0
	case Down:
		return y1 > y0
	case Left:
		return x1 < x0
	case Right:
		return x1 > x0
	}
	return false
}

// WebSocket message types, as RFC 6455 numbers their opcodes: the numbers
// Protocol.Move and Stateful.Input return, which gorilla/websocket and nbio
// both take as they are.
const (
	textMessage   = 1
	binaryMessage = 2
)

// Kind is what a server message is, as far as the load generator cares.
type Kind uint8

// Kinds of server messages.
const (
	KindOther  Kind = iota // anything else: notices, errors, …
	KindJoined             // the message that tells a player who it is
	KindState              // a world update
)

// A Protocol is how simulated players talk to one kind of server. Adding a
// wire format means adding a file that implements it and registers it with
// Register; the players, the scheduling and the measuring do not change.
//
// The generator reads every message into a reused buffer and hands only its
// first PeekLen bytes to Classify, so that players that do not measure
// latency never decode a state. Only probes hand a whole state to
// Self.Position.
type Protocol interface {
	// Name is how the -protocol flag names it.
	Name() string
	// URL returns the address a player of room dials. An empty room is the
	// server's default room.
	URL(base, room string) (string, error)
	// PeekLen is how many leading bytes of a message Classify needs.
	PeekLen() int
	// Classify tells what a message is from its first bytes (at most
	// PeekLen; fewer if the message is shorter).
	Classify(head []byte) Kind
	// Joined reads the player's identity from its KindJoined message.
	Joined(msg []byte) (Self, error)
	// Move returns the WebSocket message type and payload of a move. The
	// payload is shared: callers must not modify it.
	Move(d Direction) (messageType int, payload []byte)
}

// Self finds one player in the states of a server.
type Self interface {
	// Position returns where the player is in a KindState message, or false
	// if the state does not list it. It must not decode the whole state.
	Position(state []byte) (x, y int, ok bool)
}

var protocols = map[string]Protocol{}

// Register makes a protocol available by name. It panics on a duplicate.
func Register(p Protocol) {
	if _, dup := protocols[p.Name()]; dup {
		panic("loadgen: protocol " + p.Name() + " registered twice")
	}
	protocols[p.Name()] = p
}

// Lookup returns the protocol called name.
func Lookup(name string) (Protocol, error) {
	if p, ok := protocols[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("unknown protocol %q (have %v)", name, ProtocolNames())
}

// ProtocolNames lists the registered protocols, sorted.
func ProtocolNames() []string {
	names := make([]string, 0, len(protocols))
	for n := range protocols {
		names = append(names, n)
	}
	sort.Strings(names)
	return slices.Clip(names)
}
