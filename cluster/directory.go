// Package cluster is the cluster's directory: which node owns which room and
// which nodes are alive, kept in two NATS JetStream key-value buckets that
// every node watches into memory, so lookups cost no round trip.
package cluster

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/game"
)

// RoomEntry is a room as the directory knows it.
type RoomEntry struct {
	Name    string `json:"name"`
	Node    string `json:"node"`
	Mode    string `json:"mode"`
	Players int    `json:"players"`
	// Held counts the seats held for players redirected to the room,
	// which its capacity counts too.
	Held     int `json:"held,omitempty"`
	Capacity int `json:"capacity"`
	// TickRate is the room's ticks per second, for the room lists of
	// other nodes.
	TickRate int `json:"tick_rate,omitempty"`
	// Options are the room's options that lists may show
	// (game.Options.Public), which a quick-join that asks for options
	// matches. Options a mode marks secret are never here: the directory
	// is readable by every NATS user.
	Options map[string]string `json:"options,omitempty"`
	// Private rooms are never listed nor matched: they are joined by
	// name only.
	Private bool `json:"private,omitempty"`
	// Secret: the room has secret options, left out of Options; it is
	// never matched.
	Secret bool `json:"secret,omitempty"`
	// Version is the entry's KV revision, filled when read.
	Version uint64    `json:"-"`
	Updated time.Time `json:"updated"`
	// From is the dead node a Claim took the room over from, if it did.
	From string `json:"-"`
}

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

// Config tells Open which node this is and where the directory lives.
type Config struct {
	// Node names this node; it must be unique in the cluster and a valid
	// KV key.
	Node string
	// URL is where clients reach this node.
	URL string
	// Bucket holds the rooms; default "arena_rooms".
	Bucket string
	// NodesBucket holds the heartbeats; default "arena_nodes".
	NodesBucket string
	// DocsBucket is the object store of room documents (room.Export),
	// which moves and checkpoints write; default "arena_room_docs".
	DocsBucket string
	// ResumesBucket holds the records of resumes (RecordResume); default
	// "arena_resumes". ResumeTTL is how long each is kept; default
	// DefaultResumeTTL. Every node of a cluster must use the same.
	ResumesBucket string
	ResumeTTL     time.Duration
	// TTL is how long a node outlives its last heartbeat; default 5s.
	// Every node of a cluster must use the same.
	TTL time.Duration
	// ReapAfter is how long a room may outlive its owner's heartbeat
	// before a surviving node deletes it; until then it is hidden from
	// every view but kept, so that a node coming back from a network
	// split finds its rooms, and players rejoining a room take it over.
	// Default 1 minute.
	ReapAfter time.Duration
	Logger    *slog.Logger
}

// Errors of the directory.
var (
	// ErrBadName: a room or node name that a KV key cannot hold.
	ErrBadName = errors.New("cluster: names are letters, digits, '-', '_', '=', '/' or inner single dots")
	// ErrOwned: a live node owns the room; OwnerOf tells which.
	ErrOwned = errors.New("cluster: room is owned by another live node")
	// ErrNotOwner: this node does not (or no longer) own the room.
	ErrNotOwner = errors.New("cluster: this node does not own the room")
	// ErrClosed: the directory was closed.
	ErrClosed = errors.New("cluster: directory closed")
	// ErrNameTaken: a live node of the cluster has this node's name.
	ErrNameTaken = errors.New("cluster: a live node has this name")
)

// OwnedError is the ErrOwned of a Claim, with the owner's entry.
type OwnedError struct{ Entry RoomEntry }

func (e *OwnedError) Error() string {
	return fmt.Sprintf("%v: %q is on %q", ErrOwned, e.Entry.Name, e.Entry.Node)
}

func (e *OwnedError) Unwrap() error { return ErrOwned }

// OwnerOf returns the entry of the live owner that made a Claim fail.
func OwnerOf(err error) (RoomEntry, bool) {
	var o *OwnedError
	if errors.As(err, &o) {
		return o.Entry, true
	}
	return RoomEntry{}, false
}

