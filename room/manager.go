package room

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/addrlimit"
)

// ManagerConfig holds what every room of a Manager shares.
type ManagerConfig struct {
	// Modes the server offers. The first is the default.
	Modes []game.Mode
	// DefaultRoom is the room of clients that name none.
	DefaultRoom string
	// Room holds the settings of every room, except that a room's
	// Capacity is the smaller of Room.Capacity and its mode's MaxPlayers,
	// and its IdleTimeout is its mode's if the mode sets one (none for a
	// kept room). The zero value limits nothing; DefaultSettings are the
	// server's.
	Room Settings
	// KeepRooms are rooms that live as long as the manager, empty or
	// not: OpenKept creates them, and one whose game ends without a
	// rematch is created anew.
	KeepRooms []KeptRoom
	// MaxSeatsPerAddr bounds the seats, connected or away, one address
	// holds over every room (Room.MaxSeatsPerAddr: in one room). Zero: no
	// limit.
	MaxSeatsPerAddr int
	// MaxRooms bounds the live rooms; the default room is always allowed.
	// Zero: no limit.
	MaxRooms int
	// CreateRate and CreateBurst bound how fast one address creates rooms
	// (per second), the default room aside. Zero rate: no limit.
	CreateRate  float64
	CreateBurst int
	// Full, if set, reports that the box has no CPU to spare for new
	// players (see Host.Full).
	Full func() bool
	// Directory, if set, is the cluster's: a room is claimed there before
	// it is created, so that it runs on one node only, and released once
	// it stops.
	Directory Directory
	// NewPlayerID, if set, hands out player IDs, unique wherever it
	// says (a cluster's, across its nodes); else the manager counts them
	// itself, unique in this process.
	NewPlayerID func() game.PlayerID
	// OnResult, if set, is given the result of every game that ends in a
	// room of the manager (Host.Result), from the room's goroutine:
	// it must not block.
	OnResult func(Report)
	// Load, if set, reads a joining player's storage, the collections its
	// mode loads (game.Mode.Loads), on the joining connection's goroutine
	// before the join reaches the room (JoinRequest.Storage). Nil: players
	// join with none.
	Load LoadFunc
	// Save, if set, writes the saves of the rooms' games (Host.Save),
	// from a room's goroutine: it must not block. Nil: every save fails
	// with ErrNoStorage.
	Save SaveFunc
	// Submit, if set, writes the scores the rooms' games submit
	// (Host.Submit), from a room's goroutine: it must not block. Nil:
	// they are dropped.
	Submit func(game.Submission)
	// Metrics is shared by every room.
	Metrics Metrics
	Logger  *slog.Logger
}

// KeptRoom is a room that lives as long as its manager (ManagerConfig.KeepRooms).
type KeptRoom struct {
	Name, Mode string
}

// Directory is where the rooms of a cluster are claimed (package cluster).
type Directory interface {
	// Claim makes this node the owner of the room, or fails with an
	// *ElsewhereError if another node owns it. A room taken over from a
	// node that died comes with the document (Export) of its last
	// checkpoint, if it has one: it is restored from it, not created anew.
	// options are those lists may show (game.Options.Public): the
	// directory is readable by every NATS user.
	Claim(ctx context.Context, name, mode string, options map[string]string, capacity, tickRate int, privacy Privacy) (restore []byte, err error)
	// Release gives up a room that stopped.
	Release(name string)
	// Owner returns where the room runs if this node's view of the
	// directory gives it to another live node, or nil.
	Owner(name string) *ElsewhereError

	// RecordResume records durably that the resume token of hash old
	// (HashToken) is spent for the one of hash next, before the player is
	// told next; an error means it is not recorded. ForgetResume deletes
	// the record of a resume that did not happen after all.
	RecordResume(ctx context.Context, old, next string) error
	ForgetResume(ctx context.Context, old string)
	// NextHashes returns, of hashes, those a recorded resume spent, each
	// with the hash it was spent for. What it cannot read it leaves out.
	NextHashes(ctx context.Context, hashes []string) map[string]string
}

// Privacy says how a room keeps out of room lists and matchmaking.
type Privacy struct {
	// Private: never listed nor matched; joined by name only.
	Private bool
	// Secret: the room has options its mode marks Secret, which lists
	// leave out; it is never matched, as its options cannot be compared.
	Secret bool
}

// privacy is the Privacy of a room with these settings.
func privacy(private bool, opts game.Options) Privacy {
	return Privacy{Private: private, Secret: opts.HasSecret()}
}

