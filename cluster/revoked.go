package cluster

import (
	"github.com/nats-io/nats.go"
)

// revokedSubject carries news that an account's sessions ended: a ban, a
// sign-out everywhere, a deletion. It sits under arena.node.>, which a
// node's NATS user may already publish and subscribe to.
const revokedSubject = "arena.node.revoked"

// maxAccountID bounds an account ID in a revocation: arena's are 26
// characters, and a room's document bounds accounts at 256 bytes.
const maxAccountID = 256

// PublishRevoked tells every node that account's sessions ended, so that
// each closes its live connections at once rather than at its next poll
// of the store.
//
// The news names the account and nothing else: each node reads what
// happened from the store, which is the truth. A message forged by
// whoever can publish on NATS can make nodes look again, never ban or
// sign out anyone.
func (n *Node) PublishRevoked(account string) error {
	if account == "" || len(account) > maxAccountID {
		return nil
	}
	return n.dir.Conn().Publish(revokedSubject, []byte(account))
}

// ServeRevoked calls recheck with the account of every revocation any
// node publishes, this one's included, until stop. recheck runs on NATS's
// delivery goroutine for the subscription, one at a time; it should not
// block for long (a store read).
func (n *Node) ServeRevoked(recheck func(account string)) (stop func(), err error) {
	sub, err := n.dir.Conn().Subscribe(revokedSubject, func(msg *nats.Msg) {
		if len(msg.Data) == 0 || len(msg.Data) > maxAccountID {
			return
		}
		recheck(string(msg.Data))
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