// The rule of nats.go's own key check, kept here so that a bad name gets a
// clear error before any round trip.
var keyRe = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func checkName(name string) error {
	if !keyRe.MatchString(name) || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
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

// Directory is one node's handle on the cluster's directory.
type Directory struct {
	cfg   Config
	log   *slog.Logger
	nc    *nats.Conn
	rooms jetstream.KeyValue
	nodes jetstream.KeyValue
	docs  jetstream.ObjectStore
	// resumes maps a spent resume token's hash to its successor's.
	resumes jetstream.KeyValue
	ids     *IDs
	// key signs this node's relays (SignRelay). It is made anew by each
	// Open and kept in memory only: NATS holds its public half.
	key ed25519.PrivateKey

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // a heartbeat now rather than at the next tick

	mu        sync.RWMutex
	roomView  map[string]RoomEntry // every entry, live owner or not
	nodeView  map[string]NodeEntry // live nodes only: expiry removes them
	self      NodeEntry
	owned     map[string]uint64 // room → revision this node last wrote
	closeOnce sync.Once

	missing map[string]time.Time // owner of rooms → when we found it dead; heartbeats goroutine only

	// former are the rooms a former life of this node ran, which it left
	// checkpoints of when it died: restored here (Claim takes them with
	// their checkpoint), unless another node took them first. Under mu.
	former map[string]RoomEntry

	// origins are those of every node URL seen since Open, live or not:
	// a page loaded from a node that has since gone still reconnects to
	// the others. Its own lock: the watcher fills it under mu.
	originMu sync.Mutex
	origins  map[string]bool
}

// Open joins the cluster: it creates or binds to the two buckets, loads
// them into memory, forgets rooms a former life of this node left behind,
// and starts heartbeats and watchers, which run until Close or Leave.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Directory, error) {
	if err := checkName(cfg.Node); err != nil {
		return nil, fmt.Errorf("node name: %w", err)
	}
	if cfg.Bucket == "" {
		cfg.Bucket = "arena_rooms"
	}
	if cfg.NodesBucket == "" {
		cfg.NodesBucket = "arena_nodes"
	}
	if cfg.DocsBucket == "" {
		cfg.DocsBucket = "arena_room_docs"
	}
	if cfg.ResumesBucket == "" {
		cfg.ResumesBucket = "arena_resumes"
	}
	if cfg.ResumeTTL <= 0 {
		cfg.ResumeTTL = DefaultResumeTTL
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Second
	}
	if cfg.ReapAfter <= 0 {
		cfg.ReapAfter = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// A claim that times out while NATS is away must not be written when it
	// comes back: nobody would run the room its entry lists.
	if js.Conn().Opts.ReconnectBufSize != -1 {
		return nil, errors.New("cluster: the NATS connection buffers writes while disconnected; connect with nats.ReconnectBufSize(-1)")
	}
	// Without limit markers an expired heartbeat vanishes silently and the
	// watchers never learn that its node died; the server wants them to
	// last at least a second.
	marker := max(cfg.TTL, time.Second)
	nodes, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         cfg.NodesBucket,
		Description:    "arena nodes' heartbeats",
		History:        1,
		TTL:            cfg.TTL,
		LimitMarkerTTL: marker,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: nodes bucket %q: %w", cfg.NodesBucket, err)
	}
	// Limit markers here only allow per-message TTLs, which forget uses.
	rooms, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket,
		Description:    "arena rooms and their owners",
		History:        1,
		LimitMarkerTTL: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: rooms bucket %q: %w", cfg.Bucket, err)
	}
	// Documents go in an object store, not in the KV: a big world's is
	// larger than a NATS message may be.
	docs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      cfg.DocsBucket,
		Description: "arena room documents, for moves and checkpoints",
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: documents bucket %q: %w", cfg.DocsBucket, err)
	}

	resumes, err := openResumes(ctx, js, cfg)
	if err != nil {
		return nil, err
	}

	ids, err := OpenIDs(ctx, js, "")
	if err != nil {
		return nil, err
	}
	if err := ids.forgetLegacySecret(ctx); err != nil {
		return nil, err
	}
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("cluster: relay key: %w", err)
	}

	dctx, cancel := context.WithCancel(context.Background())
	d := &Directory{
		ids:      ids,
		key:      key,
		cfg:      cfg,
		log:      cfg.Logger.With("node", cfg.Node),
		nc:       js.Conn(),
		rooms:    rooms,
		nodes:    nodes,
		docs:     docs,
		resumes:  resumes,
		ctx:      dctx,
		cancel:   cancel,
		kick:     make(chan struct{}, 1),
		roomView: map[string]RoomEntry{},
		nodeView: map[string]NodeEntry{},
		self:     NodeEntry{Name: cfg.Node, URL: cfg.URL, RelayKey: pub},
		owned:    map[string]uint64{},
		missing:  map[string]time.Time{},
		origins:  map[string]bool{},
		former:   map[string]RoomEntry{},
	}
	roomsReady, nodesReady := make(chan struct{}), make(chan struct{})
	d.wg.Add(2)
	go watch(d, rooms, &d.roomView, decodeRoom, roomsReady)
	go watch(d, nodes, &d.nodeView, func(e jetstream.KeyValueEntry) (NodeEntry, error) {
		n, err := decodeNode(e)
		if err == nil {
			d.remember(n.URL)
		}
		return n, err
	}, nodesReady)
	for _, ready := range []chan struct{}{roomsReady, nodesReady} {
		select {
		case <-ready:
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("cluster: loading the directory: %w", ctx.Err())
		}
	}
	if err := d.checkName(ctx); err != nil {
		d.Close()
		return nil, err
	}
	// Rooms still under our name are from a former life of this node,
	// which died: restarted by systemd or a container runtime, often
	// before its heartbeat expired, so that no other node restores them.
	// Those with a checkpoint come back here (Former); the others no
	// longer run, and our first heartbeat would revive them in everyone's
	// view.
	d.mu.RLock()
	var stale []RoomEntry
	for _, r := range d.roomView {
		if r.Node == cfg.Node {
			stale = append(stale, r)
		}
	}
	d.mu.RUnlock()
	for _, r := range stale {
		if d.HasDoc(ctx, r.Name) {
			d.former[r.Name] = r
			continue
		}
		err := forget(ctx, rooms, r.Name, r.Version)
		if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			d.Close()
			return nil, fmt.Errorf("cluster: forgetting stale room %q: %w", r.Name, err)
		}
	}
	if len(d.former) > 0 {
		d.log.Info("rooms of this node's former life to restore", "rooms", len(d.former))
	}
	// The first heartbeat goes out before Open returns, so that no peer
	// takes this node's first claims for a dead node's.
	if err := d.beat(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("cluster: first heartbeat: %w", err)
	}
	d.wg.Add(1)
	go d.heartbeats()
	return d, nil
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