// ElsewhereError is the error of a join of a room that another node of the
// cluster runs.
type ElsewhereError struct {
	Room, Node string
	// URL is where clients reach that node.
	URL string
}

func (e *ElsewhereError) Error() string {
	return fmt.Sprintf("room %q runs on node %q (%s)", e.Room, e.Node, e.URL)
}

// Manager creates rooms on first join, finds them by name, and disposes of
// them once they have been empty for a while.
type Manager struct {
	cfg    ManagerConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nextID atomic.Uint32
	create *addrlimit.Limiter // nil: no limit

	mu     sync.Mutex
	rooms  map[string]*Room
	tokens map[string]*Room // resume token's hash (HashToken) → the room its player is in
	seats  map[string]int   // address → seats it holds over every room
	// claiming holds the names whose claim or release in the Directory
	// is under way, closed when it is done: joins of that name wait for
	// it, others do not wait on the round trip.
	claiming map[string]chan struct{}
}

// Errors a join may return besides those of Room.Join.
var (
	ErrBadRoomName = errors.New("room names are 1 to 32 letters, digits, '-' or '_'")
	ErrUnknownMode = errors.New("unknown game mode")
	ErrWrongMode   = errors.New("room runs another game mode")
	// ErrTooManyRooms: the server holds MaxRooms rooms.
	ErrTooManyRooms = errors.New("the server holds as many rooms as it may; join a listed room")
	// ErrCreateRate: the client's address creates rooms too fast.
	ErrCreateRate = errors.New("rooms created too fast from your address; join a listed room or wait")
)

// NewManager returns a manager whose rooms run until Close.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if len(cfg.Modes) == 0 {
		return nil, errors.New("room manager: no game modes")
	}
	if cfg.DefaultRoom == "" {
		cfg.DefaultRoom = "default"
	}
	if !ValidName(cfg.DefaultRoom) {
		return nil, fmt.Errorf("room manager: default room %q: %w", cfg.DefaultRoom, ErrBadRoomName)
	}
	seen := make(map[string]bool)
	for _, k := range cfg.KeepRooms {
		if !ValidName(k.Name) {
			return nil, fmt.Errorf("room manager: kept room %q: %w", k.Name, ErrBadRoomName)
		}
		if !slices.ContainsFunc(cfg.Modes, func(md game.Mode) bool { return md.Name == k.Mode }) {
			return nil, fmt.Errorf("room manager: kept room %q: %w %q", k.Name, ErrUnknownMode, k.Mode)
		}
		if seen[k.Name] {
			return nil, fmt.Errorf("room manager: room %q is kept twice", k.Name)
		}
		seen[k.Name] = true
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var create *addrlimit.Limiter
	if cfg.CreateRate > 0 {
		create = addrlimit.New(rate.Limit(cfg.CreateRate), max(cfg.CreateBurst, 1), maxTrackedAddrs)
	}
	return &Manager{
		create:   create,
		cfg:      cfg,
		ctx:      ctx,
		cancel:   cancel,
		rooms:    make(map[string]*Room),
		tokens:   make(map[string]*Room),
		seats:    make(map[string]int),
		claiming: make(map[string]chan struct{}),
	}, nil
}

var roomName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ValidName reports whether name may name a room.
func ValidName(name string) bool { return roomName.MatchString(name) }

// Mode returns the mode called name; an empty name is the default mode.
func (m *Manager) Mode(name string) (game.Mode, error) {
	if name == "" {
		return m.cfg.Modes[0], nil
	}
	for _, mode := range m.cfg.Modes {
		if mode.Name == name {
			return mode, nil
		}
	}
	return game.Mode{}, fmt.Errorf("%w %q", ErrUnknownMode, name)
}

// Modes returns the modes rooms can run, the default first.
func (m *Manager) Modes() []game.Mode { return slices.Clone(m.cfg.Modes) }

// Join seats a player in the named room, creating it if needed. An empty
// name means the room of req.Token's player if it is still live, else the
// default room or, if that is full, an overflow room (see joinDefault). An empty mode accepts the room's mode, or creates the room
// with the default mode.
//
// In a cluster, a resume's new token is recorded in the Directory before
// the room hands it out (see resume).
func (m *Manager) Join(ctx context.Context, name, mode string, req JoinRequest) (*Room, Joined, error) {
	if req.loaded == nil {
		req.loaded = &storageLoad{} // shared by the rooms tried
	}
	if req.Token == "" {
		return m.joinNamed(ctx, name, mode, req)
	}
	hash := HashToken(req.Token)
	m.mu.Lock()
	r, known := m.tokens[hash]
	m.mu.Unlock()
	if known && name == "" {
		name = r.Name()
	}
	if !known || m.cfg.Directory == nil || req.NextToken != "" {
		return m.joinNamed(ctx, name, mode, req)
	}
	return m.resume(ctx, name, mode, hash, req)
}

