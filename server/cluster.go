package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/room"
)

// clusterSync is how often a node writes its rooms' player counts and its
// load to the cluster's directory: what other nodes' matchmaking and room
// lists see lags by as much.
const clusterSync = time.Second

// seatHold is how long a node holds a seat for a player another node
// redirects to it: the redirect and a new WebSocket take milliseconds.
const seatHold = 5 * time.Second

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
func (s *Server) runCluster(ctx context.Context) (stop func(), err error) {
	c := s.cfg.Cluster
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

// drainCluster tells the cluster this node takes no more players, so that
// matchmakers stop sending them here, and moves its rooms away.
func (s *Server) drainCluster(ctx context.Context) {
	s.cfg.Cluster.Directory().SetDraining(true)
	s.moveRooms(ctx)
}

// moveRooms sends every room of this node to other nodes of the cluster,
// before a shutdown: their players are told where to reconnect and resume.
// A room that cannot move (its mode cannot save its state, or no node
// takes it) stays, and closes with the shutdown as it would alone.
func (s *Server) moveRooms(ctx context.Context) {
	c := s.cfg.Cluster
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