// Former returns the rooms of this node's former life (see Open) not yet
// restored.
func (d *Directory) Former() []RoomEntry {
	d.mu.RLock()
	rooms := slices.Collect(maps.Values(d.former))
	d.mu.RUnlock()
	slices.SortFunc(rooms, func(a, b RoomEntry) int { return strings.Compare(a.Name, b.Name) })
	return rooms
}

// Close stops heartbeats and watchers. The node's heartbeat entry is left
// to expire, as a crash would leave it; Leave removes it at once.
func (d *Directory) Close() {
	d.closeOnce.Do(func() {
		d.cancel()
		d.wg.Wait()
	})
}

// Leave closes the directory and takes this node out of the cluster at
// once: it releases the rooms it owns and deletes its heartbeat.
func (d *Directory) Leave(ctx context.Context) error {
	d.Close()
	d.mu.Lock()
	owned := d.owned
	d.owned = map[string]uint64{}
	d.mu.Unlock()
	var errs []error
	for name, rev := range owned {
		err := forget(ctx, d.rooms, name, rev)
		if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			errs = append(errs, fmt.Errorf("releasing %q: %w", name, err))
		}
	}
	if err := d.nodes.Delete(ctx, d.cfg.Node); err != nil {
		errs = append(errs, fmt.Errorf("deleting heartbeat: %w", err))
	}
	return errors.Join(errs...)
}

// Node returns this node's name.
func (d *Directory) Node() string { return d.cfg.Node }

