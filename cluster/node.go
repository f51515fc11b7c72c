package cluster

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/arena-server/arena/room"
)

// Node is one arena node's part in the cluster, between its room.Manager
// and the Directory: it claims the rooms the manager creates (it is the
// manager's room.Directory), keeps their player counts current in the
// directory, and the node's load in its heartbeat.
type Node struct {
	dir *Directory
	log *slog.Logger
	// timeout bounds each round trip, so that a NATS outage delays a new
	// room's creation by that much, and never the rooms that run.
	timeout time.Duration
}

// NewNode returns the node of dir.
func NewNode(dir *Directory, log *slog.Logger) *Node {
	if log == nil {
		log = slog.Default()
	}
	return &Node{dir: dir, log: log, timeout: 2 * time.Second}
}

// Directory returns the node's directory.
func (n *Node) Directory() *Directory { return n.dir }

var _ room.Directory = (*Node)(nil)

// Claim makes this node the owner of a room it is about to create. A room
// that a live node owns already is an *room.ElsewhereError naming it.
func (n *Node) Claim(ctx context.Context, name, mode string, capacity int) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	_, err := n.dir.Claim(ctx, RoomEntry{Name: name, Mode: mode, Capacity: capacity})
	if owner, ok := OwnerOf(err); ok {
		return n.Elsewhere(owner)
	}
	return err
}

// Elsewhere is the error of a join of a room another node runs.
func (n *Node) Elsewhere(e RoomEntry) *room.ElsewhereError {
	err := &room.ElsewhereError{Room: e.Name, Node: e.Node}
	if node, ok := n.dir.NodeOf(e.Node); ok {
		err.URL = node.URL
	}
	return err
}

// Release gives up a room that stopped here.
func (n *Node) Release(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	if err := n.dir.Release(ctx, name); err != nil && !errors.Is(err, ErrNotOwner) {
		n.log.Warn("cluster: room not released; it leaves the directory with this node", "room", name, "err", err)
	}
}

// Sync keeps the directory's figures of this node's rooms, and the load
// in its heartbeat, as rooms reports them, every interval until ctx ends.
func (n *Node) Sync(ctx context.Context, interval time.Duration, rooms func() []room.Stats) {
	t := time.NewTicker(interval)
	defer t.Stop()
	sent := map[string]int{} // room → the players the directory has
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stats := rooms()
		players := 0
		live := make(map[string]bool, len(stats))
		for _, st := range stats {
			players += st.Players
			live[st.Name] = true
			if p, ok := sent[st.Name]; ok && p == st.Players {
				continue
			}
			uctx, cancel := context.WithTimeout(ctx, n.timeout)
			_, err := n.dir.Update(uctx, RoomEntry{Name: st.Name, Mode: st.Mode, Players: st.Players, Capacity: st.Capacity})
			cancel()
			switch {
			case err == nil:
				sent[st.Name] = st.Players
			case errors.Is(err, ErrNotOwner):
				// Our heartbeats failed long enough for the room to be
				// taken over or reaped: its players are still here, so
				// claim it back if nobody else has.
				cctx, cancel := context.WithTimeout(ctx, n.timeout)
				_, cerr := n.dir.Claim(cctx, RoomEntry{Name: st.Name, Mode: st.Mode, Players: st.Players, Capacity: st.Capacity})
				cancel()
				if cerr != nil {
					n.log.Warn("cluster: a room that runs here is owned by another node", "room", st.Name, "err", cerr)
				}
			default:
				n.log.Debug("cluster: room figures not updated", "room", st.Name, "err", err)
			}
		}
		for name := range sent {
			if !live[name] {
				delete(sent, name)
			}
		}
		n.dir.SetLoad(len(stats), players)
	}
}