// resume is the join of a player of this node's rooms that brings its
// token, in a cluster. A checkpoint written before the resume holds the
// token's hash: restored after this node died, it would revive the spent
// token and void the new one. So the new token is recorded in the
// Directory first (its hash, keyed by the old one's), which a restore
// follows (followResumes), and only then handed to the room to rotate to.
// If the record cannot be written, the player resumes with the token it
// came with, which is then not spent. If the resume does not happen after
// all, the record is deleted.
//
// It runs on the joining connection's goroutine, never the room's: a room
// never waits on NATS. Only tokens in the manager's index get a record, so
// that nobody fills the Directory with junk.
func (m *Manager) resume(ctx context.Context, name, mode, hash string, req JoinRequest) (*Room, Joined, error) {
	next := newToken()
	if err := m.cfg.Directory.RecordResume(ctx, hash, HashToken(next)); err != nil {
		return m.joinNamed(ctx, name, mode, req)
	}
	req.NextToken = next
	r, joined, err := m.joinNamed(ctx, name, mode, req)
	if err != nil || !joined.Resumed {
		m.cfg.Directory.ForgetResume(ctx, hash)
	}
	return r, joined, err
}

// joinNamed is Join once the room's name is known, or the default's.
func (m *Manager) joinNamed(ctx context.Context, name, mode string, req JoinRequest) (*Room, Joined, error) {
	if name == "" {
		return m.joinDefault(ctx, mode, req)
	}
	return m.join(ctx, name, mode, req)
}

// maxOverflow bounds how many overflow rooms a default join tries.
const maxOverflow = 1000

// joinDefault seats a player in the default room or, if that is full, in
// the first of default-2, default-3... with space, so that a full default
// room never turns a player away while the server has room.
func (m *Manager) joinDefault(ctx context.Context, mode string, req JoinRequest) (*Room, Joined, error) {
	name := m.cfg.DefaultRoom
	// The default rooms are the server's, shared by whoever names no room:
	// the first to arrive does not get to choose their options. Bad ones
	// are still refused.
	if len(req.RoomOptions) > 0 {
		md, err := m.Mode(mode)
		if err != nil {
			return nil, Joined{}, err
		}
		if _, err := game.ParseOptions(md.RoomOptions, req.RoomOptions); err != nil {
			return nil, Joined{}, fmt.Errorf("room options: %w", err)
		}
		req.RoomOptions = nil
	}
	for n := 2; ; n++ {
		r, joined, err := m.join(ctx, name, mode, req)
		// In a cluster, a default room on another node is one a client
		// that cannot follow a redirect overflows from, to one here.
		var elsewhere *ElsewhereError
		// An overflow room someone created with a password
		// (Create) is passed over as a full one is.
		full := errors.Is(err, ErrRoomFull) || errors.Is(err, game.ErrFull) || errors.Is(err, ErrWrongMode) ||
			errors.Is(err, ErrPasswordRequired) || (errors.As(err, &elsewhere) && !req.Redirectable)
		// A spectator watches the default room itself: an overflow room
		// is another game.
		if !full || n > maxOverflow || req.Watch {
			return r, joined, err
		}
		name = fmt.Sprintf("%.26s-%d", m.cfg.DefaultRoom, n)
	}
}

func (m *Manager) join(ctx context.Context, name, mode string, req JoinRequest) (*Room, Joined, error) {
	if !ValidName(name) {
		return nil, Joined{}, ErrBadRoomName
	}
	// A room may retire between our finding it and our joining it; then we
	// find or create it again. Retiring takes IdleTimeout, so this loops
	// at most a few times.
	for attempt := 0; ; attempt++ {
		r, err := m.room(ctx, name, mode, req.Addr, req.RoomOptions)
		if err != nil {
			return nil, Joined{}, err
		}
		joined, err := r.Join(ctx, m.loadStorage(ctx, r, req))
		if errors.Is(err, ErrRoomClosed) && attempt < 3 && m.ctx.Err() == nil {
			continue
		}
		if err != nil {
			return nil, Joined{}, fmt.Errorf("join room %q: %w", name, err)
		}
		return r, joined, nil
	}
}