// Claim makes this node the owner of room e.Name, unless a live node owns
// it already (then the error is an *OwnedError). A room whose owner died is
// taken over. Every write is a compare-and-swap, so of nodes racing for the
// same room exactly one wins.
func (d *Directory) Claim(ctx context.Context, e RoomEntry) (RoomEntry, error) {
	if err := checkName(e.Name); err != nil {
		return RoomEntry{}, err
	}
	if d.ctx.Err() != nil {
		return RoomEntry{}, ErrClosed
	}
	e.Node = d.cfg.Node
	e.Updated = time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return RoomEntry{}, err
	}
	// Each turn of the loop follows a lost race: the entry it saw changed.
	// A few are enough: a live winner ends it with ErrOwned.
	for range 5 {
		rev, err := d.rooms.Create(ctx, e.Name, data)
		if err == nil {
			if d.takeFormer(e.Name) {
				e.From = d.cfg.Node
			}
			return d.hold(e, rev), nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
		}
		kve, err := d.rooms.Get(ctx, e.Name)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile: Create again
		}
		if err != nil {
			return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
		}
		cur, err := decodeRoom(kve)
		if err == nil && cur.Node != d.cfg.Node {
			// Ask the bucket, not our view: the view may lag a heartbeat
			// behind, and a takeover of a live node's room splits it.
			alive, err := d.alive(ctx, cur.Node)
			if err != nil {
				return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
			}
			if alive {
				d.takeFormer(e.Name) // restored by another node meanwhile
				return RoomEntry{}, &OwnedError{Entry: cur}
			}
		}
		// Ours already (a former life of this node), unreadable, or its
		// owner is dead: take it over, unless someone beats us to it.
		// A private room stays out of lists and matching while it is
		// restored: whoever claims it may not know yet what it is.
		take := data
		if (cur.Private && !e.Private) || (cur.Secret && !e.Secret) {
			taken := e
			taken.Private, taken.Secret = e.Private || cur.Private, e.Secret || cur.Secret
			if take, err = json.Marshal(taken); err != nil {
				return RoomEntry{}, err
			}
		}
		rev, err = d.rooms.Update(ctx, e.Name, take, kve.Revision())
		if err == nil {
			e.Private, e.Secret = e.Private || cur.Private, e.Secret || cur.Secret
			if cur.Node != d.cfg.Node {
				d.log.Info("took over room of dead node", "room", e.Name, "from", cur.Node)
				e.From = cur.Node
			}
			if d.takeFormer(e.Name) {
				e.From = cur.Node // a former life of this node's: restore it
			}
			return d.hold(e, rev), nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return RoomEntry{}, fmt.Errorf("cluster: claiming %q: %w", e.Name, err)
		}
	}
	return RoomEntry{}, fmt.Errorf("cluster: claiming %q: too much contention", e.Name)
}

// takeFormer reports whether name is a room of this node's former life
// still to restore, and forgets it: a claim restores it now.
func (d *Directory) takeFormer(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.former[name]
	delete(d.former, name)
	return ok
}

func (d *Directory) hold(e RoomEntry, rev uint64) RoomEntry {
	e.Version = rev
	d.mu.Lock()
	d.owned[e.Name] = rev
	d.mu.Unlock()
	return e
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

// Update rewrites the entry of a room this node owns (its mode, players,
// capacity). It fails with ErrNotOwner if the room was taken over or
// reaped since this node last wrote it, as happens when this node's
// heartbeats failed for longer than the TTL: the caller then Claims the
// room again, or closes it if a live node now owns it.
func (d *Directory) Update(ctx context.Context, e RoomEntry) (RoomEntry, error) {
	if err := checkName(e.Name); err != nil {
		return RoomEntry{}, err
	}
	d.mu.RLock()
	rev, ok := d.owned[e.Name]
	d.mu.RUnlock()
	if !ok {
		return RoomEntry{}, fmt.Errorf("%w: %q", ErrNotOwner, e.Name)
	}
	e.Node = d.cfg.Node
	e.Updated = time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return RoomEntry{}, err
	}
	nrev, err := d.rooms.Update(ctx, e.Name, data, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		d.drop(e.Name, rev)
		return RoomEntry{}, fmt.Errorf("%w: %q was taken over or deleted", ErrNotOwner, e.Name)
	}
	if err != nil {
		return RoomEntry{}, fmt.Errorf("cluster: updating %q: %w", e.Name, err)
	}
	return d.hold(e, nrev), nil
}

