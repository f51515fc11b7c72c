package server

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/room"
)

// Headers of a relayed connection: the node that relays, the address of
// the client it relays for, which the owner counts the client's limits
// against instead of the relaying node's, when it signed them (Unix
// milliseconds), and its signature (cluster.Relay), by a key of its own
// whose public half its heartbeat carries. Nothing in them is secret.
const (
	relayNodeHeader = "Arena-Relay-Node"
	relayForHeader  = "Arena-Relayed-For"
	relayTimeHeader = "Arena-Relay-Time"
	relaySigHeader  = "Arena-Relay-Signature"
)

// relayedIP returns the client address a node of the cluster relays for,
// and that node's name, if r is such a relay: one whose headers a live
// node signed, for this node, this client and this query, within
// cluster.RelayWindow. Any other request is a client like any other,
// counted by its own address, whatever its headers say.
func (s *Server) relayedIP(r *http.Request) (ip, node string, ok bool) {
	node = r.Header.Get(relayNodeHeader)
	if node == "" {
		return "", "", false
	}
	ip = r.Header.Get(relayForHeader)
	ms, err1 := strconv.ParseInt(r.Header.Get(relayTimeHeader), 10, 64)
	sig, err2 := base64.RawURLEncoding.DecodeString(r.Header.Get(relaySigHeader))
	err := cmp.Or(err1, err2)
	if err == nil && net.ParseIP(ip) == nil {
		err = fmt.Errorf("relayed for %q, not an IP address", ip)
	}
	if err == nil {
		rel := cluster.Relay{To: s.cluster.node(), From: node, For: ip, Query: r.URL.RawQuery, At: time.UnixMilli(ms)}
		err = s.cluster.verifyRelay(rel, sig, time.Now())
	}
	if err != nil {
		s.log.Debug("relay headers not believed; a client like any other", "from", s.clientIP(r), "node", node, "err", err)
		return "", "", false
	}
	return ip, node, true
}

// relayHeader returns the signed headers of a relay, by this node, of the
// client at address ip to node to, on a request with query.
func relayHeader(c Cluster, to, ip, query string) http.Header {
	rel, sig := c.signRelay(to, ip, query, time.Now())
	h := http.Header{}
	h.Set(relayNodeHeader, rel.From)
	h.Set(relayForHeader, rel.For)
	h.Set(relayTimeHeader, strconv.FormatInt(rel.At.UnixMilli(), 10))
	h.Set(relaySigHeader, base64.RawURLEncoding.EncodeToString(sig))
	return h
}

// closeRelayMoved is the close code a node ends a connection with that
// another node relays, and only such a connection, when the room moves to
// another node: its text names that node. The relaying node then resumes
// the player there and goes on relaying, and the client sees nothing of it
// (relayFrom). A seed client connected straight to the node, which cannot
// follow, still gets 1012.
const closeRelayMoved = 4002