// newRoom is what Create asks of a room beyond a join's room options: it
// must be new, and may be private or have a password.
type newRoom struct {
	create       bool // a live room of the name is ErrRoomExists
	private      bool
	passwordHash string
}

// room finds the named room, or creates it with the room options raw; in a
// cluster, only once this node has claimed it.
func (m *Manager) room(ctx context.Context, name, modeName, addr string, raw map[string]string) (*Room, error) {
	return m.roomSpec(ctx, name, modeName, addr, raw, newRoom{})
}

func (m *Manager) roomSpec(ctx context.Context, name, modeName, addr string, raw map[string]string, spec newRoom) (*Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.awaitClaim(ctx, name); err != nil {
		return nil, err
	}
	if m.ctx.Err() != nil {
		return nil, ErrShutdown
	}
	if r, ok := m.rooms[name]; ok {
		if spec.create {
			return nil, fmt.Errorf("%w: %q", ErrRoomExists, name)
		}
		if modeName != "" && r.Mode() != modeName {
			return nil, fmt.Errorf("%w: %q runs %q", ErrWrongMode, name, r.Mode())
		}
		// The room keeps its options, but options it could never have
		// taken are a client's mistake, refused wherever it joins.
		if _, err := game.ParseOptions(r.cfg.Mode.RoomOptions, raw); err != nil {
			return nil, fmt.Errorf("room options: %w", err)
		}
		return r, nil
	}
	mode, err := m.Mode(modeName)
	if err != nil {
		return nil, err
	}
	opts, err := game.ParseOptions(mode.RoomOptions, raw)
	if err != nil {
		return nil, fmt.Errorf("room options: %w", err)
	}
	if m.cfg.Directory != nil {
		// A room another node runs needs no claim to find out: the join
		// goes there, and creates nothing here to be charged for.
		if to := m.cfg.Directory.Owner(name); to != nil {
			if spec.create {
				return nil, fmt.Errorf("%w: %q runs on node %q", ErrRoomExists, name, to.Node)
			}
			return nil, to
		}
		// Charged before the claim: a claim is two writes to NATS (and a
		// release if the room is then refused), which an address past its
		// rate must not get for free.
		if err := m.mayCreate(name, addr, true); err != nil {
			return nil, err
		}
		doc, forward, err := m.claim(ctx, name, mode, opts.Public(), privacy(spec.private, opts))
		var elsewhere *ElsewhereError
		if spec.create && errors.As(err, &elsewhere) {
			return nil, fmt.Errorf("%w: %q runs on node %q", ErrRoomExists, name, elsewhere.Node)
		}
		if err != nil {
			return nil, err
		}
		if r, ok := m.rooms[name]; ok { // created here while we claimed
			if spec.create {
				return nil, fmt.Errorf("%w: %q", ErrRoomExists, name)
			}
			return r, nil
		}
		if m.ctx.Err() != nil {
			m.release(name)
			return nil, ErrShutdown
		}
		if doc != nil {
			r, err := m.restore(name, doc, forward)
			if err != nil {
				m.cfg.Logger.Warn("a checkpoint does not restore; the room starts anew", "room", name, "err", err)
			} else if modeName != "" && r.Mode() != modeName {
				return nil, fmt.Errorf("%w: %q runs %q", ErrWrongMode, name, r.Mode())
			} else if spec.create { // a dead node's room, back as it was
				return nil, fmt.Errorf("%w: %q", ErrRoomExists, name)
			} else {
				return r, nil
			}
		}
	}
	if m.cfg.Directory != nil {
		// Charged already; the claim's round trip may have let others
		// fill the server meanwhile.
		addr = ""
	}
	if err := m.mayCreate(name, addr, true); err != nil {
		if m.cfg.Directory != nil {
			m.release(name)
		}
		return nil, err
	}
	h := &roomHost{m: m}
	cfg := m.roomConfig(name, mode, opts, h)
	cfg.Private, cfg.PasswordHash = spec.private, spec.passwordHash
	r := New(cfg)
	h.r = r
	m.start(r)
	m.cfg.Logger.Info("room created", "room", name, "mode", mode.Name, "private", spec.private, "password", spec.passwordHash != "")
	return r, nil
}