// Release deletes the entry of a room this node owns; it leaves alone an
// entry another node has taken over.
func (d *Directory) Release(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	d.mu.RLock()
	rev, ok := d.owned[name]
	d.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNotOwner, name)
	}
	err := forget(ctx, d.rooms, name, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		d.drop(name, rev)
		return fmt.Errorf("%w: %q was taken over", ErrNotOwner, name)
	}
	if err != nil {
		return fmt.Errorf("cluster: releasing %q: %w", name, err)
	}
	d.drop(name, rev)
	return nil
}

// drop forgets a room unless a Claim or Update wrote it again meanwhile.
func (d *Directory) drop(name string, rev uint64) {
	d.mu.Lock()
	if d.owned[name] == rev {
		delete(d.owned, name)
	}
	d.mu.Unlock()
}

// Handoff makes node to the owner of a room this node owns, by
// compare-and-swap, before to imports it: from then on joins anywhere are
// sent there. It returns the entry's new revision, which Reclaim needs if
// to does not take the room.
func (d *Directory) Handoff(ctx context.Context, name, to string) (uint64, error) {
	if err := checkName(to); err != nil {
		return 0, err
	}
	d.mu.RLock()
	rev, ok := d.owned[name]
	d.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrNotOwner, name)
	}
	e, err := d.get(ctx, name, rev)
	if err != nil {
		return 0, err
	}
	e.Node, e.Updated = to, time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	nrev, err := d.rooms.Update(ctx, name, data, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		d.drop(name, rev)
		return 0, fmt.Errorf("%w: %q was taken over", ErrNotOwner, name)
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: handing %q to %q: %w", name, to, err)
	}
	d.drop(name, rev)
	return nrev, nil
}

// Reclaim takes back a room handed off at revision rev that its new owner
// did not take. ErrNotOwner means the entry changed since: the other node
// adopted the room after all.
func (d *Directory) Reclaim(ctx context.Context, name string, rev uint64) error {
	e, err := d.get(ctx, name, rev)
	if err != nil {
		return err
	}
	e.Node, e.Updated = d.cfg.Node, time.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	nrev, err := d.rooms.Update(ctx, name, data, rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("%w: %q changed since its handoff", ErrNotOwner, name)
	}
	if err != nil {
		return fmt.Errorf("cluster: reclaiming %q: %w", name, err)
	}
	d.hold(e, nrev)
	return nil
}

// Adopt makes this node the owner of a room another node handed to it.
func (d *Directory) Adopt(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	kve, err := d.rooms.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("cluster: adopting %q: %w", name, err)
	}
	e, err := decodeRoom(kve)
	if err != nil {
		return fmt.Errorf("cluster: adopting %q: %w", name, err)
	}
	if e.Node != d.cfg.Node {
		return fmt.Errorf("%w: %q is %q's", ErrNotOwner, name, e.Node)
	}
	d.hold(e, kve.Revision())
	return nil
}

// get reads a room's entry, which must be at revision rev.
func (d *Directory) get(ctx context.Context, name string, rev uint64) (RoomEntry, error) {
	kve, err := d.rooms.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return RoomEntry{}, fmt.Errorf("%w: %q is gone", ErrNotOwner, name)
	}
	if err != nil {
		return RoomEntry{}, fmt.Errorf("cluster: reading %q: %w", name, err)
	}
	if kve.Revision() != rev {
		return RoomEntry{}, fmt.Errorf("%w: %q changed", ErrNotOwner, name)
	}
	return decodeRoom(kve)
}

// SaveDoc stores a room's document (room.Export), replacing the last.
func (d *Directory) SaveDoc(ctx context.Context, name string, doc []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := d.docs.PutBytes(ctx, name, doc); err != nil {
		return fmt.Errorf("cluster: saving %q: %w", name, err)
	}
	return nil
}

// LoadDoc returns the room's last stored document.
func (d *Directory) LoadDoc(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	doc, err := d.docs.GetBytes(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cluster: loading %q: %w", name, err)
	}
	return doc, nil
}

