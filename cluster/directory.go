// Package cluster is the cluster's directory: which node owns which room and
// which nodes are alive, kept in two NATS JetStream key-value buckets that
// every node watches into memory, so lookups cost no round trip.
package cluster

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/arena-server/arena/game"
)

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

// The rule of nats.go's own key check, kept here so that a bad name gets a
// clear error before any round trip.
var keyRe = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func checkName(name string) error {
	if !keyRe.MatchString(name) || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return nil
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

// NewPlayerID returns a player ID unique across the cluster, or 0 if none
// can be had now (see IDs).
func (d *Directory) NewPlayerID() game.PlayerID { return d.ids.New() }

// PlayerIDsUsed returns the share of the cluster's 2³² player IDs reserved
// so far (see IDs.Used).
func (d *Directory) PlayerIDsUsed() float64 { return d.ids.Used() }

// Conn returns the directory's NATS connection.
func (d *Directory) Conn() *nats.Conn { return d.nc }

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