// claim claims name in the Directory. The caller holds m.mu, and nobody is
// claiming name. A room taken over comes with its checkpoint, doc, and
// with the resumes recorded since, forward (see followResumes).
func (m *Manager) claim(ctx context.Context, name string, mode game.Mode, options map[string]string, p Privacy) (doc []byte, forward map[string]string, err error) {
	m.unlockedFor(name, func() {
		doc, err = m.cfg.Directory.Claim(ctx, name, mode.Name, options, m.capacity(mode), m.cfg.Room.TickRate, p)
		if err == nil && doc != nil {
			forward = m.followResumes(ctx, doc)
		}
	})
	return doc, forward, err
}

// maxResumeSteps bounds how many recorded resumes of one player a restore
// follows: as many as it resumed since the checkpoint, which is one
// interval (5 s by default) old. A player that resumed more often than
// this in that time is left at the last step, and resumes as a new player.
const maxResumeSteps = 8

// followResumes maps each member's token hash in doc, a checkpoint, to the
// hash of its newest token, where resumes were recorded (see resume) since
// the checkpoint was written. Each step asks only about the tokens the
// last one moved. It runs during the claim, off every room's goroutine and
// before the restored room takes a join.
func (m *Manager) followResumes(ctx context.Context, doc []byte) map[string]string {
	hashes, err := TokenHashes(doc)
	if err != nil || len(hashes) == 0 {
		return nil // Restore says why
	}
	forward := make(map[string]string)
	at := make(map[string]string, len(hashes)) // current hash → the checkpoint's
	for _, h := range hashes {
		at[h] = h
	}
	for range maxResumeSteps {
		next := m.cfg.Directory.NextHashes(ctx, slices.Collect(maps.Keys(at)))
		moved := make(map[string]string, len(next))
		for cur, nxt := range next {
			if orig, ok := at[cur]; ok {
				forward[orig] = nxt
				moved[nxt] = orig
			}
		}
		if len(moved) == 0 {
			break
		}
		at = moved
	}
	return forward
}

// unlockedFor runs f, a round trip to the Directory about the room name,
// without holding m.mu, which the caller holds: joins of other rooms go on
// meanwhile, and those of name wait for it (awaitClaim).
func (m *Manager) unlockedFor(name string, f func()) {
	ch := make(chan struct{})
	m.claiming[name] = ch
	m.mu.Unlock()
	f()
	m.mu.Lock()
	delete(m.claiming, name)
	close(ch)
}

// awaitClaim waits, not holding m.mu, which the caller holds, until no
// round trip about name is under way.
func (m *Manager) awaitClaim(ctx context.Context, name string) error {
	for ch := m.claiming[name]; ch != nil; ch = m.claiming[name] {
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			m.mu.Lock()
			return ctx.Err()
		}
		m.mu.Lock()
	}
	return nil
}

// Reserve holds a seat in the live room name for d, charged to addr (see
// Room.Reserve). A room with a password holds seats only for its password
// (ReservePassword): a redirect to it gets none, and its player is asked
// for the password there.
func (m *Manager) Reserve(ctx context.Context, name, addr string, d time.Duration) (string, error) {
	r, err := m.live(name)
	if err != nil {
		return "", err
	}
	if r.cfg.PasswordHash != "" {
		return "", ErrPasswordRequired
	}
	return r.Reserve(ctx, addr, d)
}

// ReserveGroup holds n seats in the live room name for d, all or none, for
// players the matchmaker placed there (see Room.ReserveGroup). A room with
// a password is ErrPasswordRequired: the matchmaker makes its rooms
// without.
func (m *Manager) ReserveGroup(ctx context.Context, name string, n int, d time.Duration) ([]string, error) {
	r, err := m.live(name)
	if err != nil {
		return nil, err
	}
	if r.cfg.PasswordHash != "" {
		return nil, ErrPasswordRequired
	}
	return r.ReserveGroup(ctx, n, d)
}

// FillBots has the live room name's game play bots in the seats of size
// no player holds (Room.FillBots).
func (m *Manager) FillBots(ctx context.Context, name string, size int) error {
	r, err := m.live(name)
	if err != nil {
		return err
	}
	return r.FillBots(ctx, size)
}

// MayCreate reports, without charging it, whether addr may create a room
// now: nil, ErrTooManyRooms or ErrCreateRate. It is for a caller with
// costly work to do before Create, which charges it.
func (m *Manager) MayCreate(addr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mayCreate("", addr, false)
}

