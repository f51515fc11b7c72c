package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/room"
)

// clusterSync is how often a node writes its rooms' player counts and its
// load to the cluster's directory: what other nodes' matchmaking and room
// lists see lags by as much.
const clusterSync = time.Second

// seatHold is how long a node holds a seat for a player another node
// redirects to it: the redirect and a new WebSocket take milliseconds.
const seatHold = 5 * time.Second

// Cluster is what a server needs of the cluster it is a node of: where
// rooms are claimed, and where those of other nodes run; the other nodes,
// for matchmaking and room lists; player IDs; the trust between nodes
// (relays, origins, seats held for redirects); and the work a node does
// for the cluster beside serving, and when it drains.
//
// A server alone has the standalone one, which answers as a single node
// does: nothing runs elsewhere and there is nothing to do; Config.Cluster,
// a *cluster.Node, makes it a node of a real cluster. Its methods are
// unexported: this package holds its two implementations, and callers
// choose between them through Config.
type Cluster interface {
	// directory is the room manager's room.Directory, where rooms are
	// claimed; nil: none, the rooms are this server's own.
	directory() room.Directory
	// playerIDs is where player IDs come from; nil: the room manager
	// counts them.
	playerIDs() func() game.PlayerID
	// collectors are the cluster's metrics.
	collectors() []prometheus.Collector

	// node is this node's name; "" alone.
	node() string
	// rooms and nodes are the live rooms and nodes of the directory, by
	// name; nodeOf is the live node called name.
	rooms() []cluster.RoomEntry
	nodes() []cluster.NodeEntry
	nodeOf(name string) (cluster.NodeEntry, bool)
	// elsewhere is the error of a join of e, a room another node runs.
	elsewhere(e cluster.RoomEntry) *room.ElsewhereError

	// knownOrigin reports whether origin is that of a node's pages.
	knownOrigin(origin string) bool
	// signRelay and verifyRelay sign this node's relays and check those
	// of other nodes (see cluster.Relay).
	signRelay(to, addr, query string, at time.Time) (cluster.Relay, []byte)
	verifyRelay(r cluster.Relay, sig []byte, now time.Time) error
	// reserve asks the node of to for a seat in its room, held for the
	// player at addr that this node redirects there, and returns the
	// seat's token, or "".
	reserve(ctx context.Context, to *room.ElsewhereError, addr string) string

	// run starts this node's part in the cluster beside s's Serve; stop
	// ends it.
	run(ctx context.Context, s *Server) (stop func(), err error)
	// drain tells the cluster this node takes no more players, and moves
	// s's rooms away, before a shutdown.
	drain(ctx context.Context, s *Server)
}

// newCluster is the Cluster of a server that node makes a node of a
// cluster, or the standalone one if node is nil: the one place where a
// server asks whether it has a cluster.
func newCluster(node *cluster.Node) Cluster {
	if node == nil {
		return standalone{}
	}
	return &clusterNode{node}
}

var (
	_ Cluster = (*clusterNode)(nil)
	_ Cluster = standalone{}
)

// clusterNode is a server's Cluster when it is a node of one.
type clusterNode struct{ n *cluster.Node }

func (c *clusterNode) directory() room.Directory { return c.n }

// playerIDs come from the directory, unique across nodes, so that a
// player keeps its ID wherever its room moves.
func (c *clusterNode) playerIDs() func() game.PlayerID { return c.n.Directory().NewPlayerID }

func (c *clusterNode) collectors() []prometheus.Collector {
	return []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "arena", Name: "player_ids_used_ratio",
		Help: "Share of the cluster's 2^32 player IDs reserved so far; joins fail once it reaches 1."},
		c.n.Directory().PlayerIDsUsed)}
}

func (c *clusterNode) node() string                   { return c.n.Directory().Node() }
func (c *clusterNode) rooms() []cluster.RoomEntry     { return c.n.Directory().Rooms() }
func (c *clusterNode) nodes() []cluster.NodeEntry     { return c.n.Directory().Nodes() }
func (c *clusterNode) knownOrigin(origin string) bool { return c.n.Directory().KnownOrigin(origin) }

func (c *clusterNode) nodeOf(name string) (cluster.NodeEntry, bool) {
	return c.n.Directory().NodeOf(name)
}

func (c *clusterNode) elsewhere(e cluster.RoomEntry) *room.ElsewhereError { return c.n.Elsewhere(e) }

func (c *clusterNode) signRelay(to, addr, query string, at time.Time) (cluster.Relay, []byte) {
	return c.n.Directory().SignRelay(to, addr, query, at)
}

func (c *clusterNode) verifyRelay(r cluster.Relay, sig []byte, now time.Time) error {
	return c.n.Directory().VerifyRelay(r, sig, now)
}

func (c *clusterNode) reserve(ctx context.Context, to *room.ElsewhereError, addr string) string {
	return c.n.Reserve(ctx, to, addr)
}

func (c *clusterNode) run(ctx context.Context, s *Server) (stop func(), err error) {
	return s.runCluster(ctx, c.n)
}

func (c *clusterNode) drain(ctx context.Context, s *Server) {
	c.n.Directory().SetDraining(true)
	s.moveRooms(ctx, c.n)
}

// standalone is the Cluster of a server alone: a single node, which
// claims its rooms from nobody, relays to nobody and trusts no relay.
type standalone struct{}

// errStandalone refuses the relay headers a server alone is sent: no node
// may vouch for a client here.
var errStandalone = fmt.Errorf("%w: this server is no node of a cluster", cluster.ErrRelayNode)

