package server_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/protocol"
)

// dialProtocol opens a WebSocket speaking proto ("" for the seed protocol).
func dialProtocol(t *testing.T, url, proto string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if proto != "" {
		d.Subprotocols = []string{proto}
	}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	if conn.Subprotocol() != proto {
		t.Fatalf("negotiated %q; want %q", conn.Subprotocol(), proto)
	}
	return conn
}

// readError reads one message and returns it as an error message's code and
// text, in whichever protocol the connection speaks.
func readError(t *testing.T, conn *websocket.Conn) (code, message string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	typ, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read the error: %v", err)
	}
	if typ == websocket.BinaryMessage {
		var m protocol.ServerMessage
		if err := protocol.ParseServerBinary(&m, data); err != nil || m.Type != protocol.BinError {
			t.Fatalf("got %x (%v); want an error message", data, err)
		}
		return m.Code, m.Message
	}
	var m struct{ Type, T, Code, Message string }
	if err := json.Unmarshal(data, &m); err != nil || (m.Type != "error" && m.T != "error") {
		t.Fatalf("got %s (%v); want an error message", data, err)
	}
	return m.Code, m.Message
}

// waitEOF reads the raw socket, never answering the close frame, until the
// server drops the TCP connection, and fails if that takes longer than
// within.
func waitEOF(t *testing.T, conn *websocket.Conn, within time.Duration) {
	t.Helper()
	start := time.Now()
	nc := conn.NetConn()
	_ = nc.SetReadDeadline(start.Add(within))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection %v after refusing the join", within)
	}
	// nil is EOF; a reset also means the server let go.
	t.Logf("connection released after %v (%v)", time.Since(start).Round(time.Millisecond), err)
}

// TestRefusedJoinsReleaseTheirConnection: a refused join used to leave the
// TCP connection open for good once its close frame was sent, so a client
// that never answered the close held a socket and a connection slot
// forever.
func TestRefusedJoinsReleaseTheirConnection(t *testing.T) {
	t.Parallel()
	srv := arenatest.Start(t, arenatest.Options{})
	cases := []struct {
		query, want string
	}{
		{"?name=" + strings.Repeat("n", 17), "at most 16 characters"},
		{"?name=a%0Ab", "printable"},
		{"?name=%ff%fe", "valid UTF-8"},
		{"?name=%E3%85%A4%E3%85%A4", "invisible"},            // Hangul fillers
		{"?name=Z%CD%91%CC%A5%CD%93ALGO", "combining marks"}, // Zalgo
		{"?name=%EF%B7%BD", "wider"},                         // U+FDFD
		{"?room=%zz", "malformed query"},
		{"?room=no%20spaces", "room names"},
	}
	for _, proto := range []string{"", protocol.SubprotocolBinary, protocol.SubprotocolJSON} {
		for _, tc := range cases {
			t.Run(cmp.Or(proto, "seed")+tc.query, func(t *testing.T) {
				t.Parallel()
				conn := dialProtocol(t, srv.WSURL+tc.query, proto)
				code, msg := readError(t, conn)
				if code != protocol.CodeBadRequest || !strings.Contains(msg, tc.want) {
					t.Errorf("error %s %q; want bad_request saying %q", code, msg, tc.want)
				}
				waitEOF(t, conn, 2500*time.Millisecond)
			})
		}
	}
}