// Create creates the room name, of mode with the room options raw, for
// addr, which is charged for it as for any room it creates; an empty name
// is a fresh one. private keeps it out of lists and matchmaking; a
// passwordHash (internal/password) makes new players join with a seat
// ReservePassword gives. A room of that name live here or, in a cluster,
// on any node, is ErrRoomExists, and so is the default room, live or not.
func (m *Manager) Create(ctx context.Context, name, mode, addr string, raw map[string]string, private bool, passwordHash string) (*Room, error) {
	md, err := m.Mode(mode)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = FreshName(md.Name)
	}
	if !ValidName(name) {
		return nil, ErrBadRoomName
	}
	if name == m.cfg.DefaultRoom {
		// It is everyone's, and exempt from the limits on creation: a
		// password on it would lock every player out.
		return nil, fmt.Errorf("%w: the default room is the server's", ErrRoomExists)
	}
	return m.roomSpec(ctx, name, md.Name, addr, raw, newRoom{create: true, private: private, passwordHash: passwordHash})
}

// ReservePassword holds a seat in the live room name for d, charged to
// addr (see Room.Reserve), if pw is the room's password: else
// ErrBadPassword. A room without a password holds one for any pw. verify
// checks a password against the room's hash (internal/password.Verify);
// it runs on the caller's goroutine, never the room's.
func (m *Manager) ReservePassword(ctx context.Context, name, addr, pw string, d time.Duration, verify func(ctx context.Context, hash, pw string) (bool, error)) (string, error) {
	r, err := m.live(name)
	if err != nil {
		return "", err
	}
	if hash := r.cfg.PasswordHash; hash != "" { // cfg never changes once the room runs
		ok, err := verify(ctx, hash, pw)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", ErrBadPassword
		}
	}
	return r.Reserve(ctx, addr, d)
}

// Open makes the room name live, as the first join would, without seating
// anyone: in a cluster, to restore a dead node's room before its players
// come back (see Directory.Claim).
func (m *Manager) Open(ctx context.Context, name, mode string) error {
	if !ValidName(name) {
		return ErrBadRoomName
	}
	_, err := m.room(ctx, name, mode, "", nil)
	return err
}

// release gives name back to the Directory, unless a room of that name runs
// here again. The caller holds m.mu.
func (m *Manager) release(name string) {
	_ = m.awaitClaim(context.Background(), name)
	if _, ok := m.rooms[name]; ok {
		return
	}
	m.unlockedFor(name, func() { m.cfg.Directory.Release(name) })
}

func (m *Manager) newPlayerID() game.PlayerID {
	if m.cfg.NewPlayerID != nil {
		return m.cfg.NewPlayerID()
	}
	return game.PlayerID(m.nextID.Add(1))
}

// capacity is how many players a room of mode seats: the smaller of the
// mode's MaxPlayers and the server's capacity, where each is set.
func (m *Manager) capacity(mode game.Mode) int {
	c := m.cfg.Room.Capacity
	if mp := mode.MaxPlayers; mp > 0 && (c == 0 || mp < c) {
		c = mp
	}
	return c
}

// Capacity is how many players a room of mode seats (0: no limit).
func (m *Manager) Capacity(mode game.Mode) int { return m.capacity(mode) }

// roomConfig is the configuration of the manager's room name, hosted by h.
func (m *Manager) roomConfig(name string, mode game.Mode, opts game.Options, h *roomHost) Config {
	set := m.cfg.Room
	set.Capacity = m.capacity(mode)
	set.IdleTimeout = m.idleTimeout(name, mode)
	return Config{
		Name:     name,
		Mode:     mode,
		Options:  opts,
		Settings: set,
		// In a cluster a resume's new token is recorded before it is
		// handed out (see resume): the room rotates to that one only.
		RecordedRotation: m.cfg.Directory != nil,
		Host:             h,
		Metrics:          m.cfg.Metrics,
		Logger:           m.cfg.Logger,
	}
}

// roomHost is the Manager as the Host of one of its rooms, r (set once the
// room exists). Its methods run on r's goroutine.
type roomHost struct {
	m *Manager
	r *Room
}

func (h *roomHost) Idle() bool                        { return h.m.retire(h.r) }
func (h *roomHost) Token(hash string, valid bool)     { h.m.token(h.r, hash, valid) }
func (h *roomHost) Seat(addr string, taken bool) bool { return h.m.seat(addr, taken) }
func (h *roomHost) Over()                             { h.m.retire(h.r) }
func (h *roomHost) Result(rep Report)                 { h.m.result(rep) }
func (h *roomHost) NewPlayerID() game.PlayerID        { return h.m.newPlayerID() }

