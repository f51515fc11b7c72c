package server

import (
	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// codec is one wire protocol as one connection speaks it. The reader
// goroutine calls decode; the writer goroutine calls the write methods, so a
// codec may keep writer-side state (a delta base) without locking.
type codec interface {
	// decode turns one client message into something the session acts on.
	decode(msgType int, data []byte) (clientMessage, *protocol.Error)
	// writeEvent writes a room.Welcome, a room.Notice or a *protocol.Error.
	writeEvent(ws *websocket.Conn, e any) error
	// writeState writes one state.
	writeState(ws *websocket.Conn, st room.State) error
}

type messageKind uint8

const (
	msgInput messageKind = iota
)

// clientMessage is a decoded client message.
type clientMessage struct {
	kind  messageKind
	input room.Input
}

// seedCodec speaks the seed's JSON protocol.
type seedCodec struct {
	buf []byte
}

var _ codec = (*seedCodec)(nil)

func (c *seedCodec) decode(msgType int, data []byte) (clientMessage, *protocol.Error) {
	if msgType != websocket.TextMessage {
		return clientMessage{}, &protocol.Error{
			Code:    protocol.CodeBinaryUnsupported,
			Message: "this connection speaks the seed JSON protocol: send text frames",
		}
	}
	b, err := protocol.ParseSeed(data)
	if err != nil {
		return clientMessage{}, err
	}
	// A seed move is one step: the room applies it for one tick.
	return clientMessage{kind: msgInput, input: room.Input{Buttons: b, Once: true}}, nil
}

func (c *seedCodec) writeEvent(ws *websocket.Conn, e any) error {
	switch e := e.(type) {
	case room.Welcome:
		c.buf = protocol.AppendSeedInit(c.buf[:0], e.Player, e.Token, e.Room)
	case room.Notice:
		c.buf = protocol.AppendSeedNotice(c.buf[:0], e.Code, e.Text)
	case *protocol.Error:
		c.buf = protocol.AppendSeedError(c.buf[:0], e)
	default:
		return nil
	}
	return ws.WriteMessage(websocket.TextMessage, c.buf)
}

// seedStateKey memoizes a snapshot's seed encoding: every seed client sees
// the same state_update, so it is encoded and framed once per tick.
type seedStateKey struct{}

func (c *seedCodec) writeState(ws *websocket.Conn, st room.State) error {
	pm := st.Snap.Memo(seedStateKey{}, func() any {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, protocol.AppendSeedState(nil, st.Snap.Entities))
		if err != nil {
			return err
		}
		return pm
	})
	switch pm := pm.(type) {
	case *websocket.PreparedMessage:
		return ws.WritePreparedMessage(pm)
	case error:
		return pm
	}
	return nil
}
