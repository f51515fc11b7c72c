package cluster

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// RelayWindow is how far a relay's timestamp may be from the clock of the
// node that checks it, either way. A relay is signed the moment it is
// dialled and checked within a handshake, milliseconds later; the rest of
// the window is for clocks of nodes that disagree, which NTP keeps within
// a fraction of a second but a freshly booted VM may not. Thirty seconds
// is short enough that a signed request copied off the wire between two
// nodes is of little use for long, and long enough that no honest relay
// is refused for a clock that is a few seconds off.
const RelayWindow = 30 * time.Second

// Relay is what a node that relays a client to another node vouches for,
// and signs with its own key: that it, From, relays the client at address
// For to node To, on a WebSocket request with query Query, at time At.
//
// The signature covers the query, not the path: the path is always the
// WebSocket endpoint, and a proxy in front of a node may rewrite its
// prefix, which would break every relay for nothing.
type Relay struct {
	To, From, For, Query string
	At                   time.Time
}

// Message returns the bytes a relay's signature covers. Node names and
// addresses hold no newline and the query comes last, so that no two
// relays have the same.
func (r Relay) Message() []byte {
	b := []byte("arena-relay-v1\n")
	for _, s := range []string{r.To, r.From, r.For, strconv.FormatInt(r.At.UnixMilli(), 10)} {
		b = append(append(b, s...), '\n')
	}
	return append(b, r.Query...)
}

// Why VerifyRelay refuses a relay.
var (
	ErrRelayTarget    = errors.New("cluster: the relay was signed for another node")
	ErrRelayNode      = errors.New("cluster: the relaying node is not a live node of the cluster")
	ErrRelayStale     = errors.New("cluster: the relay's timestamp is outside the window")
	ErrRelaySignature = errors.New("cluster: the relay's signature does not verify")
)

// SignRelay returns the relay, by this node, of the client at address
// addr to node to on a request with query, at time at, and its signature
// by this node's key. The key never leaves the process: each node makes
// a new one when it opens its directory, and its heartbeat publishes only
// the public half.
func (d *Directory) SignRelay(to, addr, query string, at time.Time) (Relay, []byte) {
	r := Relay{To: to, From: d.cfg.Node, For: addr, Query: query, At: at}
	return r, ed25519.Sign(d.key, r.Message())
}

// VerifyRelay checks that r is a relay to this node, signed by a node
// that is live in this node's view of the directory with the key its
// heartbeat carries, within RelayWindow of now.
func (d *Directory) VerifyRelay(r Relay, sig []byte, now time.Time) error {
	if r.To != d.cfg.Node {
		return fmt.Errorf("%w: %q", ErrRelayTarget, r.To)
	}
	if skew := now.Sub(r.At); skew > RelayWindow || skew < -RelayWindow {
		return fmt.Errorf("%w: %v off", ErrRelayStale, skew.Round(time.Millisecond))
	}
	n, ok := d.NodeOf(r.From)
	if !ok || len(n.RelayKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: %q", ErrRelayNode, r.From)
	}
	if !ed25519.Verify(n.RelayKey, r.Message(), sig) {
		return ErrRelaySignature
	}
	return nil
}