func (h *roomHost) Submit(s game.Submission) {
	if h.m.cfg.Submit != nil {
		h.m.cfg.Submit(s)
	}
}

func (h *roomHost) Save(s game.Save, done func(game.SaveResult)) {
	if h.m.cfg.Save == nil {
		done(game.SaveResult{Save: s, Err: ErrNoStorage})
		return
	}
	h.m.cfg.Save(s, done)
}

func (h *roomHost) Full() bool {
	return h.m.cfg.Full != nil && h.m.cfg.Full()
}

// start registers and runs a new room. The caller holds m.mu.
func (m *Manager) start(r *Room) {
	name := r.Name()
	m.rooms[name] = r
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := r.Run(m.ctx)
		m.mu.Lock()
		if m.rooms[name] == r {
			delete(m.rooms, name) // a crashed room
		}
		// A room that moved lives on in the node it moved to, which the
		// directory says already.
		var moved *ElsewhereError
		if m.cfg.Directory != nil && !errors.As(err, &moved) {
			m.release(name)
		}
		m.mu.Unlock()
		m.cfg.Logger.Info("room stopped", "room", name, "reason", err)
		if errors.Is(err, ErrGameOver) && m.kept(name) != nil {
			m.openKept(*m.kept(name))
		}
	}()
}

// idleTimeout is how long the room name of mode lives with nobody in it:
// for ever (0) if it is kept or its mode keeps its rooms alive, else its
// mode's timeout or the manager's.
func (m *Manager) idleTimeout(name string, mode game.Mode) time.Duration {
	switch {
	case mode.KeepAlive || m.kept(name) != nil:
		return 0
	case mode.IdleTimeout > 0:
		return mode.IdleTimeout
	}
	return m.cfg.Room.IdleTimeout
}

// kept returns the kept room of that name, if it is one.
func (m *Manager) kept(name string) *KeptRoom {
	for i := range m.cfg.KeepRooms {
		if m.cfg.KeepRooms[i].Name == name {
			return &m.cfg.KeepRooms[i]
		}
	}
	return nil
}

// OpenKept creates the kept rooms (ManagerConfig.KeepRooms) that are not
// live. In a cluster, one that another node runs is left to it.
func (m *Manager) OpenKept() {
	for _, k := range m.cfg.KeepRooms {
		m.openKept(k)
	}
}

func (m *Manager) openKept(k KeptRoom) {
	if m.ctx.Err() != nil {
		return
	}
	err := m.Open(m.ctx, k.Name, k.Mode)
	var elsewhere *ElsewhereError
	switch {
	case errors.As(err, &elsewhere):
		m.cfg.Logger.Info("kept room runs on another node", "room", k.Name, "node", elsewhere.Node)
	case err != nil && !errors.Is(err, ErrShutdown):
		m.cfg.Logger.Warn("kept room not opened", "room", k.Name, "mode", k.Mode, "err", err)
	}
}

// result logs a game's result and passes it on. It runs on the room's
// goroutine.
func (m *Manager) result(rep Report) {
	m.cfg.Logger.Info("room result", "room", rep.Room, "mode", rep.Mode, "game", rep.Game, "key", rep.Key(),
		"summary", rep.Result.Summary, "standings", rep.Result.Standings)
	if m.cfg.OnResult != nil {
		m.cfg.OnResult(rep)
	}
}

// mayCreate says whether addr may create the room name now; take false
// only looks. The default room is always allowed, so that a flood of rooms
// never keeps players out of it. The caller holds m.mu.
func (m *Manager) mayCreate(name, addr string, take bool) error {
	if name == m.cfg.DefaultRoom {
		return nil
	}
	if m.cfg.MaxRooms > 0 && len(m.rooms) >= m.cfg.MaxRooms {
		return ErrTooManyRooms
	}
	allowed := true
	switch {
	case addr == "": // not counted
	case take:
		allowed = m.create.Allow(addr)
	default:
		allowed = m.create.Wait(addr) == 0
	}
	if !allowed {
		return ErrCreateRate
	}
	return nil
}

// retire removes an idle room. It runs on the room's goroutine.
func (m *Manager) retire(r *Room) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[r.Name()] == r {
		delete(m.rooms, r.Name())
	}
	return true
}

// token keeps the index of resume tokens, by hash. It runs on r's
// goroutine.
func (m *Manager) token(r *Room, hash string, valid bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if valid {
		m.tokens[hash] = r
	} else if m.tokens[hash] == r {
		delete(m.tokens, hash)
	}
}

