package loadgen

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/lesismal/llib/std/crypto/tls"
	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// The WebSocket client handshake, on the generator's shared nbhttp.Engine.
//
// It is nbio's own websocket.Dialer (nbhttp/websocket/dialer.go, v1.6.8)
// cut down to what the generator uses, for two things that Dialer cannot
// do: dial from another local address (Config.LocalAddr; the Dialer gives
// no way to set nbhttp.ClientConn.Dial), and tie the new connection to its
// player before the first message is parsed (the server's join message may
// come in the same segment as its handshake answer).

// upgradeRequest is the handshake request for rawURL, and the key its
// answer must acknowledge.
func upgradeRequest(rawURL string, subprotocols []string, compress bool) (*http.Request, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, "", websocket.ErrMalformedURL
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	h := http.Header{}
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Key", key)
	h.Set("Sec-WebSocket-Version", "13")
	if len(subprotocols) > 0 {
		h.Set("Sec-WebSocket-Protocol", strings.Join(subprotocols, ", "))
	}
	if compress {
		// Only without context takeover: nbio inflates each message on its
		// own. Browsers offer more, but servers (gorilla's among them)
		// accept this.
		h.Set("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
	}
	req := &http.Request{
		Method: http.MethodGet, URL: u, Host: u.Host, Header: h,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	return req, key, nil
}

// upgrade checks the server's answer to a handshake with key and turns
// conn into a WebSocket connection of opts that parses everything that
// follows the answer. session is set on it first.
func upgrade(opts *websocket.Options, key string, res *http.Response, conn net.Conn, session any) (*websocket.Conn, error) {
	if res.StatusCode != http.StatusSwitchingProtocols ||
		!headerHas(res.Header, "Upgrade", "websocket") ||
		!headerHas(res.Header, "Connection", "upgrade") ||
		res.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		return nil, websocket.ErrBadHandshake
	}
	compress, err := deflateAccepted(res.Header)
	if err != nil {
		return nil, err
	}
	nbc := pollerConn(conn)
	if nbc == nil {
		return nil, websocket.ErrBadHandshake
	}
	parser, ok := nbc.Session().(*nbhttp.Parser)
	if !ok {
		return nil, errors.New("websocket: connection has no HTTP parser")
	}
	ws := websocket.NewClientConn(opts, conn, res.Header.Get("Sec-WebSocket-Protocol"), compress, false)
	ws.Engine = parser.Engine
	ws.Execute = parser.Execute
	ws.SetSession(session)
	// From here on the parser hands every byte to ws, starting with what
	// followed the answer in the same read.
	parser.ParserCloser = ws
	nbc.SetSession(ws)
	return ws, nil
}

// acceptKey is the Sec-WebSocket-Accept of key (RFC 6455, 4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// headerHas reports whether a comma-separated header name lists token,
// ignoring case.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// deflateAccepted reports whether the server accepted permessage-deflate.
// It must have accepted it without context takeover, the only way nbio
// inflates.
func deflateAccepted(h http.Header) (bool, error) {
	for _, v := range h.Values("Sec-WebSocket-Extensions") {
		for ext := range strings.SplitSeq(v, ",") {
			params := strings.Split(ext, ";")
			if strings.TrimSpace(params[0]) != "permessage-deflate" {
				continue
			}
			var snct, cnct bool
			for _, p := range params[1:] {
				switch strings.TrimSpace(p) {
				case "server_no_context_takeover":
					snct = true
				case "client_no_context_takeover":
					cnct = true
				}
			}
			if !snct || !cnct {
				return false, websocket.ErrInvalidCompression
			}
			return true, nil
		}
	}
	return false, nil
}

// pollerConn is the non-blocking connection under conn, a connection of
// nbhttp.ClientConn: conn itself, or for wss the one under its TLS.
func pollerConn(conn net.Conn) *nbio.Conn {
	if nbc, ok := conn.(*nbio.Conn); ok {
		return nbc
	}
	if hc, ok := conn.(*nbhttp.Conn); ok {
		if tc, ok := hc.Conn.(*tls.Conn); ok {
			nbc, _ := tc.Conn().(*nbio.Conn)
			return nbc
		}
	}
	return nil
}

// abandon closes a connection whose handshake failed.
//
// It takes the connection from its HTTP parser first. Callbacks run on the
// poller (Run's executor is inline), and the close's callback can be queued
// behind the one that is handling the answer, which runs inside the
// parser's Parse, holding the parser's lock: run then, the parser's
// CloseAndClean would wait for that lock for ever.
func abandon(conn net.Conn) {
	if nbc := pollerConn(conn); nbc != nil {
		nbc.SetSession(abandoned{conn})
	}
	_ = conn.Close()
}

// abandoned is the session of a connection that is being closed: it
// parses nothing and has nothing to clean.
type abandoned struct{ net.Conn }

func (a abandoned) UnderlayerConn() net.Conn { return a.Conn }
func (abandoned) Parse([]byte) error         { return net.ErrClosed }
func (abandoned) CloseAndClean(error)        {}
