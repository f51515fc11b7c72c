package cluster

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// NodeEntry is a node's heartbeat.
type NodeEntry struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Rooms    int    `json:"rooms"`
	Players  int    `json:"players"`
	Draining bool   `json:"draining"`
	// Full: the node takes no new rooms now (at -max-rooms, or refusing
	// new players for want of CPU), so matchmaking places none there.
	Full    bool      `json:"full,omitempty"`
	Updated time.Time `json:"updated"`
	// RelayKey is the public key the node signs its relays with
	// (SignRelay); its private half never leaves the node.
	RelayKey ed25519.PublicKey `json:"relay_key,omitempty"`
}

// NodeName makes a valid node name of s (a host name, say): characters a
// key cannot hold become '-'.
func NodeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '-' || c == '_' || c == '=' || c == '/' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			b[i] = '-'
		}
	}
	name := strings.Trim(strings.ReplaceAll(string(b), "..", "-"), ".")
	if name == "" {
		return "node"
	}
	return name
}

// checkName makes sure no live node has this node's name: two nodes of one
// name would each take the other's rooms for a dead node's. A heartbeat
// under the name with this node's URL is this node's former life (nobody
// else can listen there now). One with another URL is watched for a beat:
// a live node beats every TTL/3, and a dead one's entry only waits to
// expire.
func (d *Directory) checkName(ctx context.Context) error {
	e, err := d.nodes.Get(ctx, d.cfg.Node)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cluster: reading node %q: %w", d.cfg.Node, err)
	}
	n, err := decodeNode(e)
	if err == nil && n.URL == d.cfg.URL {
		return nil
	}
	watch := time.NewTimer(d.cfg.TTL/3 + d.cfg.TTL/6)
	defer watch.Stop()
	poll := time.NewTicker(min(d.cfg.TTL/20, 100*time.Millisecond))
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: checking node name %q: %w", d.cfg.Node, ctx.Err())
		case <-watch.C:
			d.log.Info("the last heartbeat under this node's name is a former life's", "url", n.URL)
			return nil
		case <-poll.C:
		}
		now, err := d.nodes.Get(ctx, d.cfg.Node)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil // expired: it was dead
		}
		if err == nil && now.Revision() != e.Revision() {
			return fmt.Errorf("%w: %q, at %s", ErrNameTaken, d.cfg.Node, n.URL)
		}
	}
}

func (d *Directory) alive(ctx context.Context, node string) (bool, error) {
	if checkName(node) != nil {
		return false, nil
	}
	_, err := d.nodes.Get(ctx, node)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// SetLoad sets the figures the next heartbeat carries, and whether the
// node takes new rooms; a change of that is sent at once.
func (d *Directory) SetLoad(rooms, players int, full bool) {
	d.mu.Lock()
	changed := d.self.Full != full
	d.self.Rooms, d.self.Players, d.self.Full = rooms, players, full
	d.mu.Unlock()
	if changed {
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
}

// SetDraining marks this node as taking no new rooms; it is sent at once,
// so matchmakers stop picking the node before the next tick.
func (d *Directory) SetDraining(draining bool) {
	d.mu.Lock()
	d.self.Draining = draining
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Directory) heartbeats() {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		case <-d.kick:
		}
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.TTL/3)
		err := d.beat(ctx)
		if err != nil && d.ctx.Err() == nil {
			d.log.Warn("heartbeat failed", "err", err)
		}
		if err == nil {
			d.reap(ctx)
		}
		cancel()
	}
}

func (d *Directory) beat(ctx context.Context) error {
	d.mu.RLock()
	e := d.self
	d.mu.RUnlock()
	e.Updated = time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = d.nodes.Put(ctx, d.cfg.Node, data)
	return err
}

// reap deletes the rooms of nodes dead for ReapAfter, which nobody took
// over: left alone, the rooms of every node that ever died, under names
// never used again, would fill the bucket and every node's memory.
func (d *Directory) reap(ctx context.Context) {
	now := time.Now()
	d.mu.RLock()
	orphans := map[string][]RoomEntry{}
	for _, r := range d.roomView {
		if _, alive := d.nodeView[r.Node]; !alive && r.Node != d.cfg.Node {
			orphans[r.Node] = append(orphans[r.Node], r)
		}
	}
	d.mu.RUnlock()
	for node := range d.missing {
		if _, ok := orphans[node]; !ok {
			delete(d.missing, node)
		}
	}
	for node, rooms := range orphans {
		since, ok := d.missing[node]
		if !ok {
			d.missing[node] = now
			continue
		}
		if now.Sub(since) < d.cfg.ReapAfter {
			continue
		}
		// Our view may lag the bucket: only the bucket can say the node
		// is dead.
		if alive, err := d.alive(ctx, node); err != nil || alive {
			continue
		}
		// Every survivor reaps; the revision makes sure none deletes a
		// room that was taken over meanwhile.
		n := 0
		for _, r := range rooms {
			if forget(ctx, d.rooms, r.Name, r.Version) == nil {
				n++
			}
		}
		if n > 0 {
			d.log.Info("deleted rooms of dead node", "dead", node, "rooms", n)
		}
	}
}

func (d *Directory) remember(nodeURL string) {
	u, err := url.Parse(nodeURL)
	if err != nil || u.Host == "" {
		return
	}
	d.originMu.Lock()
	d.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	d.originMu.Unlock()
}

// KnownOrigin reports whether origin (scheme://host[:port], as a browser
// sends it) is that of a node of the cluster, now or since this node
// joined: its pages may connect here.
func (d *Directory) KnownOrigin(origin string) bool {
	d.originMu.Lock()
	defer d.originMu.Unlock()
	return d.origins[strings.ToLower(origin)]
}

// NodeOf returns the live node called name.
func (d *Directory) NodeOf(name string) (NodeEntry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n, ok := d.nodeView[name]
	return n, ok
}

// Nodes returns the live nodes, sorted by name.
func (d *Directory) Nodes() []NodeEntry {
	d.mu.RLock()
	nodes := make([]NodeEntry, 0, len(d.nodeView))
	for _, n := range d.nodeView {
		nodes = append(nodes, n)
	}
	d.mu.RUnlock()
	slices.SortFunc(nodes, func(a, b NodeEntry) int { return strings.Compare(a.Name, b.Name) })
	return nodes
}

func decodeNode(e jetstream.KeyValueEntry) (NodeEntry, error) {
	var n NodeEntry
	if err := json.Unmarshal(e.Value(), &n); err != nil {
		return NodeEntry{}, err
	}
	n.Name = e.Key()
	return n, nil
}
