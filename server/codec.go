package server

import (
	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// codec is one wire protocol as one connection speaks it. The reader
// goroutine calls decode; the writer goroutine calls the write methods, so a
// codec may keep writer-side state (a delta base) without locking. The write
// methods report the payload bytes they wrote.
type codec interface {
	// decode turns one client message into something the session acts on.
	decode(msgType int, data []byte) (protocol.ClientMessage, *protocol.Error)
	// writeEvent writes a room.Welcome, a room.Notice, a *protocol.Error or
	// a pong.
	writeEvent(ws *websocket.Conn, e any) (int, error)
	// writeState writes one state.
	writeState(ws *websocket.Conn, st room.State) (int, error)
}

// pong answers a client's ping.
type pong struct {
	clientTime uint32
	tick       uint64
}

// prepared is a message encoded and framed once, to be written to many
// connections.
type prepared struct {
	msg  *websocket.PreparedMessage
	size int
	err  error
}

func prepare(msgType int, data []byte) prepared {
	pm, err := websocket.NewPreparedMessage(msgType, data)
	return prepared{msg: pm, size: len(data), err: err}
}

func (p prepared) writeTo(ws *websocket.Conn) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	return p.size, ws.WritePreparedMessage(p.msg)
}

// seedCodec speaks the seed's JSON protocol.
type seedCodec struct {
	buf []byte
}

var _ codec = (*seedCodec)(nil)

func (c *seedCodec) decode(msgType int, data []byte) (protocol.ClientMessage, *protocol.Error) {
	if msgType != websocket.TextMessage {
		return protocol.ClientMessage{}, &protocol.Error{
			Code:    protocol.CodeBinaryUnsupported,
			Message: "this connection speaks the seed JSON protocol: send text frames",
		}
	}
	return protocol.ParseSeed(data)
}

func (c *seedCodec) writeEvent(ws *websocket.Conn, e any) (int, error) {
	switch e := e.(type) {
	case room.Welcome:
		c.buf = protocol.AppendSeedInit(c.buf[:0], e.Player, e.Token, e.Room)
	case room.Notice:
		c.buf = protocol.AppendSeedNotice(c.buf[:0], e.Code, e.Text)
	case *protocol.Error:
		c.buf = protocol.AppendSeedError(c.buf[:0], e)
	default:
		return 0, nil // the seed protocol has no pong
	}
	return len(c.buf), ws.WriteMessage(websocket.TextMessage, c.buf)
}

// seedStateKey memoizes a snapshot's seed encoding: every seed client sees
// the same state_update, so it is encoded and framed once per tick.
type seedStateKey struct{}

func (c *seedCodec) writeState(ws *websocket.Conn, st room.State) (int, error) {
	p := st.Snap.Memo(seedStateKey{}, func() any {
		return prepare(websocket.TextMessage, protocol.AppendSeedState(nil, st.Snap.Entities))
	}).(prepared)
	return p.writeTo(ws)
}