// relay plays a seed-protocol client, which cannot follow a redirect, in a
// room that runs on another node: it opens the same WebSocket on that node
// and carries each message across, both ways, until either side closes,
// then closes the other with the same code. The node that runs the room
// checks the client's messages and limits, and counts it by its own
// address (relayedIP). When the room moves, the relay follows it to its
// new node. It reports false if the other node could not be reached; the
// caller then refuses the client.
func (sess *session) relay(to *room.ElsewhereError) bool {
	up, err := sess.dialRelay(to.Node, to.URL, sess.relayQuery)
	var first []byte
	switch {
	case sess.relayAccess != "":
		// The client signed in (?auth=1) here, and its auth message was
		// read here: the other node waits for it, and checks the token
		// itself. It is as able to as this one (every node checks every
		// token: their keys are the cluster's), it knows of bans as soon,
		// and it trusts nothing this node says of the client but its
		// address: a node that vouched for accounts in signed headers
		// would be one more way in, for no gain.
		first = authMessage(sess.relayAccess, sess.relayToken)
		sess.relayAccess = ""
	case sess.relayToken != "":
		// The client resumed (?resume=1) here, and its resume message
		// was read here: the other node waits for it.
		first = resumeMessage(sess.relayToken)
	}
	if err == nil && first != nil {
		_ = up.SetWriteDeadline(time.Now().Add(sess.cfg.HandshakeTimeout))
		if err = up.WriteMessage(websocket.TextMessage, first); err != nil {
			up.Close()
		}
	}
	if err != nil {
		sess.mu.Lock()
		sess.logLocked(slog.LevelWarn, "relay: the room's node cannot be reached", "node", to.Node, "err", err)
		sess.mu.Unlock()
		return false
	}
	sess.metrics.relayed.Inc()
	link := &relayLink{up: up}
	upDone := make(chan closeReason, 1)
	go func() {
		// The other node's messages, written to the client as any of ours.
		upDone <- sess.relayFrom(link, to.Room)
	}()
	readerDone := make(chan struct{})
	go func() {
		// The client's messages, sent on as they came. A message that
		// cannot be sent is dropped: the other node went away, or the
		// room is moving, and relayFrom decides which.
		defer close(readerDone)
		for {
			typ, data, err := sess.nextMessage()
			if err != nil {
				sess.readFailed(err)
				link.closeUp(err)
				return
			}
			link.write(typ, data)
		}
	}()
	var r closeReason
	select {
	case r = <-upDone:
		sess.close(r) // the client's reader ends with the close handshake
	case <-readerDone:
	}
	<-readerDone
	sess.close(reasonNetwork.wire()) // no effect if a reason is set already
	link.close()
	if r == (closeReason{}) {
		<-upDone
	}
	sess.mu.Lock()
	reason := sess.reason
	sess.mu.Unlock()
	sess.metrics.disconnects.WithLabelValues(reason.label()).Inc()
	return true
}

// relayLink is a relay's connection to the node that runs the room,
// which changes when the room moves.
type relayLink struct {
	mu     sync.Mutex // one writer at a time, as gorilla wants
	up     *websocket.Conn
	closed bool
}

// write sends a client's message on, or drops it if it cannot be sent.
func (l *relayLink) write(typ int, data []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		_ = l.up.SetWriteDeadline(time.Now().Add(relayWriteTimeout))
		_ = l.up.WriteMessage(typ, data)
	}
}

// relayWriteTimeout bounds a write to the other node, which reads as fast
// as its own limits allow: a node that does not is gone.
const relayWriteTimeout = 5 * time.Second

// closeUp tells the other node how the client's connection ended, err
// being what reading it returned: with the client's own close code, so
// that a client that left (1000) leaves its room, and one whose
// connection dropped may resume, as it would on that node.
func (l *relayLink) closeUp(err error) {
	code := websocket.CloseGoingAway
	if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseNoStatusReceived && ce.Code != websocket.CloseAbnormalClosure {
		code = ce.Code
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		_ = l.up.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	}
}

// swap makes next the connection, unless the relay ended meanwhile.
func (l *relayLink) swap(next *websocket.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.up.Close()
	l.up = next
	return true
}

func (l *relayLink) current() *websocket.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up
}

func (l *relayLink) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.up.Close()
}

// relayFrom writes the other node's messages to the client until that node
// closes or goes away, and returns the close for the client. When the room
// moves, it resumes the player on the room's new node and carries on.
func (sess *session) relayFrom(link *relayLink, roomName string) closeReason {
	up := link.current()
	for {
		typ, data, err := up.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == closeRelayMoved {
				next, init, ferr := sess.followRoom(roomName, ce.Text)
				if ferr == nil && link.swap(next) {
					up, typ, data = next, websocket.TextMessage, init
				} else {
					if next != nil {
						next.Close()
					}
					if ferr != nil {
						sess.mu.Lock()
						sess.logLocked(slog.LevelInfo, "relay: the room moved and the player could not follow", "node", ce.Text, "err", ferr)
						sess.mu.Unlock()
					}
					return reasonMoved.wire()
				}
			} else {
				return relayedClose(err)
			}
		}
		if typ == websocket.TextMessage {
			sess.noteInit(data)
		}
		sess.mu.Lock()
		if !sess.closing {
			_ = sess.writeFrame(typ, data)
		}
		sess.mu.Unlock()
	}
}