// seat counts the seats of an address over every room. It runs on a room's
// goroutine, and refuses a seat beyond MaxSeatsPerAddr.
func (m *Manager) seat(addr string, taken bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !taken {
		if m.seats[addr]--; m.seats[addr] <= 0 {
			delete(m.seats, addr)
		}
		return true
	}
	if lim := m.cfg.MaxSeatsPerAddr; lim > 0 && m.seats[addr] >= lim {
		return false
	}
	m.seats[addr]++
	return true
}

// QuickJoin seats a player in the fullest room of the mode that has space,
// or in a new room of that mode.
func (m *Manager) QuickJoin(ctx context.Context, mode string, req JoinRequest) (*Room, Joined, error) {
	if req.loaded == nil {
		req.loaded = &storageLoad{} // shared by the rooms tried
	}
	var full map[string]bool // rooms whose game said it was full
	for attempt := 0; ; attempt++ {
		name, err := m.matchOptions(mode, req.Addr, req.RoomOptions, full)
		if err != nil {
			return nil, Joined{}, err
		}
		r, joined, err := m.Join(ctx, name, mode, req)
		// Others may have filled the room since we looked, or its game
		// is full short of its capacity (a team game's teams): look again,
		// past the rooms that said so.
		if (errors.Is(err, ErrRoomFull) || errors.Is(err, game.ErrFull) || errors.Is(err, ErrWrongMode)) && attempt < 5 {
			if errors.Is(err, game.ErrFull) {
				if full == nil {
					full = map[string]bool{}
				}
				full[name] = true
			}
			continue
		}
		return r, joined, err
	}
}

// Match names the room a quick-join of mode from addr should go to: the
// fullest live room of that mode with space left, or a fresh name if there
// is none and addr may create a room (ErrTooManyRooms, ErrCreateRate).
func (m *Manager) Match(mode, addr string) (string, error) {
	return m.MatchOptions(mode, addr, nil)
}

// MatchOptions is Match for a player who asks for room options: it
// matches only rooms whose options are those, and creates the room it
// names at once, so that the room has them when the player connects. No
// options match any room of the mode.
func (m *Manager) MatchOptions(mode, addr string, raw map[string]string) (string, error) {
	return m.matchOptions(mode, addr, raw, nil)
}

// matchOptions is MatchOptions, passing over the rooms in skip.
func (m *Manager) matchOptions(mode, addr string, raw map[string]string, skip map[string]bool) (string, error) {
	md, err := m.Mode(mode)
	if err != nil {
		return "", err
	}
	opts, err := game.ParseOptions(md.RoomOptions, raw)
	if err != nil {
		return "", fmt.Errorf("room options: %w", err)
	}
	best, bestPlayers := "", -1
	for _, st := range m.Rooms() {
		if st.Mode != md.Name || (st.Capacity > 0 && st.Players+st.Held >= st.Capacity) || skip[st.Name] {
			continue
		}
		// A private room is joined by name only, and so is one with
		// secret options: matching on them would tell whoever asks
		// whether a guess is right.
		if st.Private || st.Options.HasSecret() || opts.HasSecret() {
			continue
		}
		if len(raw) > 0 && !st.Options.Equal(opts) {
			continue
		}
		if st.Players > bestPlayers {
			best, bestPlayers = st.Name, st.Players
		}
	}
	if best != "" {
		return best, nil
	}
	name := FreshName(md.Name)
	if len(raw) > 0 {
		_, err := m.room(context.Background(), name, md.Name, addr, raw)
		return name, err
	}
	m.mu.Lock()
	err = m.mayCreate(name, addr, false)
	m.mu.Unlock()
	return name, err
}

// Rooms returns the figures of every live room, by name.
func (m *Manager) Rooms() []Stats {
	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	stats := make([]Stats, len(rooms))
	for i, r := range rooms {
		stats[i] = r.Stats()
	}
	slices.SortFunc(stats, func(a, b Stats) int { return strings.Compare(a.Name, b.Name) })
	return stats
}

// EvictAccount takes every seat of account out of every live room, for
// good (Room.Evict).
func (m *Manager) EvictAccount(account string, reason error) {
	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	for _, r := range rooms {
		r.Evict(account, reason)
	}
}

// Close stops every room, closing its clients with ErrShutdown, and waits
// for them.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
}

// FreshName returns a new name for a matchmade room of mode.
func FreshName(mode string) string { return mode + "-" + newRoomSuffix() }

// newRoomSuffix returns a short random name part for matchmade rooms.
func newRoomSuffix() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
