package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

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
// that a live node owns already is an *room.ElsewhereError naming it. A
// room of a node that died is taken over, with its last checkpoint, if it
// has one, to restore it from.
func (n *Node) Claim(ctx context.Context, name, mode string, options map[string]string, capacity, tickRate int, privacy room.Privacy) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	e, err := n.dir.Claim(ctx, RoomEntry{Name: name, Mode: mode, Options: options, Capacity: capacity, TickRate: tickRate, Private: privacy.Private, Secret: privacy.Secret})
	if owner, ok := OwnerOf(err); ok {
		return nil, n.Elsewhere(owner)
	}
	if err != nil || e.From == "" {
		return nil, err
	}
	doc, err := n.dir.LoadDoc(ctx, name)
	if err != nil {
		n.log.Warn("cluster: a dead node's room has no checkpoint; it starts anew", "room", name, "dead", e.From, "err", err)
		return nil, nil
	}
	if e.From == n.dir.Node() {
		n.log.Info("cluster: restoring a room of this node's former life from its checkpoint", "room", name)
	} else {
		n.log.Info("cluster: restoring a dead node's room from its checkpoint", "room", name, "dead", e.From)
	}
	return doc, nil
}

// Owner returns where the room runs if the directory's view gives it to
// another live node, or nil.
func (n *Node) Owner(name string) *room.ElsewhereError {
	e, ok := n.dir.Lookup(name)
	if !ok || e.Node == n.dir.Node() {
		return nil
	}
	return n.Elsewhere(e)
}

// resumeTimeout bounds the round trip of a resume's record: a player
// waits on it, and NATS answers in a millisecond when it is well. A
// record that times out is no resume lost: the player keeps its token.
const resumeTimeout = time.Second

// RecordResume records that the resume token of hash old is spent for the
// one of hash next, before the player is told next (see
// Directory.RecordResume).
func (n *Node) RecordResume(ctx context.Context, old, next string) error {
	ctx, cancel := context.WithTimeout(ctx, resumeTimeout)
	defer cancel()
	err := n.dir.RecordResume(ctx, old, next)
	if err != nil {
		n.log.Warn("cluster: a resume not recorded; the player keeps its token", "err", err)
	}
	return err
}

// ForgetResume deletes the record of a resume that did not happen.
func (n *Node) ForgetResume(ctx context.Context, old string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resumeTimeout)
	defer cancel()
	if err := n.dir.ForgetResume(ctx, old); err != nil {
		n.log.Warn("cluster: the record of a resume that failed is left; a restore may void the player's token", "err", err)
	}
}

// NextHashes returns, of hashes, those a recorded resume spent, each with
// its successor (see Directory.NextHashes).
func (n *Node) NextHashes(ctx context.Context, hashes []string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	return n.dir.NextHashes(ctx, hashes)
}

// Elsewhere is the error of a join of a room another node runs.
func (n *Node) Elsewhere(e RoomEntry) *room.ElsewhereError {
	err := &room.ElsewhereError{Room: e.Name, Node: e.Node}
	if node, ok := n.dir.NodeOf(e.Node); ok {
		err.URL = node.URL
	}
	return err
}

// Release gives up a room that stopped here, and its checkpoint: a room
// that ended is not one to restore.
func (n *Node) Release(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	if err := n.dir.Release(ctx, name); err != nil && !errors.Is(err, ErrNotOwner) {
		n.log.Warn("cluster: room not released; it leaves the directory with this node", "room", name, "err", err)
	}
	if err := n.dir.DeleteDoc(ctx, name); err != nil {
		n.log.Warn("cluster: the checkpoint of a room that ended is left", "room", name, "err", err)
	}
}

// Checkpoint stores the document of every room of this node, as export
// gives them, every interval until ctx ends: if this node dies, another
// restores its rooms from them, losing at most an interval of play.
func (n *Node) Checkpoint(ctx context.Context, interval time.Duration, export func(ctx context.Context) map[string][]byte) {
	every(ctx, interval, func() {
		for name, doc := range export(ctx) {
			if n.ownedElsewhere(name) {
				continue // its owner's checkpoints are the ones to keep
			}
			sctx, cancel := context.WithTimeout(ctx, n.timeout)
			err := n.dir.SaveDoc(sctx, name, doc)
			cancel()
			if err != nil && ctx.Err() == nil {
				n.log.Warn("cluster: checkpoint not stored", "room", name, "err", err)
			}
		}
	})
}

