package game

import (
	"fmt"
	"regexp"
)

// MessageType is a kind of message that players may send the game beside
// their inputs: a chat line, a vote, a purchase, a team change. Inputs are
// what a player holds, every tick; messages are things a player does once.
// A mode declares the types it takes; the server refuses any other, any
// larger than MaxBytes and any sent faster than Rate, before the game sees
// it.
type MessageType struct {
	// Name is how clients name it: 1 to 32 of a-z, 0-9 and _.
	Name string
	// MaxBytes bounds the message's data. Zero means 256; at most
	// MaxMessageBytes.
	MaxBytes int
	// Rate is how many a player may send each second, with bursts of
	// Burst. Zero means 5 a second, bursts of 10.
	Rate  float64
	Burst int
}

// MaxMessageBytes is the most data a message type may declare.
const MaxMessageBytes = 1024

// Limits returns the type's bounds with the defaults filled in.
func (t MessageType) Limits() (maxBytes int, rate float64, burst int) {
	maxBytes, rate, burst = t.MaxBytes, t.Rate, t.Burst
	if maxBytes == 0 {
		maxBytes = 256
	}
	if rate == 0 {
		rate, burst = 5, 10
	}
	return maxBytes, rate, max(burst, 1)
}

var messageName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func (t MessageType) check() error {
	switch {
	case !messageName.MatchString(t.Name):
		return fmt.Errorf("message type %q: a name is 1 to 32 of a-z, 0-9 and _", t.Name)
	case t.MaxBytes < 0 || t.MaxBytes > MaxMessageBytes:
		return fmt.Errorf("message type %s: MaxBytes %d out of 0..%d", t.Name, t.MaxBytes, MaxMessageBytes)
	case t.Rate < 0 || t.Burst < 0:
		return fmt.Errorf("message type %s: Rate and Burst cannot be negative", t.Name)
	}
	return nil
}

// Message is one message from a player, of a type the mode declares.
type Message struct {
	From PlayerID
	Type string
	// Data is a JSON value (a string, a number, an object...), already
	// checked to be valid JSON and within the type's MaxBytes. It is the
	// game's to keep.
	Data []byte
}

// Messenger is implemented by games that declare message types. The room
// calls Message before the Step of the tick in which the message arrived,
// in the order the messages arrived. An error refuses the message: the
// sender is told why (bad_message) and nothing else happens, so a game
// need not guard against players who send nonsense.
type Messenger interface {
	Message(m Message) error
}
