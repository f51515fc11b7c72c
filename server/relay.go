package server

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/room"
)

// Headers of a relayed connection: the cluster's secret, which proves the
// request comes from a node of the cluster, and the address of the client
// the node relays for, which the owner counts the client's limits against
// instead of the relaying node's.
const (
	relaySecretHeader = "Arena-Relay-Secret"
	relayForHeader    = "Arena-Relayed-For"
)

// relayedIP returns the client address a node of the cluster relays for,
// if r is such a relay.
func (s *Server) relayedIP(r *http.Request) (string, bool) {
	c := s.cfg.Cluster
	if c == nil {
		return "", false
	}
	got, secret := r.Header.Get(relaySecretHeader), c.Directory().RelaySecret()
	if got == "" || secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
		return "", false
	}
	ip := r.Header.Get(relayForHeader)
	return ip, net.ParseIP(ip) != nil
}

// relay plays a seed-protocol client, which cannot follow a redirect, in a
// room that runs on another node: it opens the same WebSocket on that node
// and carries each message across, both ways, until either side closes,
// then closes the other with the same code. The node that runs the room
// checks the client's messages and limits, and counts it by its own
// address (relayedIP). It reports false if the other node could not be
// reached; the caller then refuses the client.
func (sess *session) relay(to *room.ElsewhereError) bool {
	h := http.Header{}
	h.Set(relaySecretHeader, sess.cfg.Cluster.Directory().RelaySecret())
	h.Set(relayForHeader, sess.relayIP)
	d := websocket.Dialer{HandshakeTimeout: sess.cfg.HandshakeTimeout}
	up, _, err := d.DialContext(sess.ctx, pageToWS(to.URL)+"?"+sess.relayQuery, h)
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
				_ = up.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
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

// pageToWS turns a node's page URL into its WebSocket endpoint.
func pageToWS(page string) string {
	u := strings.TrimSuffix(page, "/") + "/ws"
	u = strings.Replace(u, "https://", "wss://", 1)
	return strings.Replace(u, "http://", "ws://", 1)
}
