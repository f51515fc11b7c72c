package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/arena-server/arena/matchmaker"
	"github.com/arena-server/arena/room"
)

// defaultMatchSize is the size of a matched room of a mode with no cap
// on its players, on a server with no room capacity: a room of its own
// would otherwise wait for ever to fill.
const defaultMatchSize = 4

// runMatchmaker runs the matchmaker's matcher beside Serve; it matches
// only while this node holds the matcher's lease (see package
// matchmaker). stop ends it.
func (s *Server) runMatchmaker(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	seater := &matchSeater{s: s, rooms: map[string]*matchRoom{}}
	go func() {
		defer close(done)
		s.cfg.Matchmaker.Run(ctx, seater)
	}()
	return func() { cancel(); <-done }
}

// matchSeater is the matchmaker's Seater on this server: it makes the
// matched rooms here, private (kept out of room lists and quick-join, so
// that anonymous players do not fill a rated room), and holds their
// players' seats with Manager.ReserveGroup.
type matchSeater struct {
	s  *Server
	mu sync.Mutex
	// rooms are the rooms it made, with their players' ratings, for
	// backfill. A room that is no longer live is forgotten.
	rooms map[string]*matchRoom
}

type matchRoom struct {
	pool  string
	muSum float64 // of the players it seated, for the room's mean
	rated int
}

var _ matchmaker.Seater = (*matchSeater)(nil)

// Rules are the mode's: rooms of its capacity (MaxPlayers, or the
// server's room capacity), the default rating windows.
func (m *matchSeater) Rules(mode string) (matchmaker.Rules, error) {
	md, err := m.s.rooms.Mode(mode)
	if err != nil {
		return matchmaker.Rules{}, err
	}
	size := m.s.rooms.Capacity(md)
	if size == 0 {
		size = defaultMatchSize
	}
	rules := matchmaker.DefaultRules(size)
	rules.BotsAfter = md.BotsAfter
	return rules, nil
}

// OpenRooms are the live rooms it made for the mode and options with
// seats free: their capacity less their players and the seats held.
func (m *matchSeater) OpenRooms(mode string, options map[string]string) []matchmaker.OpenRoom {
	pool := matchmaker.PoolKey(mode, options)
	live := map[string]room.Stats{}
	for _, st := range m.s.rooms.Rooms() {
		live[st.Name] = st
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var open []matchmaker.OpenRoom
	for name, r := range m.rooms {
		st, ok := live[name]
		if !ok {
			delete(m.rooms, name)
			continue
		}
		if r.pool != pool || st.Capacity <= 0 {
			continue
		}
		if free := st.Capacity - st.Players - st.Held; free > 0 && r.rated > 0 {
			open = append(open, matchmaker.OpenRoom{Name: name, Free: free, Mu: r.muSum / float64(r.rated)})
		}
	}
	return open
}

// Seat makes the group's room if it is new, and holds a seat for each of
// its players there.
func (m *matchSeater) Seat(ctx context.Context, mode string, options map[string]string, g matchmaker.Group) (matchmaker.Placement, error) {
	players := 0
	for _, t := range g.Tickets {
		players += t.Players()
	}
	name := g.Room
	if name == "" {
		// Created for no address: the matchmaker is not a client whose
		// room-creation rate applies, though the server's -max-rooms does.
		r, err := m.s.rooms.Create(ctx, "", mode, "", options, true, "")
		if err != nil {
			return matchmaker.Placement{}, fmt.Errorf("matched room: %w", err)
		}
		name = r.Name()
		if g.Bots > 0 {
			// Before the seats: the room is new, and nobody is in it yet.
			if err := m.s.rooms.FillBots(ctx, name, players+g.Bots); err != nil {
				m.s.log.Warn("matchmaker: a room started short of players has no bots", "room", name, "err", err)
			}
		}
	}
	seats, err := m.s.rooms.ReserveGroup(ctx, name, players, m.s.cfg.Matchmaker.SeatHold())
	if err != nil {
		return matchmaker.Placement{}, fmt.Errorf("seats in %s: %w", name, err)
	}
	m.mu.Lock()
	r := m.rooms[name]
	if r == nil {
		r = &matchRoom{pool: matchmaker.PoolKey(mode, options)}
		m.rooms[name] = r
	}
	for _, t := range g.Tickets {
		r.muSum += t.Rating.Mu * float64(t.Players())
		r.rated += t.Players()
	}
	m.mu.Unlock()
	return matchmaker.Placement{Room: name, URL: m.url(), Seats: seats}, nil
}

// url is where players reach this node: its URL in a cluster (its
// -public-url), else "", the server the client asked.
func (m *matchSeater) url() string {
	if n, ok := m.s.cluster.nodeOf(m.s.cluster.node()); ok {
		return n.URL
	}
	return ""
}