func (standalone) directory() room.Directory                          { return nil }
func (standalone) playerIDs() func() game.PlayerID                    { return nil }
func (standalone) collectors() []prometheus.Collector                 { return nil }
func (standalone) node() string                                       { return "" }
func (standalone) rooms() []cluster.RoomEntry                         { return nil }
func (standalone) nodes() []cluster.NodeEntry                         { return nil }
func (standalone) nodeOf(string) (cluster.NodeEntry, bool)            { return cluster.NodeEntry{}, false }
func (standalone) knownOrigin(string) bool                            { return false }
func (standalone) verifyRelay(cluster.Relay, []byte, time.Time) error { return errStandalone }

func (standalone) reserve(context.Context, *room.ElsewhereError, string) string { return "" }

// A server alone has no room elsewhere, and no key to sign a relay with;
// these answer as a cluster that knows no other node would.
func (standalone) elsewhere(e cluster.RoomEntry) *room.ElsewhereError {
	return &room.ElsewhereError{Room: e.Name, Node: e.Node}
}

func (standalone) signRelay(to, addr, query string, at time.Time) (cluster.Relay, []byte) {
	return cluster.Relay{To: to, For: addr, Query: query, At: at}, nil
}

func (standalone) run(context.Context, *Server) (func(), error) { return func() {}, nil }
func (standalone) drain(context.Context, *Server)               {}

// takesNoRooms reports whether this node, running rooms rooms, would
// refuse a new one: at -max-rooms, or refusing new players for want of
// CPU. Its heartbeat says so, so that no other node's matchmaking places
// a room here.
func (s *Server) takesNoRooms(rooms int) bool {
	return (s.cfg.MaxRooms > 0 && rooms >= s.cfg.MaxRooms) || s.overload.full()
}

// Rooms returns the figures of this server's own live rooms, by name.
func (s *Server) Rooms() []room.Stats { return s.rooms.Rooms() }

// Cluster returns the cluster node this server is, or nil.
func (s *Server) Cluster() *cluster.Node { return s.cfg.Cluster }

// importRoom runs a room another node moves here.
func (s *Server) importRoom(doc []byte) error {
	if s.draining.Load() {
		return errors.New("this node is shutting down")
	}
	_, err := s.rooms.Import(doc)
	return err
}

// movesAtOnce bounds the rooms a draining node moves at the same time: each
// stands still while it moves, so they go side by side, but a thousand at
// once would only queue in NATS.
const movesAtOnce = 8

// runCluster runs this node's part in the cluster beside Serve: its rooms'
// figures, checkpoints and the restore of dead nodes' rooms, and the rooms
// and seats other nodes ask it for. stop ends them.
func (s *Server) runCluster(ctx context.Context, c *cluster.Node) (stop func(), err error) {
	stopImports, err := c.ServeImports(s.importRoom)
	if err != nil {
		return nil, fmt.Errorf("cluster: taking rooms: %w", err)
	}
	stopHolds, err := c.ServeReservations(func(ctx context.Context, name, addr string) (string, error) {
		return s.rooms.Reserve(ctx, name, addr, seatHold)
	})
	if err != nil {
		stopImports()
		return nil, fmt.Errorf("cluster: holding seats: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.Sync(ctx, clusterSync, s.rooms.Rooms, s.takesNoRooms, s.evictRoom) })
	wg.Go(func() { c.Recover(ctx, clusterSync, func() bool { return !s.draining.Load() }, s.rooms.Open) })
	if s.cfg.CheckpointInterval > 0 {
		wg.Go(func() { c.Checkpoint(ctx, s.cfg.CheckpointInterval, s.exportRooms) })
	}
	return func() {
		cancel()
		wg.Wait()
		stopHolds()
		stopImports()
	}, nil
}

// moveRooms sends every room of this node to other nodes of the cluster,
// before a shutdown: their players are told where to reconnect and resume.
// A room that cannot move (its mode cannot save its state, or no node
// takes it) stays, and closes with the shutdown as it would alone.
func (s *Server) moveRooms(ctx context.Context, c *cluster.Node) {
	rooms := s.rooms.Rooms()
	start := time.Now()
	var moved atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, movesAtOnce)
	for _, st := range rooms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.rooms.Move(ctx, st.Name, c.Mover(ctx, st.Name)); err != nil {
				s.log.Warn("cluster: room not moved; it closes here", "room", st.Name, "players", st.Players, "err", err)
				s.metrics.roomMoves.WithLabelValues("failed").Inc()
				return
			}
			moved.Add(1)
			s.metrics.roomMoves.WithLabelValues("moved").Inc()
		})
	}
	wg.Wait()
	s.log.Info("cluster: rooms moved", "moved", moved.Load(), "of", len(rooms), "took", time.Since(start))
}

// exportRooms returns the documents of this node's rooms, for a checkpoint.
// Rooms of modes that cannot save their state have none.
func (s *Server) exportRooms(ctx context.Context) map[string][]byte {
	docs := map[string][]byte{}
	for _, st := range s.rooms.Rooms() {
		doc, err := s.rooms.Export(ctx, st.Name)
		switch {
		case err == nil:
			docs[st.Name] = doc
		case errors.Is(err, room.ErrNotPersistent), errors.Is(err, room.ErrNoRoom), errors.Is(err, room.ErrRoomClosed):
		default:
			s.log.Warn("cluster: no checkpoint of a room", "room", st.Name, "err", err)
		}
	}
	return docs
}

// evictRoom ends a room that another node owns now, sending its players
// there to resume.
func (s *Server) evictRoom(name string, to *room.ElsewhereError) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := s.rooms.Move(ctx, name, func([]byte) (*room.ElsewhereError, error) { return to, nil })
	if err != nil {
		s.log.Warn("cluster: a room another node owns still runs here", "room", name, "err", err)
	}
}