// HasDoc reports whether the room has a stored document.
func (d *Directory) HasDoc(ctx context.Context, name string) bool {
	if checkName(name) != nil {
		return false
	}
	_, err := d.docs.GetInfo(ctx, name)
	return err == nil
}

// DeleteDoc forgets the room's document: the room ended.
func (d *Directory) DeleteDoc(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	err := d.docs.Delete(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("cluster: deleting %q: %w", name, err)
	}
	return nil
}

// NewPlayerID returns a player ID unique across the cluster, or 0 if none
// can be had now (see IDs).
func (d *Directory) NewPlayerID() game.PlayerID { return d.ids.New() }

// PlayerIDsUsed returns the share of the cluster's 2³² player IDs reserved
// so far (see IDs.Used).
func (d *Directory) PlayerIDsUsed() float64 { return d.ids.Used() }

// Conn returns the directory's NATS connection.
func (d *Directory) Conn() *nats.Conn { return d.nc }

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

// forget deletes a room's entry if it is still at revision rev. Its marker
// goes too after a while: a plain delete would leave one for every room
// name ever used, and every watcher reads them all on start.
func forget(ctx context.Context, kv jetstream.KeyValue, name string, rev uint64) error {
	return kv.Purge(ctx, name, jetstream.LastRevision(rev), jetstream.PurgeTTL(markerTTL))
}

// markerTTL is long enough for every live watcher to see a purge; one
// that starts later finds no key, which is all the marker would tell it.
var markerTTL = time.Minute

// Lookup returns the room's entry if its owner is alive.
func (d *Directory) Lookup(name string) (RoomEntry, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	r, ok := d.roomView[name]
	if !ok {
		return RoomEntry{}, false
	}
	if _, alive := d.nodeView[r.Node]; !alive {
		return RoomEntry{}, false
	}
	return r, true
}