// every calls f every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// Recover brings back, every interval until ctx ends, the rooms of nodes
// that died and left a checkpoint, while this node takes rooms (taking
// reports whether it does). open opens a room as a join would, and so
// claims it (see Claim), which restores it. Every survivor tries; the
// directory's compare-and-swap gives each room to one.
func (n *Node) Recover(ctx context.Context, interval time.Duration, taking func() bool, open func(ctx context.Context, name, mode string) error) {
	every(ctx, interval, func() {
		// A former life's rooms first: their players are the ones
		// waiting for this node.
		for _, e := range append(n.dir.Former(), n.dir.Orphans()...) {
			if !taking() || ctx.Err() != nil {
				return
			}
			rctx, cancel := context.WithTimeout(ctx, n.timeout)
			// A room without a checkpoint would come back empty: its
			// players, if they come back, recreate it themselves.
			if n.dir.HasDoc(rctx, e.Name) {
				if err := open(rctx, e.Name, e.Mode); err != nil {
					var elsewhere *room.ElsewhereError
					if !errors.As(err, &elsewhere) {
						n.log.Warn("cluster: a dead node's room not restored", "room", e.Name, "dead", e.Node, "err", err)
					}
				}
			}
			cancel()
		}
	})
}

// ownedElsewhere reports whether this node's view of the directory gives
// the room to another live node.
func (n *Node) ownedElsewhere(name string) bool {
	e, ok := n.dir.Lookup(name)
	return ok && e.Node != n.dir.Node()
}

// reserveSubject is where a node holds seats for players other nodes send.
func reserveSubject(node string) string { return "arena.node." + node + ".reserve" }

// reserveRequest asks a node to hold a seat in its room for a client its
// peer redirects there, charged to the client's address.
type reserveRequest struct {
	Room string `json:"room"`
	Addr string `json:"addr,omitempty"`
}

// reservation is a reserve request's answer.
type reservation struct {
	Seat  string `json:"seat,omitempty"`
	Error string `json:"error,omitempty"`
}

