package arenatest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
)

// NativeClient speaks arena.v1.bin to a server and keeps the world its
// snapshots build, as a real client must. Its methods return errors rather
// than fail the test, for tests that connect to nodes that may be gone.
type NativeClient struct {
	Conn *websocket.Conn
	// Msg is the last message read; Welcome the last welcome.
	Msg     protocol.ServerMessage
	Welcome protocol.Welcome
	World   []game.Entity
	Tick    uint64
	Ack     uint32
}

// WSURL turns a page URL (http://host:port/, as a redirect names it) into
// its WebSocket endpoint with query.
func WSURL(page, query string) string {
	u := strings.TrimSuffix(page, "/") + "/ws?" + query
	u = strings.Replace(u, "https://", "wss://", 1)
	return strings.Replace(u, "http://", "ws://", 1)
}

// DialNative connects to the server whose page is at page, with query, and
// reads the first message (a welcome, a redirect or an error) into Msg.
// With a token, it asks to resume (?resume=1) and presents the token
// first. The connection is closed when the test ends.
func DialNative(t testing.TB, page, query, token string) (*NativeClient, error) {
	t.Helper()
	if token != "" {
		query += "&resume=1"
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{protocol.SubprotocolBinary}}
	conn, _, err := d.Dial(WSURL(page, query), nil)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { conn.Close() })
	c := &NativeClient{Conn: conn}
	if token != "" {
		if err := c.Send(protocol.AppendBinaryResume(nil, token)); err != nil {
			return nil, err
		}
	}
	if _, err := c.Next(5 * time.Second); err != nil {
		return nil, err
	}
	return c, nil
}

// Send writes one binary message.
func (c *NativeClient) Send(b []byte) error {
	return c.Conn.WriteMessage(websocket.BinaryMessage, b)
}

// Next reads one message into Msg, applying snapshots to World.
func (c *NativeClient) Next(timeout time.Duration) (*protocol.ServerMessage, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(timeout))
	_, data, err := c.Conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	if err := protocol.ParseServerBinary(&c.Msg, data); err != nil {
		return nil, fmt.Errorf("decode %x: %w", data, err)
	}
	switch c.Msg.Type {
	case protocol.BinWelcome:
		c.Welcome = c.Msg.Welcome
	case protocol.BinSnapshot:
		h := c.Msg.Snapshot
		var base []game.Entity
		if !h.Full {
			if h.Base != c.Tick {
				return nil, fmt.Errorf("delta from tick %d on a state of tick %d: the chain broke", h.Base, c.Tick)
			}
			base = c.World
		}
		c.World = protocol.ApplyDecoded(nil, base, &c.Msg.Delta, c.Msg.Welcome.Kinds)
		c.Tick, c.Ack = h.Tick, h.Ack
	}
	return &c.Msg, nil
}

// WaitState reads until ok holds after a snapshot, for at most timeout.
func (c *NativeClient) WaitState(timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("not within the deadline")
		}
		m, err := c.Next(left)
		if err != nil {
			return err
		}
		if m.Type == protocol.BinSnapshot && ok() {
			return nil
		}
	}
}

// Me returns the client's own entity in World.
func (c *NativeClient) Me() game.Entity {
	for _, e := range c.World {
		if e.ID == uint32(c.Welcome.Player) {
			return e
		}
	}
	return game.Entity{}
}

// CloseCode reads until the server's close frame and returns its code.
func (c *NativeClient) CloseCode(timeout time.Duration) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		if _, _, err := c.Conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, nil
			}
			return 0, err
		}
	}
}
