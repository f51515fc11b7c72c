package server

import (
	"context"
	"fmt"
	"maps"

	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/room"
)

// quickJoin seats a player who asked for a mode and no room. A client
// that can follow a redirect goes where clusterMatch says; others are
// matched among this node's rooms.
func (s *Server) quickJoin(ctx context.Context, mode string, req room.JoinRequest) (*room.Room, room.Joined, error) {
	if !req.Redirectable {
		return s.rooms.QuickJoin(ctx, mode, req)
	}
	to, err := s.clusterMatch(mode, req.RoomOptions)
	if err != nil {
		return nil, room.Joined{}, err
	}
	if to != nil {
		return nil, room.Joined{}, to
	}
	return s.rooms.QuickJoin(ctx, mode, req)
}

// clusterMatch is where a quick-join of mode, asking for the room options
// raw, belongs when that is another node: the fullest room of the mode
// with space (and with those options, if any are asked for) on any node,
// or else a new room on the node with the fewest players. Nil means here.
func (s *Server) clusterMatch(mode string, raw map[string]string) (*room.ElsewhereError, error) {
	nodes := s.cluster.nodes()
	if len(nodes) == 0 {
		// No node in view, not even this one: a server alone. The join
		// that follows here checks the mode and options.
		return nil, nil
	}
	md, err := s.rooms.Mode(mode)
	if err != nil {
		return nil, err
	}
	var want map[string]string // nil: any options
	if len(raw) > 0 {
		opts, err := game.ParseOptions(md.RoomOptions, raw)
		if err != nil {
			return nil, fmt.Errorf("room options: %w", err)
		}
		want = opts.Map()
	}
	return s.clusterMatchMode(nodes, md.Name, want), nil
}

func (s *Server) clusterMatchMode(nodes []cluster.NodeEntry, mode string, want map[string]string) *room.ElsewhereError {
	c := s.cluster
	if e, ok := fullestRoom(c.rooms(), mode, want); ok {
		if e.Node == c.node() {
			return nil
		}
		if to := c.elsewhere(e); to.URL != "" {
			return to
		}
	}
	// A new room: here, unless another node carries fewer players, or
	// this one takes no new rooms. The answer names the room, so that the
	// other node creates it rather than match again, by a view that may
	// differ from ours.
	self, _ := c.nodeOf(c.node())
	full := s.takesNoRooms(len(s.rooms.Rooms()))
	if n, ok := leastLoadedNode(nodes); ok && n.Name != self.Name && (full || n.Players < self.Players) && n.URL != "" {
		return &room.ElsewhereError{Room: room.FreshName(mode), Node: n.Name, URL: n.URL}
	}
	return nil
}

// fullestRoom returns, of rooms, the room of the mode with the most
// players that still has a free seat (a capacity of 0 has no limit), so
// that players gather rather than spread thin; ties go to the first, which
// is the first by name in the directory's Rooms. Options, if not nil, are
// the room options it must have (all of them, defaults included).
func fullestRoom(rooms []cluster.RoomEntry, mode string, options map[string]string) (cluster.RoomEntry, bool) {
	var best cluster.RoomEntry
	found := false
	for _, r := range rooms {
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

// leastLoadedNode returns, of nodes, the one that takes new rooms (not
// draining, not full) with the fewest players, where a new room is best
// created; ties go to the first, which is the first by name in the
// directory's Nodes.
func leastLoadedNode(nodes []cluster.NodeEntry) (cluster.NodeEntry, bool) {
	var best cluster.NodeEntry
	found := false
	for _, n := range nodes {
		if n.Draining || n.Full {
			continue
		}
		if !found || n.Players < best.Players {
			best, found = n, true
		}
	}
	return best, found
}