// noteInit keeps the player's id and token from an init message on its way
// to the client: with them the relay resumes the player when its room
// moves. Every resume issues a new token, so each init replaces the last.
// Only the reading goroutine of the relay touches them.
func (sess *session) noteInit(data []byte) {
	if !bytes.HasPrefix(data, []byte(`{"type":"init"`)) {
		return
	}
	var init struct{ ID, Token string }
	if json.Unmarshal(data, &init) == nil {
		sess.relayPlayer, sess.relayToken = init.ID, init.Token
	}
}

// followRoom resumes the relayed player on node, where its room moved,
// and returns the connection there and the init it answered with, which
// names the same player.
func (sess *session) followRoom(roomName, node string) (*websocket.Conn, []byte, error) {
	if sess.relayToken == "" {
		return nil, nil, errors.New("no token to resume with")
	}
	n, ok := sess.cluster.nodeOf(node)
	if !ok || n.URL == "" {
		return nil, nil, errors.New("the room's new node is not live here")
	}
	q, err := url.ParseQuery(sess.relayQuery)
	if err != nil {
		return nil, nil, err
	}
	q.Del("token")
	// The player resumes with its token, and keeps its account: the
	// access token it signed in with may have expired since.
	q.Del("auth")
	q.Set("room", roomName)
	q.Set("resume", "1")
	up, err := sess.dialRelay(node, n.URL, q.Encode())
	if err != nil {
		return nil, nil, err
	}
	_ = up.SetWriteDeadline(time.Now().Add(sess.cfg.HandshakeTimeout))
	if err := up.WriteMessage(websocket.TextMessage, resumeMessage(sess.relayToken)); err != nil {
		up.Close()
		return nil, nil, err
	}
	// The answer is an init, preceded by a resume_failed notice if the
	// token did not work: then the player would be someone else, and the
	// client is better told to reconnect, as before.
	_ = up.SetReadDeadline(time.Now().Add(sess.cfg.HandshakeTimeout))
	_, init, err := up.ReadMessage()
	if err != nil {
		up.Close()
		return nil, nil, err
	}
	was := sess.relayPlayer
	sess.noteInit(init)
	if sess.relayPlayer != was || !bytes.HasPrefix(init, []byte(`{"type":"init"`)) {
		up.Close()
		return nil, nil, fmt.Errorf("not resumed: %.80s", init)
	}
	_ = up.SetReadDeadline(time.Time{})
	sess.mu.Lock()
	sess.logLocked(slog.LevelDebug, "relay: followed the room to its new node", "node", node)
	sess.mu.Unlock()
	return up, init, nil
}

// resumeMessage is the seed protocol's resume message with token.
func resumeMessage(token string) []byte {
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	}{"resume", token})
	return b
}

// authMessage is the seed protocol's auth message with an access token,
// and a resume token if resume is not empty.
func authMessage(access, resume string) []byte {
	b, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Token  string `json:"token"`
		Resume string `json:"resume,omitempty"`
	}{"auth", access, resume})
	return b
}

// dialRelay opens the WebSocket of a relay to node, at its page URL, with
// query, and signed headers vouching for the client.
func (sess *session) dialRelay(node, page, query string) (*websocket.Conn, error) {
	h := relayHeader(sess.cluster, node, sess.relayIP, query)
	d := websocket.Dialer{HandshakeTimeout: sess.cfg.HandshakeTimeout}
	up, _, err := d.DialContext(sess.ctx, pageToWS(page)+"?"+query, h)
	return up, err
}

// relayedClose is the close the other node ended a relay with, for the
// client.
func relayedClose(err error) closeReason {
	if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseNoStatusReceived && ce.Code != websocket.CloseAbnormalClosure {
		return closeReason{reasonRelayClosed, ce.Code, ce.Text}
	}
	return reasonRelayLost.wire()
}

// pageToWS turns a node's page URL into its WebSocket endpoint.
func pageToWS(page string) string {
	u := strings.TrimSuffix(page, "/") + "/ws"
	u = strings.Replace(u, "https://", "wss://", 1)
	return strings.Replace(u, "http://", "ws://", 1)
}
