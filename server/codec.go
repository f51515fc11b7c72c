package server

import (
	"fmt"
	"sync/atomic"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// codec is one wire protocol as one connection speaks it. The session's
// message handler calls decode and requestFull; the write methods run under
// the session's write lock, so a codec keeps writer-side state (the delta
// base) without a lock of its own. The write methods report the payload
// bytes they wrote.
type codec interface {
	// decode turns one client message into something the session acts on.
	decode(msgType int, data []byte) (protocol.ClientMessage, *protocol.Error)
	// requestFull makes the next state a full snapshot.
	requestFull()
	// writeEvent writes a room.Seated, a room.Notice, a *protocol.Error or
	// a pong.
	writeEvent(w sink, e any) (int, error)
	// writeState writes one state.
	writeState(w sink, st room.State) (int, error)
	// redirects says whether the protocol can send a client to another
	// node (writeEvent of a redirectTo).
	redirects() bool
}

// redirectTo sends a client to the node of a cluster that runs its room.
type redirectTo struct{ url, room, seat string }

// sink is where a codec's messages go: the socket, or a delay line in front
// of it.
type sink interface {
	// writeMessage writes one message; data may be reused once it returns.
	writeMessage(msgType int, data []byte) error
	// writePrepared writes a message encoded once for many connections.
	writePrepared(p *prepared) error
}

// pong answers a client's ping.
type pong struct{ clientTime uint32 }

// seedCodec speaks the seed's JSON protocol.
type seedCodec struct {
	buf     []byte
	encoded func() // counts state encodings
}

var _ codec = (*seedCodec)(nil)

func (c *seedCodec) decode(msgType int, data []byte) (protocol.ClientMessage, *protocol.Error) {
	if msgType != textMessage {
		return protocol.ClientMessage{}, &protocol.Error{
			Code:    protocol.CodeBinaryUnsupported,
			Message: "this connection speaks the seed JSON protocol: send text frames",
		}
	}
	return protocol.ParseSeed(data)
}

// requestFull does nothing: every seed state is full.
func (c *seedCodec) requestFull() {}

// redirects is false: the seed's client knows of no redirect.
func (c *seedCodec) redirects() bool { return false }

func (c *seedCodec) writeEvent(w sink, e any) (int, error) {
	switch e := e.(type) {
	case room.Seated:
		c.buf = protocol.AppendSeedInit(c.buf[:0], e.Player, e.Token, e.Room, account(e))
	case room.Notice:
		c.buf = protocol.AppendSeedNotice(c.buf[:0], e.Code, e.Text)
	case *protocol.Error:
		c.buf = protocol.AppendSeedError(c.buf[:0], e)
	default:
		return 0, nil // the seed protocol has no pong and no game events
	}
	return len(c.buf), w.writeMessage(textMessage, c.buf)
}

// seedStateKey memoizes a snapshot's seed encoding: every seed client sees
// the same state_update, so it is encoded and framed once per tick.
type seedStateKey struct{}

func (c *seedCodec) writeState(w sink, st room.State) (int, error) {
	p := st.Snap.Memo(seedStateKey{}, func() any {
		c.encoded()
		return prepare(textMessage, protocol.AppendSeedState(nil, st.Snap.Entities, protocol.SeedColor(st.Snap.Kinds)))
	}).(*prepared)
	return len(p.data), w.writePrepared(p)
}

// nativeCodec speaks arena's native protocol, binary or JSON. Each state is
// a delta against the last state this connection actually wrote, so the
// latest-wins outbox may skip states without breaking the chain; the body of
// a delta is encoded once per distinct base and shared by every client that
// has the same base, and only a few header bytes (the ack) are per client.
type nativeCodec struct {
	json    bool
	last    *room.Snapshot // the last state written: the next delta's base
	full    atomic.Bool    // a full snapshot was asked for
	buf     []byte
	msgTyp  int
	encoded func() // counts state encodings
}

var _ codec = (*nativeCodec)(nil)

func newNativeCodec(json bool, encoded func()) *nativeCodec {
	c := &nativeCodec{json: json, msgTyp: binaryMessage, encoded: encoded}
	if json {
		c.msgTyp = textMessage
	}
	return c
}

func (c *nativeCodec) decode(msgType int, data []byte) (protocol.ClientMessage, *protocol.Error) {
	if msgType != c.msgTyp {
		if c.json {
			return protocol.ClientMessage{}, &protocol.Error{Code: protocol.CodeBinaryUnsupported, Message: "arena.v1.json takes text frames"}
		}
		return protocol.ClientMessage{}, &protocol.Error{Code: protocol.CodeTextUnsupported, Message: "arena.v1.bin takes binary frames"}
	}
	if c.json {
		return protocol.ParseNativeJSON(data)
	}
	return protocol.ParseBinary(data)
}

func (c *nativeCodec) requestFull() { c.full.Store(true) }

func (c *nativeCodec) redirects() bool { return true }

func (c *nativeCodec) writeEvent(w sink, e any) (int, error) {
	if r, ok := e.(room.MessageRefused); ok {
		e = refusalError(r) // an error answer like any other
	}
	b := c.buf[:0]
	switch e := e.(type) {
	case room.Seated:
		pw := protocol.Welcome{Player: e.Player, TickRate: e.TickRate, World: e.World, Resumed: e.Resumed, Watching: e.Watching, Room: e.Room, Mode: e.Mode, Token: e.Token, Account: account(e), Axes: e.Axes, Messages: e.Messages, Kinds: e.Kinds}
		if c.json {
			b = protocol.AppendJSONWelcome(b, pw)
		} else {
			b = protocol.AppendBinaryWelcome(b, pw)
		}
	case room.Notice:
		if c.json {
			b = protocol.AppendJSONNotice(b, e.Code, e.Text)
		} else {
			b = protocol.AppendBinaryNotice(b, e.Code, e.Text)
		}
	case room.GameEvent:
		if c.json {
			b = protocol.AppendJSONEvent(b, e.Tick, e.Type, e.Data)
		} else {
			b = protocol.AppendBinaryEvent(b, e.Tick, e.Type, e.Data)
		}
	case *protocol.Error:
		if c.json {
			b = protocol.AppendJSONError(b, e)
		} else {
			b = protocol.AppendBinaryError(b, e)
		}
	case redirectTo:
		if c.json {
			b = protocol.AppendJSONRedirect(b, e.url, e.room, e.seat)
		} else {
			b = protocol.AppendBinaryRedirect(b, e.url, e.room, e.seat)
		}
	case pong:
		var tick uint64
		if c.last != nil {
			tick = c.last.Tick
		}
		if c.json {
			b = protocol.AppendJSONPong(b, e.clientTime, tick)
		} else {
			b = protocol.AppendBinaryPong(b, e.clientTime, tick)
		}
	default:
		return 0, nil
	}
	c.buf = b
	return len(b), w.writeMessage(c.msgTyp, b)
}

// refusalError is how a client hears that the game refused its message.
func refusalError(r room.MessageRefused) *protocol.Error {
	return &protocol.Error{Code: protocol.CodeBadMessage, Message: fmt.Sprintf("the game refused your %s message: %s", r.Type, r.Reason)}
}

// deltaKey memoizes the body of a snapshot's delta from base (tick 0:
// full). A base is named by its tick and its view: players of a game with
// views per viewer may share a tick but not a base, and one who moved to
// another view (walked into another cell, say) diffs against the view it
// had.
type deltaKey struct {
	base uint64
	view game.ViewKey
	json bool
}

func (c *nativeCodec) writeState(w sink, st room.State) (int, error) {
	h := protocol.SnapshotHeader{Tick: st.Snap.Tick, Ack: st.Ack}
	var base *room.Snapshot
	if c.last != nil && !c.full.Swap(false) {
		base = c.last
		h.Base = base.Tick
	} else {
		h.Full = true
	}
	key := deltaKey{base: h.Base, json: c.json}
	if base != nil {
		key.view = base.View
	}
	body := st.Snap.Memo(key, func() any {
		c.encoded()
		var d protocol.Delta
		var from []game.Entity
		if base != nil {
			from = base.Entities
		}
		protocol.Diff(&d, from, st.Snap.Entities)
		if c.json {
			return protocol.AppendJSONDelta(nil, &d, st.Snap.Kinds)
		}
		return protocol.AppendBinaryDelta(nil, &d, st.Snap.Kinds)
	}).([]byte)
	if c.json {
		c.buf = protocol.AppendJSONSnapshotHeader(c.buf[:0], h)
	} else {
		c.buf = protocol.AppendBinarySnapshotHeader(c.buf[:0], h)
	}
	c.buf = append(c.buf, body...)
	if err := w.writeMessage(c.msgTyp, c.buf); err != nil {
		return 0, err
	}
	c.last = st.Snap
	return len(c.buf), nil
}

// account is the account a welcome tells its client, if it has one.
func account(e room.Seated) protocol.Account {
	if e.Account == "" {
		return protocol.Account{}
	}
	return protocol.Account{ID: e.Account, Name: e.Name}
}
