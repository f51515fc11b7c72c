package matchmaker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/store"
)

// Defaults of Config.
const (
	DefaultInterval  = 250 * time.Millisecond
	DefaultTicketTTL = 2 * time.Minute
	// DefaultSeatHold is how long a matched player's seat waits for it:
	// it learns of its match at its next poll (a second or so) and then
	// connects.
	DefaultSeatHold = 30 * time.Second
	DefaultMaxParty = 8
	// forgetAfter is how long a ticket that left the pool is kept, for a
	// player who polls late to read how it ended.
	forgetAfter = 10 * time.Minute
	// leaseName is the lease of the one matcher a cluster runs.
	leaseName = "matcher"
)

// Ratings reads players' ratings in a mode from the store. Accounts with
// none are left out of the map, and play at DefaultRating.
type Ratings interface {
	Ratings(ctx context.Context, mode string, accounts []string) (map[string]Rating, error)
}

// Config configures a Service.
type Config struct {
	// DB holds the pool. Required.
	DB *store.DB
	// Authenticate checks an access token (accounts.Service's). Required.
	Authenticate func(ctx context.Context, token string) (accounts.Identity, error)
	// Ratings gives the players' ratings; nil: everyone plays at
	// DefaultRating.
	Ratings Ratings
	// Modes are the server's modes: a ticket names one of them, the
	// first by default, and the room options it allows.
	Modes []game.Mode
	// Holder names this node for the matcher's lease; default a random
	// name.
	Holder string
	// Interval is how often the matcher runs; TicketTTL how long a ticket
	// waits before it expires; SeatHold how long a matched player's seat
	// is held; MaxParty the most accounts of a ticket. Defaults above.
	Interval  time.Duration
	TicketTTL time.Duration
	SeatHold  time.Duration
	MaxParty  int
	// Log receives what goes wrong. Default slog.Default().
	Log *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Seater is where the matcher puts players: the server of the node that
// runs it. It knows the modes' sizes, the rooms it made that have seats
// free, and it makes rooms and holds seats in them.
type Seater interface {
	// Rules are how the mode is matched.
	Rules(mode string) (Rules, error)
	// OpenRooms are the rooms of the mode and options made by the
	// matchmaker that have seats free.
	OpenRooms(mode string, options map[string]string) []OpenRoom
	// Seat holds a seat for every player of g's tickets in g.Room, or in
	// a new room of the mode and options if g.Room is "".
	Seat(ctx context.Context, mode string, options map[string]string, g Group) (Placement, error)
}

// Placement is where Seat put a group: the room, the URL of the server
// it runs on, and a seat token for each player, in the order of the
// group's tickets and each ticket's Accounts.
type Placement struct {
	Room  string
	URL   string
	Seats []string
}

// Service is a node's matchmaker: the HTTP API of tickets, and the
// matcher, which runs on one node of a cluster at a time.
type Service struct {
	cfg    Config
	db     *store.DB
	log    *slog.Logger
	modes  map[string]game.Mode
	seater atomic.Pointer[Seater]
}

// New returns the Service of cfg.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Authenticate == nil {
		return nil, errors.New("matchmaker: a store and an authenticator are required")
	}
	if len(cfg.Modes) == 0 {
		return nil, errors.New("matchmaker: no modes")
	}
	if cfg.Holder == "" {
		cfg.Holder = newID()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.TicketTTL <= 0 {
		cfg.TicketTTL = DefaultTicketTTL
	}
	if cfg.SeatHold <= 0 {
		cfg.SeatHold = DefaultSeatHold
	}
	if cfg.MaxParty <= 0 {
		cfg.MaxParty = DefaultMaxParty
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, db: cfg.DB, log: cfg.Log, modes: map[string]game.Mode{}}
	for _, m := range cfg.Modes {
		s.modes[m.Name] = m
	}
	return s, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SeatHold is how long a matched player's seat is held (Config.SeatHold).
func (s *Service) SeatHold() time.Duration { return s.cfg.SeatHold }

// Run runs the matcher every Interval, while this node holds the lease,
// seating players with seater, until ctx is done.
func (s *Service) Run(ctx context.Context, seater Seater) {
	s.seater.Store(&seater)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if err := s.Step(ctx, seater); err != nil && ctx.Err() == nil {
			s.log.Warn("matchmaker: a run failed; the pool waits for the next", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step runs the matcher once, if this node holds the lease (or takes it):
// it expires old tickets, matches each pool, and takes the tickets of
// each room it seated out of the pool.
func (s *Service) Step(ctx context.Context, seater Seater) error {
	now := s.cfg.Now()
	// The lease outlives a few runs, so that a node that stops (or
	// stalls) hands the pool to another within a second.
	held, err := s.db.Lease(ctx, leaseName, s.cfg.Holder, now, 4*s.cfg.Interval)
	if err != nil || !held {
		return err
	}
	if err := s.db.ExpireTickets(ctx, now, now.Add(-forgetAfter)); err != nil {
		return err
	}
	waiting, err := s.db.WaitingTickets(ctx, now)
	if err != nil {
		return err
	}
	pools := map[string][]Ticket{}
	var order []string
	queued := map[string]bool{} // accounts of older tickets: waiting is oldest first
	for _, st := range waiting {
		shared := queued[st.Account]
		for _, a := range st.Party {
			shared = shared || queued[a]
		}
		queued[st.Account] = true
		for _, a := range st.Party {
			queued[a] = true
		}
		if shared {
			continue // waits until the older ticket leaves the pool
		}
		if _, ok := pools[st.Pool]; !ok {
			order = append(order, st.Pool)
		}
		pools[st.Pool] = append(pools[st.Pool], Ticket{ID: st.ID, Account: st.Account, Mode: st.Mode, Options: st.Options, Party: st.Party,
			Rating: Rating{Mu: st.Mu, Sigma: st.Sigma}, Created: st.Created})
	}
	for _, key := range order {
		tickets := pools[key]
		mode, options := tickets[0].Mode, tickets[0].Options
		rules, err := seater.Rules(mode)
		if err != nil {
			s.log.Warn("matchmaker: a pool's mode is gone; its tickets expire", "mode", mode, "err", err)
			continue
		}
		for _, g := range Match(now, rules, tickets, seater.OpenRooms(mode, options)) {
			s.place(ctx, seater, mode, options, g, now)
		}
	}
	return nil
}

// place seats a group and takes its tickets out of the pool. Seats held
// for tickets another matcher took meanwhile lapse unused.
func (s *Service) place(ctx context.Context, seater Seater, mode string, options map[string]string, g Group, now time.Time) {
	p, err := seater.Seat(ctx, mode, options, g)
	if err != nil {
		s.log.Warn("matchmaker: no seats for a match; its tickets wait", "mode", mode, "room", g.Room, "err", err)
		return
	}
	ms := make([]store.TicketMatch, len(g.Tickets))
	k := 0
	for i, t := range g.Tickets {
		ms[i] = store.TicketMatch{ID: t.ID, Room: p.Room, URL: p.URL, Seats: map[string]string{}}
		for _, a := range t.Accounts() {
			ms[i].Seats[a] = p.Seats[k]
			k++
		}
		if g.Teams != nil {
			ms[i].Team = g.Teams[i]
		}
	}
	if err := s.db.MatchTickets(ctx, ms, now); err != nil {
		s.log.Info("matchmaker: a match lost its tickets; its seats lapse", "room", p.Room, "err", err)
	}
}

// Errors of CreateTicket.
var (
	ErrUnknownMode = errors.New("matchmaker: no such mode")
	ErrBadParty    = errors.New("matchmaker: bad party")
	ErrBadOptions  = errors.New("matchmaker: bad room options")
)

// CreateTicket queues the player id, with its party, for mode with the
// room options raw: its ticket waits in the pool until it is matched,
// cancelled, or expires. The party's rating is read from the store.
func (s *Service) CreateTicket(ctx context.Context, id accounts.Identity, mode string, raw map[string]string, party []string) (store.MatchTicket, error) {
	md, ok := s.cfg.Modes[0], true
	if mode != "" {
		md, ok = s.modes[mode]
	}
	if !ok {
		return store.MatchTicket{}, fmt.Errorf("%w: %q", ErrUnknownMode, mode)
	}
	opts, err := game.ParseOptions(md.RoomOptions, raw)
	if err != nil {
		return store.MatchTicket{}, fmt.Errorf("%w: %v", ErrBadOptions, err)
	}
	if len(party) > s.cfg.MaxParty-1 {
		return store.MatchTicket{}, fmt.Errorf("%w: at most %d players", ErrBadParty, s.cfg.MaxParty)
	}
	seen := map[string]bool{id.Account: true}
	for _, a := range party {
		if seen[a] {
			return store.MatchTicket{}, fmt.Errorf("%w: %q twice", ErrBadParty, a)
		}
		seen[a] = true
		if _, err := s.db.AccountByID(ctx, a); errors.Is(err, store.ErrNotFound) {
			return store.MatchTicket{}, fmt.Errorf("%w: no account %q", ErrBadParty, a)
		} else if err != nil {
			return store.MatchTicket{}, err
		}
	}
	all := append([]string{id.Account}, party...)
	// An account in two waiting tickets (its own and a friend's party)
	// could be matched into two rooms. The unique index covers a
	// ticket's own account; this covers parties, and the matcher skips
	// the younger of two tickets that share an account, should two
	// requests race past it.
	if other, err := s.db.QueuedIn(ctx, all, s.cfg.Now()); err != nil {
		return store.MatchTicket{}, err
	} else if other != "" {
		return store.MatchTicket{}, fmt.Errorf("%w: a player of the ticket waits in another", store.ErrAlreadyQueued)
	}
	rating, err := s.rating(ctx, md.Name, all)
	if err != nil {
		return store.MatchTicket{}, err
	}
	options := opts.Map()
	now := s.cfg.Now()
	t := store.MatchTicket{ID: newID(), Account: id.Account, Pool: PoolKey(md.Name, options), Mode: md.Name, Options: options, Party: party,
		Mu: rating.Mu, Sigma: rating.Sigma, Created: now, Expires: now.Add(s.cfg.TicketTTL), State: store.TicketWaiting}
	if err := s.db.AddTicket(ctx, t); err != nil {
		return store.MatchTicket{}, err
	}
	return t, nil
}

// rating is the party's rating in mode, from the store.
func (s *Service) rating(ctx context.Context, mode string, all []string) (Rating, error) {
	rs := make([]Rating, len(all))
	var got map[string]Rating
	if s.cfg.Ratings != nil {
		var err error
		if got, err = s.cfg.Ratings.Ratings(ctx, mode, all); err != nil {
			return Rating{}, fmt.Errorf("matchmaker: ratings: %w", err)
		}
	}
	for i, a := range all {
		r, ok := got[a]
		if !ok {
			r = DefaultRating()
		}
		rs[i] = r
	}
	return PartyRating(rs), nil
}

// window is the rating window of a ticket of mode that waited wait, by
// the rules of the node's Seater (DefaultRules before one runs here).
func (s *Service) window(mode string, wait time.Duration) float64 {
	rules := DefaultRules(0)
	if p := s.seater.Load(); p != nil {
		if r, err := (*p).Rules(mode); err == nil {
			rules = r
		}
	}
	return rules.Window(wait)
}