// ServeReservations holds seats in this node's rooms for players other
// nodes redirect here (hold is the manager's Reserve), until stop.
func (n *Node) ServeReservations(hold func(ctx context.Context, room, addr string) (string, error)) (stop func(), err error) {
	sub, err := n.dir.Conn().Subscribe(reserveSubject(n.dir.Node()), func(msg *nats.Msg) {
		ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
		defer cancel()
		var r reservation
		var req reserveRequest
		if err := json.Unmarshal(msg.Data, &req); err != nil {
			r.Error = "bad reserve request"
		} else if seat, err := hold(ctx, req.Room, req.Addr); err != nil {
			r.Error = err.Error()
		} else {
			r.Seat = seat
		}
		data, _ := json.Marshal(r)
		_ = msg.Respond(data)
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

// Reserve asks the node a redirect sends a player to for a seat in its
// room, charged to addr, the player's address, and returns the seat's
// token; "" if it has none to give (the room is full, addr holds as many
// seats as it may, the room is not yet created, or the node does not
// answer in time). The redirect goes ahead either way.
func (n *Node) Reserve(ctx context.Context, to *room.ElsewhereError, addr string) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := json.Marshal(reserveRequest{Room: to.Room, Addr: addr})
	msg, err := n.dir.Conn().RequestWithContext(ctx, reserveSubject(to.Node), req)
	if err != nil {
		return ""
	}
	var r reservation
	if json.Unmarshal(msg.Data, &r) != nil || r.Error != "" {
		return ""
	}
	return r.Seat
}

// importSubject is where a node takes rooms other nodes hand it.
func importSubject(node string) string { return "arena.node." + node + ".import" }

// ServeImports takes the rooms other nodes move here: for each, it loads
// the room's document from the store, runs it with restore (the
// manager's Import), and adopts it in the directory. It answers the mover
// with nothing on success, or why not. stop ends it.
func (n *Node) ServeImports(restore func(doc []byte) error) (stop func(), err error) {
	sub, err := n.dir.Conn().Subscribe(importSubject(n.dir.Node()), func(msg *nats.Msg) {
		name := string(msg.Data)
		err := n.adopt(name, restore)
		reply := []byte(nil)
		if err != nil {
			n.log.Warn("cluster: room not taken", "room", name, "err", err)
			reply = []byte(err.Error())
		}
		_ = msg.Respond(reply)
	})
	if err != nil {
		return nil, err
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

func (n *Node) adopt(name string, restore func(doc []byte) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	doc, err := n.dir.LoadDoc(ctx, name)
	if err != nil {
		return err
	}
	if err := restore(doc); err != nil {
		return err
	}
	// The room runs here now; a join that comes before the adoption
	// finds it here already.
	return n.dir.Adopt(ctx, name)
}

// Mover returns what room.Manager.Move needs to send the room name to
// another node: it stores the room's document, hands the room to the
// live node with the fewest players that is not draining, in the
// directory, and asks that node to take it, trying the next if one will
// not. Its answer says where the room went, for its players.
func (n *Node) Mover(ctx context.Context, name string) func(doc []byte) (*room.ElsewhereError, error) {
	return func(doc []byte) (*room.ElsewhereError, error) {
		if err := n.dir.SaveDoc(ctx, name, doc); err != nil {
			return nil, err
		}
		var errs []error
		for _, to := range n.targets() {
			rev, err := n.dir.Handoff(ctx, name, to.Name)
			if err != nil {
				return nil, err
			}
			rctx, cancel := context.WithTimeout(ctx, n.timeout)
			reply, err := n.dir.Conn().RequestWithContext(rctx, importSubject(to.Name), []byte(name))
			cancel()
			if err == nil && len(reply.Data) == 0 {
				return &room.ElsewhereError{Room: name, Node: to.Name, URL: to.URL}, nil
			}
			if err == nil {
				err = errors.New(string(reply.Data))
			}
			errs = append(errs, fmt.Errorf("%s: %w", to.Name, err))
			// Take the room back to try the next node, unless the one
			// that did not answer in time took it after all.
			if rerr := n.dir.Reclaim(ctx, name, rev); errors.Is(rerr, ErrNotOwner) {
				return &room.ElsewhereError{Room: name, Node: to.Name, URL: to.URL}, nil
			} else if rerr != nil {
				return nil, errors.Join(append(errs, rerr)...)
			}
		}
		if len(errs) == 0 {
			return nil, errors.New("cluster: no other live node to move the room to")
		}
		return nil, fmt.Errorf("cluster: no node took the room: %w", errors.Join(errs...))
	}
}

// targets are the live nodes a room may move to, fewest players first.
func (n *Node) targets() []NodeEntry {
	var to []NodeEntry
	for _, e := range n.dir.Nodes() {
		if e.Name != n.dir.Node() && !e.Draining && !e.Full && e.URL != "" {
			to = append(to, e)
		}
	}
	slices.SortStableFunc(to, func(a, b NodeEntry) int { return cmp.Compare(a.Players, b.Players) })
	return to
}

// Sync keeps the directory's figures of this node's rooms, and the load
// in its heartbeat, as rooms reports them, every interval until ctx ends;
// full says whether the node takes new rooms, given how many it runs.
//
// A room that runs here but that another live node now owns (this node's
// heartbeats failed, and that node restored the room from a checkpoint)
// is given to evict, which ends it here and sends its players there: two
// copies of a room must not play on.
//
// An entry under this node's name for a room that does not run here (a
// claim that timed out, then reached NATS after all) is deleted once two
// passes in a row find it unchanged: else matchmaking sends players to a
// room nobody runs. One pass is not enough: a room is claimed a moment
// before it starts.
func (n *Node) Sync(ctx context.Context, interval time.Duration, rooms func() []room.Stats, full func(rooms int) bool, evict func(name string, to *room.ElsewhereError)) {
	type figures struct{ players, held, spectators int }
	sent := map[string]figures{}  // room → the figures the directory has
	ghosts := map[string]uint64{} // entries of ours for rooms not here → revision
	every(ctx, interval, func() {
		stats := rooms()
		players := 0
		live := make(map[string]bool, len(stats))
		for _, st := range stats {
			players += st.Players
			live[st.Name] = true
			// Unchanged figures need no write, unless the directory says
			// another node owns the room: the write then finds out.
			if f, ok := sent[st.Name]; ok && f == (figures{st.Players, st.Held, st.Spectators}) && !n.ownedElsewhere(st.Name) {
				continue
			}
			uctx, cancel := context.WithTimeout(ctx, n.timeout)
			entry := RoomEntry{Name: st.Name, Mode: st.Mode, Players: st.Players, Held: st.Held, Spectators: st.Spectators, Capacity: st.Capacity, TickRate: st.TickRate,
				Options: st.Options.Public(), Private: st.Private, Secret: st.Options.HasSecret()}
			_, err := n.dir.Update(uctx, entry)
			cancel()
			switch {
			case err == nil:
				sent[st.Name] = figures{st.Players, st.Held, st.Spectators}
			case errors.Is(err, ErrNotOwner):
				// Our heartbeats failed long enough for the room to be
				// taken over or reaped: its players are still here, so
				// claim it back if nobody else has.
				cctx, cancel := context.WithTimeout(ctx, n.timeout)
				_, cerr := n.dir.Claim(cctx, entry)
				cancel()
				if owner, ok := OwnerOf(cerr); ok {
					n.log.Warn("cluster: a room that runs here is owned by another node; its players go there", "room", st.Name, "owner", owner.Node)
					evict(st.Name, n.Elsewhere(owner))
				} else if cerr != nil {
					n.log.Warn("cluster: a room that runs here is not in the directory", "room", st.Name, "err", cerr)
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
		seen := map[string]uint64{}
		for _, e := range n.dir.Mine() {
			if live[e.Name] {
				continue
			}
			if rev, ok := ghosts[e.Name]; !ok || rev != e.Version {
				seen[e.Name] = e.Version
				continue
			}
			fctx, cancel := context.WithTimeout(ctx, n.timeout)
			err := n.dir.Forget(fctx, e)
			cancel()
			if err == nil {
				n.log.Warn("cluster: deleted the directory's entry of a room that does not run here", "room", e.Name)
			}
		}
		ghosts = seen
		n.dir.SetLoad(len(stats), players, full(len(stats)))
	})
}
