package server

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
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
	c := s.cfg.Cluster
	node = r.Header.Get(relayNodeHeader)
	if c == nil || node == "" {
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
		rel := cluster.Relay{To: c.Directory().Node(), From: node, For: ip, Query: r.URL.RawQuery, At: time.UnixMilli(ms)}
		err = c.Directory().VerifyRelay(rel, sig, time.Now())
	}
	if err != nil {
		s.log.Debug("relay headers not believed; a client like any other", "from", s.clientIP(r), "node", node, "err", err)
		return "", "", false
	}
	return ip, node, true
}

// relayHeader returns the signed headers of a relay, by this node, of the
// client at address ip to node to, on a request with query.
func relayHeader(c *cluster.Node, to, ip, query string) http.Header {
	rel, sig := c.Directory().SignRelay(to, ip, query, time.Now())
	h := http.Header{}
	h.Set(relayNodeHeader, rel.From)
	h.Set(relayForHeader, rel.For)
	h.Set(relayTimeHeader, strconv.FormatInt(rel.At.UnixMilli(), 10))
	h.Set(relaySigHeader, base64.RawURLEncoding.EncodeToString(sig))
	return h
}

// relay plays a seed-protocol client, which cannot follow a redirect, in a
// room that runs on another node: it opens the same WebSocket on that node
// and carries each message across, both ways, until either side closes,
// then closes the other with the same code. The node that runs the room
// checks the client's messages and limits, and counts it by its own
// address (relayedIP). It reports false if the other node could not be
// reached; the caller then refuses the client.
func (sess *session) relay(to *room.ElsewhereError) bool {
	h := relayHeader(sess.cfg.Cluster, to.Node, sess.relayIP, sess.relayQuery)
	d := websocket.Dialer{HandshakeTimeout: sess.cfg.HandshakeTimeout}
	up, _, err := d.DialContext(sess.ctx, pageToWS(to.URL)+"?"+sess.relayQuery, h)
	if err == nil && sess.relayToken != "" {
		// The client resumed (?resume=1) here, and its resume message
		// was read here: the other node waits for it.
		_ = up.SetWriteDeadline(time.Now().Add(sess.cfg.HandshakeTimeout))
		if err = up.WriteMessage(websocket.TextMessage, resumeMessage(sess.relayToken)); err != nil {
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
	upDone := make(chan closeReason, 1)
	go func() {
		// The other node's messages, written to the client as any of ours.
		for {
			typ, data, err := up.ReadMessage()
			if err != nil {
				upDone <- relayedClose(err)
				return
			}
			sess.mu.Lock()
			if !sess.closing {
				_ = sess.writeFrame(typ, data)
			}
			sess.mu.Unlock()
		}
	}()
	readerDone := make(chan struct{})
	go func() {
		// The client's messages, sent on as they came.
		defer close(readerDone)
		for {
			typ, data, err := sess.nextMessage()
			if err != nil {
				sess.readFailed(err)
				// The client's own close code, so that a client that
				// left (1000) leaves its room, and one whose connection
				// dropped may resume, as it would on that node.
				code := websocket.CloseGoingAway
				if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseNoStatusReceived && ce.Code != websocket.CloseAbnormalClosure {
					code = ce.Code
				}
				_ = up.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
				return
			}
			if err := up.WriteMessage(typ, data); err != nil {
				return
			}
		}
	}()
	select {
	case r := <-upDone:
		sess.close(r) // the client's reader ends with the close handshake
	case <-readerDone:
	}
	<-readerDone
	up.Close()
	sess.mu.Lock()
	reason := sess.reason
	sess.mu.Unlock()
	sess.metrics.disconnects.WithLabelValues(reason.label).Inc()
	return true
}

// relayedClose is the close the other node ended a relay with, for the
// client.
func relayedClose(err error) closeReason {
	if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseNoStatusReceived && ce.Code != websocket.CloseAbnormalClosure {
		return closeReason{ce.Code, ce.Text, "relay_closed"}
	}
	return closeReason{websocket.CloseGoingAway, "the room's node went away", "relay_lost"}
}

// resumeMessage is the seed protocol's resume message with token.
func resumeMessage(token string) []byte {
	b, _ := json.Marshal(struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	}{"resume", token})
	return b
}

// pageToWS turns a node's page URL into its WebSocket endpoint.
func pageToWS(page string) string {
	u := strings.TrimSuffix(page, "/") + "/ws"
	u = strings.Replace(u, "https://", "wss://", 1)
	return strings.Replace(u, "http://", "ws://", 1)
}