// Rooms returns the rooms whose owners are alive, sorted by name.
func (d *Directory) Rooms() []RoomEntry {
	d.mu.RLock()
	rooms := make([]RoomEntry, 0, len(d.roomView))
	for _, r := range d.roomView {
		if _, alive := d.nodeView[r.Node]; alive {
			rooms = append(rooms, r)
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(rooms, func(a, b RoomEntry) int { return strings.Compare(a.Name, b.Name) })
	return rooms
}

// Mine returns the rooms the directory gives this node, but for those of its
// former life still to restore (Former).
func (d *Directory) Mine() []RoomEntry {
	d.mu.RLock()
	var rooms []RoomEntry
	for _, r := range d.roomView {
		if _, former := d.former[r.Name]; r.Node == d.cfg.Node && !former {
			rooms = append(rooms, r)
		}
	}
	d.mu.RUnlock()
	return rooms
}

// Forget deletes the room's entry if it is still e's revision: an entry
// under this node's name for a room that does not run here.
func (d *Directory) Forget(ctx context.Context, e RoomEntry) error {
	if err := forget(ctx, d.rooms, e.Name, e.Version); err != nil {
		return fmt.Errorf("cluster: forgetting %q: %w", e.Name, err)
	}
	d.drop(e.Name, e.Version)
	return nil
}

// Orphans returns the rooms whose owners are not alive, as this node's view
// has them: rooms of a node that died, which a survivor may restore.
func (d *Directory) Orphans() []RoomEntry {
	d.mu.RLock()
	var rooms []RoomEntry
	for _, r := range d.roomView {
		if _, alive := d.nodeView[r.Node]; !alive && r.Node != d.cfg.Node {
			rooms = append(rooms, r)
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(rooms, func(a, b RoomEntry) int { return strings.Compare(a.Name, b.Name) })
	return rooms
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

// Fullest returns the room of the mode with the most players that still
// has a free seat (a capacity of 0 has no limit), so that players gather
// rather than spread thin; ties go to the first name. Options, if not nil,
// are the room options it must have (all of them, defaults included).
func (d *Directory) Fullest(mode string, options map[string]string) (RoomEntry, bool) {
	var best RoomEntry
	found := false
	for _, r := range d.Rooms() {
		if r.Mode != mode || (r.Capacity > 0 && r.Players+r.Held >= r.Capacity) || r.Private || r.Secret {
			continue
		}
		if options != nil && !maps.Equal(r.Options, options) {
			continue
		}
		if !found || r.Players > best.Players {
			best, found = r, true
		}
	}
	return best, found
}

// LeastLoaded returns the live node that takes new rooms (not draining, not
// full) with the fewest players, where a new room is best created; ties go
// to the first name.
func (d *Directory) LeastLoaded() (NodeEntry, bool) {
	var best NodeEntry
	found := false
	for _, n := range d.Nodes() {
		if n.Draining || n.Full {
			continue
		}
		if !found || n.Players < best.Players {
			best, found = n, true
		}
	}
	return best, found
}

func decodeRoom(e jetstream.KeyValueEntry) (RoomEntry, error) {
	var r RoomEntry
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return RoomEntry{}, err
	}
	r.Name, r.Version = e.Key(), e.Revision()
	return r, nil
}

func decodeNode(e jetstream.KeyValueEntry) (NodeEntry, error) {
	var n NodeEntry
	if err := json.Unmarshal(e.Value(), &n); err != nil {
		return NodeEntry{}, err
	}
	n.Name = e.Key()
	return n, nil
}

// watch mirrors a bucket into *view until the directory closes. Each
// (re)start loads the bucket's current values into a fresh map and swaps it
// in whole, so keys deleted while the watcher was down do not linger.
//
// The watcher is restarted when its subscription ends, and after every
// reconnect: its ordered consumer would notice a restarted server only on
// missing two 5 s idle heartbeats, and the view would be stale that long.
func watch[T any](d *Directory, kv jetstream.KeyValue, view *map[string]T, decode func(jetstream.KeyValueEntry) (T, error), ready chan struct{}) {
	defer d.wg.Done()
	reconnected := d.nc.StatusChanged(nats.CONNECTED)
	defer d.nc.RemoveStatusListener(reconnected)
	log := d.log.With("bucket", kv.Bucket())
	backoff := 50 * time.Millisecond
	for d.ctx.Err() == nil {
		w, err := kv.WatchAll(d.ctx)
		if err != nil {
			if d.ctx.Err() != nil {
				return
			}
			log.Warn("watch failed; retrying", "err", err, "in", backoff)
			select {
			case <-d.ctx.Done():
				return
			case <-reconnected:
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		fresh := map[string]T{} // nil once loaded: then changes go to *view
	loop:
		for {
			select {
			case <-d.ctx.Done():
				stop(w)
				return
			case <-reconnected:
				log.Info("reconnected; reloading")
				stop(w)
				break loop
			case e, ok := <-w.Updates():
				if !ok {
					log.Info("watch ended; restarting")
					break loop
				}
				if e == nil {
					d.mu.Lock()
					*view, fresh = fresh, nil
					d.mu.Unlock()
					if ready != nil {
						close(ready)
						ready = nil
					}
					continue
				}
				m := fresh
				if m == nil {
					d.mu.Lock()
					m = *view
				}
				apply(log, m, e, decode)
				if fresh == nil {
					d.mu.Unlock()
				}
			}
		}
	}
}

// stop does not wait: unsubscribing deletes the watcher's consumer, and
// with NATS down that waits out a 5 s request timeout, which would hold up
// Close.
func stop(w jetstream.KeyWatcher) {
	go func() { _ = w.Stop() }()
	// The watcher's callback blocks while its channel is full, and only
	// closes it once the callback returns: drain it, or the subscription's
	// goroutine never ends.
	go func() {
		for range w.Updates() {
		}
	}()
}

func apply[T any](log *slog.Logger, m map[string]T, e jetstream.KeyValueEntry, decode func(jetstream.KeyValueEntry) (T, error)) {
	// Deletes, purges and the markers left by TTL expiry all arrive as
	// KeyValueDelete or KeyValuePurge.
	if e.Operation() != jetstream.KeyValuePut {
		delete(m, e.Key())
		return
	}
	v, err := decode(e)
	if err != nil {
		log.Warn("unreadable entry ignored", "key", e.Key(), "err", err)
		delete(m, e.Key())
		return
	}
	m[e.Key()] = v
}
