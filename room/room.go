// Package room runs games. A Room is an actor: one goroutine owns its game
// state and ticks it on a fixed schedule; connections talk to it only through
// its inbox (joins and leaves) and its input queue, and hear back through the
// Client interface. Nothing else touches the state, so there is no lock
// around it.
package room

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arena-server/arena/game"
)

// Config describes a room.
type Config struct {
	Name string
	Mode game.Mode
	// Options are the room's options, parsed against Mode.RoomOptions;
	// the game gets them in game.Config.
	Options game.Options
	// Settings are the room's limits and timings. A zero TickRate is
	// DefaultSettings'; other zero limits are none.
	Settings
	// Seed seeds the game's random source. Zero picks a random seed.
	Seed uint64
	// RecordedRotation says that a resumed player's new token must be
	// recorded durably before the player is told it (in a cluster, so that
	// a restore from a checkpoint cannot revive a spent token; see
	// Manager.Join): a resume rotates the token only to the
	// JoinRequest.NextToken its caller recorded, and without one the
	// player keeps the token it came with.
	RecordedRotation bool
	// Private keeps the room out of room lists and matchmaking: it is
	// joined by name only.
	Private bool
	// PasswordHash, if set, is the argon2id hash (internal/password) of
	// the room's password: a new player joins only with a seat held for
	// it (JoinRequest.Seat), which Manager.ReservePassword gives for the
	// right password. A resume needs none. The password itself is never
	// kept.
	PasswordHash string
	// Host is asked what the room cannot decide alone (see Host). Nil:
	// the room is alone, as noHost says.
	Host Host
	// Metrics receives the room's measurements; nil fields are skipped.
	Metrics Metrics
	Logger  *slog.Logger
}

// Metrics are the hooks through which a room reports what it measures.
// prometheus.Histogram and prometheus.Counter fit them; the room package
// itself imports no metrics library.
type Metrics struct {
	// TickSeconds observes how long each tick took to run.
	TickSeconds interface{ Observe(float64) }
	// TickOverruns counts ticks that ended after the next one was due.
	TickOverruns interface{ Inc() }
	// InputsSuperseded counts inputs dropped because a player sent more
	// than its input buffer holds (more than one per tick, sustained, or
	// a burst of more than its share between two ticks).
	InputsSuperseded interface{ Inc() }
	// InboxFull counts inputs dropped because too many connections
	// (maxInputSenders) queued inputs between two ticks.
	InboxFull interface{ Inc() }
	// MessagesSuperseded counts game messages dropped because a
	// connection sent more than msgDepth of them between two ticks.
	MessagesSuperseded interface{ Inc() }
	// MessagesRefused counts game messages the game refused.
	MessagesRefused interface{ Inc() }
}

// ClientInput is a control message from a client, as the room queues it.
type ClientInput struct {
	// Seq numbers inputs of the native protocol; higher is newer. Zero for
	// clients that do not number their inputs.
	Seq uint32
	// Buttons held from the tick this input is applied.
	Buttons game.Buttons
	// Axes are the analog values held with them, already checked against
	// the mode's declared axes.
	Axes [game.MaxAxes]int32
	// Once releases the buttons again after one tick: the seed protocol's
	// "move" is a single step, not a held key.
	Once bool
	// Tick is the tick the client meant the input for; it waits until
	// then. Zero applies it at the next tick. A client that predicts its own
	// movement sends the tick it predicted, so the server applies its
	// inputs for exactly as many ticks as the client did.
	Tick uint64
	// Lag is how many ticks before Tick the world was that the player saw
	// as it chose the input (0: unknown). With how late the input is
	// applied, it makes game.Input.Behind.
	Lag uint32
}

// inputDepth is how many inputs a player may have waiting. The room applies
// at most one per tick, so a client cannot move faster by sending faster;
// a small buffer absorbs network jitter and a predicting client's lead, and
// beyond it the oldest input is superseded by the newer ones.
const inputDepth = 6

// maxInputLead bounds how far ahead of the room a client may schedule an
// input, in seconds' worth of ticks.
const maxInputLead = 1

// msgDepth is how many game messages a connection may have waiting for the
// next tick. Each message type is rate-limited per connection before it
// gets here; this bounds what a connection can queue however many types
// its mode declares.
const msgDepth = 8

// inboxSize bounds the queue of joins and leaves. They wait for space, and
// the room takes them as they come, so a short queue only makes a burst
// of joins wait its turn; a queue of 1024 was 57 KiB a room, a kilobyte
// a player in rooms of 50.
const inboxSize = 64

// maxInputSenders bounds how many connections may have inputs waiting for
// the next tick (more than the server's connection limit). Each has a
// share of inputDepth inputs of its own: a connection that sends more
// between two ticks supersedes its own oldest ones, never another's, so
// one player's burst cannot crowd out the inputs of the others. Inputs
// from connections beyond this bound are dropped and counted as inbox_full.
const maxInputSenders = 1 << 14

// Room runs one game. Create it with New, start it with Run.
type Room struct {
	cfg      Config
	interval time.Duration
	// busy: the room's ticks take most of their interval (see
	// noteTickTime), and it takes no new players.
	busy  bool
	inbox chan command
	done  chan struct{}
	log   *slog.Logger

	// Inputs wait here for the next tick rather than in the inbox: a
	// channel receive would wake the room's goroutine for every input (ten
	// thousand times a second with 500 seed clients) though it can do
	// nothing with one until the tick. The lock guards only these queues;
	// the tick swaps them out and applies them. Each connection has a
	// queue of its own (senders indexes incoming), so a burst from one
	// fills only its own.
	inputMu  sync.Mutex
	senders  map[sender]int
	incoming []inbound
	applying []inbound // owned by the Run goroutine

	// Owned by the Run goroutine.
	game    game.Game
	world   game.World
	members []*member // sorted by id
	tick    uint64
	inputs  []game.Input
	viewer  game.Viewer                // the game, or its whole world as one view
	views   map[game.ViewKey]*Snapshot // this tick's, by key; reused
	// lastView is the largest view of the last tick, nextView of this one:
	// how much room a view's slice is given.
	lastView, nextView int
	away               []game.PlayerID // this tick's, for markAway
	deliveries         []delivery      // this tick's states, for deliverStates
	emptySince         time.Time
	nextID             game.PlayerID
	seats              map[string]int  // by address
	held               map[string]hold // seats Reserve holds, by token hash
	holds              uint64          // holds made, for their seq
	pcg                *mrand.PCG      // the game's random source, for Export
	restored           []*member       // members of a restored room, announced by Run
	moved              *ElsewhereError // where Move sent the room: Run ends with it
	events             *game.Events
	watchers           []Client // spectators (JoinRequest.Watch), who play no part
	// number is the game's: 1 for the first, one more for each rematch.
	number int
	// started is when the current game began (Report.Started).
	started time.Time
	// rematchAt, while the room pauses between two games
	// (Mode.Rematch), is the tick the next game starts on; else 0.
	// During the pause r.game is already the next game, its players
	// seated, not yet stepped.
	rematchAt uint64
	// id tells this room apart from other rooms of its name, before or
	// after it: made at New, kept by Export and Restore (Document.ID).
	id string
	// left are the players of a game that ends (game.Ender) who left the
	// room during it, oldest first, at most maxLeft: its result names
	// them too.
	left []ReportPlayer

	result atomic.Pointer[game.Result] // the last finished game's

	// saved holds the outcomes of the game's saves (game.Saver) that
	// came back since the last tick; savedNow is the tick's, reused.
	saved    outcomes
	savedNow []saveOutcome

	// Published for other goroutines.
	stats struct {
		players       atomic.Int64
		held          atomic.Int64
		spectators    atomic.Int64
		ticks         atomic.Uint64
		overruns      atomic.Uint64
		inputsDropped atomic.Uint64
		tickNanos     atomic.Int64 // moving average
	}
}

type member struct {
	id        game.PlayerID
	name      string
	opts      game.Options // its join options, for the games that follow
	account   string       // game.Player.Account
	addr      string
	tokenHash string // HashToken of the resume token; the token itself is not kept
	client    Client // nil while away
	awaySince time.Time
	queue     inputRing
	held      ClientInput
	behind    int // game.Input.Behind of held
	ack       uint32
	lastSeq   uint32
	// storage is what the player's games are given (game.Player.Storage):
	// as it joined, with the game's successful saves since.
	storage Storage
}

type commandKind uint8

const (
	cmdJoin commandKind = iota
	cmdLeave
	cmdExport
	cmdMove
	cmdReserve
	cmdEvict
	cmdBots
)

// command is a join or a leave, as the inbox carries them.
type command struct {
	kind   commandKind
	player game.PlayerID
	client Client
	leave  bool // cmdLeave: the player left on purpose
	join   *joinCall
	export chan exportResult // cmdExport
	move   *moveCall         // cmdMove
	hold   *holdCall         // cmdReserve
	evict  *evictCall        // cmdEvict
	bots   *botsCall         // cmdBots
}

// botsCall is a FillBots, as the inbox carries it.
type botsCall struct {
	n     int // the room's size
	reply chan error
}

// ErrNoBots is FillBots's answer in a room whose game plays no bots.
var ErrNoBots = errors.New("this mode's game plays no bots (game.BotFiller)")

// FillBots has the room's game play bots in the seats of size no player
// holds (see game.BotFiller): the matchmaker started the room short of
// players.
func (r *Room) FillBots(ctx context.Context, size int) error {
	call := &botsCall{n: size, reply: make(chan error, 1)}
	err, askErr := ask(ctx, r, command{kind: cmdBots, bots: call}, call.reply)
	if askErr != nil {
		return askErr
	}
	return err
}

// evictCall is an Evict, as the inbox carries it.
type evictCall struct {
	account string
	reason  error
}

// hold is a seat Reserve holds for a player on its way, charged to the
// address that asked for it until it is taken or lapses.
type hold struct {
	addr  string
	until time.Time
	// seq orders the holds as they were made: their times may be equal,
	// and the oldest must be the oldest.
	seq uint64
}

// holdShare is the share of a room's capacity that held seats may take:
// one address redirecting flat out must not fill a room with seats nobody
// takes, and four players arriving at once from other nodes is plenty.
const holdShare = 4

// holdsPerAddr is how many seats one address may have held in a room at
// once: a household redirected at once. An address that asks for more
// has sent its earlier clients elsewhere (they asked again rather than
// come), so its oldest hold goes: a flood of redirects from one address
// then holds this many seats, and leaves the rest of the holds' share to
// everyone else.
const holdsPerAddr = 4

// holdCall is a Reserve, as the inbox carries it; or, with group set, a
// ReserveGroup of group seats.
type holdCall struct {
	addr  string
	d     time.Duration
	group int
	reply chan holdResult
}

type holdResult struct {
	token  string
	tokens []string // ReserveGroup's
	err    error
}

// Reserve holds a seat in the room for d, for a player on its way (one
// another node of a cluster sends here): a join that brings the token
// (JoinRequest.Seat) takes it, and until then the room's capacity counts
// it. The seat is charged to addr, the address of the client it is for,
// as a player of its would be: the address's seat limits apply, and the
// holds of a room are at most a quarter of its capacity. It fails as a
// join would if the room is full.
func (r *Room) Reserve(ctx context.Context, addr string, d time.Duration) (string, error) {
	call := &holdCall{addr: addr, d: d, reply: make(chan holdResult, 1)}
	res, err := ask(ctx, r, command{kind: cmdReserve, hold: call}, call.reply)
	if err != nil {
		return "", err
	}
	return res.token, res.err
}

// ReserveGroup holds n seats in the room for d, all or none, for players
// the matchmaker placed here: it returns a token a seat. Unlike Reserve's,
// these seats are charged to no address and are not bounded by the share
// of the room holds may take: the matchmaker fills whole rooms, and its
// players were vouched for by their access tokens. It fails with
// ErrRoomFull if n seats are not free.
func (r *Room) ReserveGroup(ctx context.Context, n int, d time.Duration) ([]string, error) {
	call := &holdCall{group: n, d: d, reply: make(chan holdResult, 1)}
	res, err := ask(ctx, r, command{kind: cmdReserve, hold: call}, call.reply)
	if err != nil {
		return nil, err
	}
	return res.tokens, res.err
}

// reserveGroup is ReserveGroup, on the room's goroutine.
func (r *Room) reserveGroup(n int, d time.Duration) ([]string, error) {
	if err := r.loaded(); err != nil {
		return nil, err
	}
	r.expireHolds(time.Now())
	if c := r.cfg.Capacity; c > 0 && len(r.members)+len(r.held)+n > c {
		return nil, ErrRoomFull
	}
	if r.held == nil {
		r.held = make(map[string]hold)
	}
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = newToken()
		r.holds++
		r.held[HashToken(tokens[i])] = hold{until: time.Now().Add(d), seq: r.holds}
	}
	r.stats.held.Store(int64(len(r.held)))
	return tokens, nil
}

// sender is a connection that queues inputs, and the player it plays.
type sender struct {
	player game.PlayerID
	client Client
}

// inbound is the inputs and game messages one connection sent since the
// last tick.
type inbound struct {
	sender
	inputs inputRing
	msgs   []game.Message
}

// inputRing holds the newest inputDepth inputs pushed into it, oldest first.
type inputRing struct {
	buf     [inputDepth]ClientInput
	head, n int
}

type joinCall struct {
	req   JoinRequest
	reply chan joinResult
}

type joinResult struct {
	joined Joined
	err    error
}

// JoinRequest asks a room to seat a player.
type JoinRequest struct {
	Client Client
	Name   string
	// Account is the player's game.Player.Account, as the program that
	// runs arena vouches for it (an access token, a join hook); a resume
	// keeps the one the player joined with. One account holds one seat:
	// a join of an account a member of the room already has takes that
	// member over, as a resume does, whether or not its connection is
	// still alive.
	Account string
	// SignedIn says Account comes from an access token the client signed
	// in with, which the mode's auth policy (game.Mode.Auth) asks about:
	// AuthRequired seats no new player or spectator without it, AuthOff
	// none with it.
	SignedIn bool
	// Token resumes an earlier player of this room, if it is still there.
	Token string
	// ResumeOnly refuses a join whose Token resumes nobody with
	// ErrResumeFailed, where it would seat a new player: one that nothing
	// vouched for when the caller vouches for new players only.
	ResumeOnly bool
	// NextToken, if set, is the token a resume of Token rotates to: one
	// its caller recorded durably first (see Config.RecordedRotation).
	// Empty: the room picks one, or keeps Token under RecordedRotation.
	NextToken string
	// Addr is the client's address, which seats are counted against.
	// Empty: not counted.
	Addr string
	// Options are the player's join options, as the client sent them; the
	// room checks them against the mode's JoinOptions. A resume ignores
	// them: the player keeps those it joined with.
	Options map[string]string
	// RoomOptions are the options of the room if this join creates it;
	// the Manager checks them against the mode's RoomOptions. A room that
	// exists keeps its own.
	RoomOptions map[string]string
	// Seat is the token of a seat Reserve holds for this player, if any.
	Seat string
	// Redirectable says the client can follow a redirect to another node
	// of a cluster; one that cannot is placed on this node where it can
	// be (see Manager.Join).
	Redirectable bool
	// Watch joins as a spectator: the client gets the room's snapshots
	// and its events to everyone, and holds no seat (it counts against
	// Config.MaxSpectators, not the capacity nor an address's seats). The
	// game never hears of it, and it has no player ID (Joined.Player is
	// 0) and no token: it has nothing to resume. Token, Options and Seat
	// are ignored.
	Watch bool
	// Storage is the player's objects of the collections its mode loads
	// (game.Mode.Loads), read before the join reached the room, or nil;
	// StorageErr says why they could not be read, and refuses a new
	// player (ErrStorageUnavailable). The Manager sets both (see
	// ManagerConfig.Load).
	Storage    Storage
	StorageErr error
	loaded     *storageLoad // what the Manager loaded for this join, by mode
}

// Joined is the answer to a successful join.
type Joined struct {
	Player  game.PlayerID
	Token   string
	Resumed bool
}

// New creates a room. It does nothing until Run.
func New(cfg Config) *Room {
	if cfg.TickRate <= 0 {
		cfg.TickRate = DefaultSettings().TickRate
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Options.Map()) == 0 {
		// Defaults, so that a room made without options still reads its
		// mode's declared defaults.
		cfg.Options, _ = game.ParseOptions(cfg.Mode.RoomOptions, nil)
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	r := &Room{
		cfg:      cfg,
		interval: time.Second / time.Duration(cfg.TickRate),
		inbox:    make(chan command, inboxSize),
		done:     make(chan struct{}),
		log:      cfg.Logger.With("room", cfg.Name),
		senders:  make(map[sender]int),
		seats:    make(map[string]int),
	}
	if r.cfg.Host == nil {
		r.cfg.Host = noHost{r}
	}
	r.events = game.NewEvents(r.log)
	r.number, r.id, r.started = 1, newRoomID(), time.Now()
	r.newGame(seed)
	return r
}

// newGame creates the room's game, its random source seeded with seed.
func (r *Room) newGame(seed uint64) {
	r.pcg = mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	r.game = r.cfg.Mode.New(game.Config{
		Rand:     mrand.New(r.pcg),
		TickRate: r.cfg.TickRate,
		Options:  r.cfg.Options,
		Events:   r.events,
	})
	r.world = r.game.World()
	if v, ok := r.game.(game.Viewer); ok {
		r.viewer = v
	} else {
		r.viewer = wholeWorld{r.game}
	}
}

// Name returns the room's name.
func (r *Room) Name() string { return r.cfg.Name }

// Options returns the room's options. They never change.
func (r *Room) Options() game.Options { return r.cfg.Options }

// Mode returns the name of the game mode the room runs.
func (r *Room) Mode() string { return r.cfg.Mode.Name }

// Axes returns the analog controls of the room's mode, which a client's
// inputs are checked against.
func (r *Room) Axes() []game.Axis { return r.cfg.Mode.Axes }

// Messages returns the message types of the room's mode, which a client's
// game messages are checked against.
func (r *Room) Messages() []game.MessageType { return r.cfg.Mode.Messages }

// Done is closed when the room has stopped.
func (r *Room) Done() <-chan struct{} { return r.done }

// Join seats a player, or resumes one given its token. It waits for the
// room's goroutine to answer, so the Seated event is queued on the client
// before any state.
func (r *Room) Join(ctx context.Context, req JoinRequest) (Joined, error) {
	call := &joinCall{req: req, reply: make(chan joinResult, 1)}
	select {
	case r.inbox <- command{kind: cmdJoin, join: call}:
	case <-r.done:
		return Joined{}, ErrRoomClosed
	case <-ctx.Done():
		return Joined{}, ctx.Err()
	}
	select {
	case res := <-call.reply:
		return res.joined, res.err
	case <-r.done:
		return Joined{}, ErrRoomClosed
	case <-ctx.Done():
		// The room may seat the player yet; if it does, nobody is there to
		// play, so leave again.
		go func() {
			select {
			case res := <-call.reply:
				if res.err == nil {
					r.Leave(res.joined.Player, req.Client, true)
				}
			case <-r.done:
			}
		}()
		return Joined{}, ctx.Err()
	}
}

// Input queues an input from a player's connection for the next tick. It
// never blocks. A connection that has sent inputDepth inputs since the last
// tick loses its own oldest one (counted as superseded): the room would
// supersede it anyway, and no other player's input is lost for it.
func (r *Room) Input(id game.PlayerID, c Client, in ClientInput) {
	r.inputMu.Lock()
	q := r.queueOf(id, c)
	kept := q != nil && q.inputs.push(in)
	ok := q != nil
	r.inputMu.Unlock()
	switch {
	case !ok:
		r.stats.inputsDropped.Add(1)
		inc(r.cfg.Metrics.InboxFull)
	case !kept:
		r.stats.inputsDropped.Add(1)
		inc(r.cfg.Metrics.InputsSuperseded)
	}
}

// queueOf returns the queue of what a connection sent since the last tick,
// making one if there is space, else nil. The caller holds inputMu.
func (r *Room) queueOf(id game.PlayerID, c Client) *inbound {
	key := sender{player: id, client: c}
	i, ok := r.senders[key]
	if !ok {
		if len(r.incoming) >= maxInputSenders {
			return nil
		}
		i = len(r.incoming)
		r.senders[key] = i
		r.incoming = append(r.incoming, inbound{sender: key})
	}
	return &r.incoming[i]
}

// Message queues a game message from a player's connection for the next
// tick, where the game gets it before Step. It never blocks. The caller
// has checked its type and data against the mode (protocol.CheckMessage).
// A connection with msgDepth messages waiting loses this one, counted as
// superseded.
func (r *Room) Message(id game.PlayerID, c Client, m game.Message) {
	r.inputMu.Lock()
	q := r.queueOf(id, c)
	kept := q != nil && len(q.msgs) < msgDepth
	if kept {
		q.msgs = append(q.msgs, m)
	}
	r.inputMu.Unlock()
	if !kept {
		inc(r.cfg.Metrics.MessagesSuperseded)
	}
}

// Leave tells the room that a player's connection ended. If onPurpose is
// false the player may resume within ResumeGrace. Leaves from a connection
// that has since been replaced by a newer one are ignored.
func (r *Room) Leave(id game.PlayerID, c Client, onPurpose bool) {
	select {
	case r.inbox <- command{kind: cmdLeave, player: id, client: c, leave: onPurpose}:
	case <-r.done:
	}
}

// Evict takes every seat of account out of the room, for good: its
// connection, if it has one, is closed with reason, and its token resumes
// nobody any more. A ban or a sign-out everywhere does this, so that a
// player whose connection happened to be down cannot resume past it.
func (r *Room) Evict(account string, reason error) {
	if account == "" {
		return
	}
	select {
	case r.inbox <- command{kind: cmdEvict, evict: &evictCall{account, reason}}:
	case <-r.done:
	}
}

func (r *Room) evict(account string, reason error) {
	for m := r.memberByAccount(account); m != nil; m = r.memberByAccount(account) {
		if m.client != nil {
			m.client.Close(reason)
		}
		r.remove(m)
	}
}

// Stats is a snapshot of a room's figures, safe to read from any goroutine.
type Stats struct {
	Name    string
	Mode    string
	Players int
	// Held counts the seats Reserve holds for players on their way, which
	// the capacity counts too.
	Held     int
	Capacity int
	// Spectators counts the room's watchers (JoinRequest.Watch).
	Spectators    int
	TickRate      int
	Ticks         uint64
	Overruns      uint64
	InputsDropped uint64
	// TickTime is a moving average of how long a tick takes to run.
	TickTime time.Duration
	// Options are the room's options.
	Options game.Options
	// Private: the room is left out of lists and matchmaking.
	Private bool
	// Locked: the room has a password.
	Locked bool
}

// Stats returns the room's current figures.
func (r *Room) Stats() Stats {
	return Stats{
		Name:          r.cfg.Name,
		Mode:          r.cfg.Mode.Name,
		Options:       r.cfg.Options,
		Private:       r.cfg.Private,
		Locked:        r.cfg.PasswordHash != "",
		Players:       int(r.stats.players.Load()),
		Held:          int(r.stats.held.Load()),
		Spectators:    int(r.stats.spectators.Load()),
		Capacity:      r.cfg.Capacity,
		TickRate:      r.cfg.TickRate,
		Ticks:         r.stats.ticks.Load(),
		Overruns:      r.stats.overruns.Load(),
		InputsDropped: r.stats.inputsDropped.Load(),
		TickTime:      time.Duration(r.stats.tickNanos.Load()),
	}
}

// maxBacklog is how many late ticks the room runs back to back to catch up
// before it gives up on the old schedule and starts a new one from now.
const maxBacklog = 5

// Run ticks the room until ctx is done, the room retires for being idle, the
// game is over and its mode does not rematch (ErrGameOver), or the game
// panics. It closes every remaining client, telling them why.
func (r *Room) Run(ctx context.Context) (err error) {
	defer close(r.done)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrRoomCrashed, p)
			r.log.Error("room crashed", "panic", p)
		} else {
			// A room that stops (shut down, retired, moved) hands on the
			// saves its game made since the last tick.
			r.drainSaves()
		}
		r.closeAll(err)
	}()

	// The schedule is anchored at start: tick k is due at start+k·interval,
	// whatever the previous ticks cost, so the rate does not drift.
	next := time.Now().Add(r.interval)
	r.emptySince = time.Now()
	r.announceRestored()
	timer := time.NewTimer(r.interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ErrShutdown
		case c := <-r.inbox:
			r.handle(c)
			if r.moved != nil {
				return r.moved
			}
		case <-timer.C:
			r.drainInbox()
			if r.moved != nil {
				return r.moved
			}
			r.applyInputs()
			if !r.step() {
				return ErrGameOver
			}
			next = next.Add(r.interval)
			now := time.Now()
			if late := now.Sub(next); late > 0 {
				r.stats.overruns.Add(1)
				inc(r.cfg.Metrics.TickOverruns)
				if late > maxBacklog*r.interval {
					next = now
				}
			}
			if r.idle(now) {
				return ErrRoomClosed
			}
			timer.Reset(next.Sub(now))
		}
	}
}

// drainInbox handles the joins and leaves already queued, so that those
// that arrived before the tick was due count in it.
func (r *Room) drainInbox() {
	for {
		select {
		case c := <-r.inbox:
			r.handle(c)
		default:
			return
		}
	}
}

// applyInputs queues on their players the inputs that arrived since the
// last tick. It runs after drainInbox: an input from a connection that has
// since left or been replaced finds its player gone or with another
// client, and is ignored.
func (r *Room) applyInputs() {
	r.inputMu.Lock()
	r.incoming, r.applying = r.applying[:0], r.incoming
	clear(r.senders)
	r.inputMu.Unlock()
	lead := r.tick + uint64(maxInputLead*r.cfg.TickRate)
	for i := range r.applying {
		q := &r.applying[i]
		m := r.member(q.player)
		if m == nil || m.client != q.client {
			continue
		}
		for in, ok := q.inputs.pop(); ok; in, ok = q.inputs.pop() {
			in.Tick = min(in.Tick, lead)
			if !m.push(in) {
				r.stats.inputsDropped.Add(1)
				inc(r.cfg.Metrics.InputsSuperseded)
			}
		}
		r.deliver(m, q.msgs)
	}
	clear(r.applying) // drop the references to clients
}

// deliver hands a member's game messages to the game, in the order they
// arrived, and tells the member about each one the game refuses.
func (r *Room) deliver(m *member, msgs []game.Message) {
	g, ok := r.game.(game.Messenger)
	for _, msg := range msgs {
		msg.From = m.id
		var err error
		if !ok {
			err = errNotMessenger
		} else {
			err = g.Message(msg)
		}
		if err != nil {
			inc(r.cfg.Metrics.MessagesRefused)
			m.client.Event(MessageRefused{Type: msg.Type, Reason: err.Error()})
		}
	}
}

var errNotMessenger = errors.New("this game takes no messages")

func (r *Room) handle(c command) {
	switch c.kind {
	case cmdJoin:
		joined, err := r.join(c.join.req)
		c.join.reply <- joinResult{joined, err}
	case cmdExport:
		c.export <- r.export()
	case cmdMove:
		c.move.reply <- r.move(c.move.to)
	case cmdReserve:
		if c.hold.group > 0 {
			tokens, err := r.reserveGroup(c.hold.group, c.hold.d)
			c.hold.reply <- holdResult{tokens: tokens, err: err}
			return
		}
		token, err := r.reserve(c.hold.addr, c.hold.d)
		c.hold.reply <- holdResult{token: token, err: err}
	case cmdEvict:
		r.evict(c.evict.account, c.evict.reason)
	case cmdBots:
		bf, ok := r.game.(game.BotFiller)
		if !ok {
			c.bots.reply <- ErrNoBots
			return
		}
		bf.FillBots(c.bots.n)
		c.bots.reply <- nil
	case cmdLeave:
		if c.player == 0 {
			r.unwatch(c.client)
			return
		}
		m := r.member(c.player)
		if m == nil || m.client != c.client {
			return
		}
		if c.leave || r.cfg.ResumeGrace <= 0 {
			r.remove(m)
			return
		}
		m.client = nil
		m.awaySince = time.Now()
		m.queue, m.held = inputRing{}, ClientInput{}
		if p, ok := r.game.(game.Presence); ok {
			p.Away(m.id)
		}
	}
}

func (r *Room) join(req JoinRequest) (Joined, error) {
	if r.cfg.Mode.Auth == game.AuthOff && req.SignedIn {
		return Joined{}, ErrAccountsOff
	}
	if req.Watch {
		if err := r.checkSignedIn(req); err != nil {
			return Joined{}, err
		}
		return Joined{}, r.watch(req)
	}
	if req.Token != "" {
		// A token resumes its player, unless the join signed in as
		// another account than the player's: a token is a player's, and
		// an account never takes another's seat with one.
		if m := r.memberByToken(req.Token); m != nil && (!req.SignedIn || m.account == req.Account) {
			token := req.Token
			if req.NextToken != "" || !r.cfg.RecordedRotation {
				token = r.rotateToken(m, req.NextToken)
			}
			r.takeOver(m, req.Client)
			r.welcome(m, token, true)
			return Joined{Player: m.id, Token: token, Resumed: true}, nil
		}
	}
	if m := r.memberByAccount(req.Account); m != nil {
		// A second device of the account: the seat is the account's, and
		// it moves to the newest connection, as a resume would. The new
		// device counts its inputs from 1, and a fresh token resumes it;
		// the old one's is void. In a cluster the rotation is not
		// recorded (see Manager.resume): a restore from an older
		// checkpoint may revive the old token, which is worth nothing the
		// account cannot take back.
		token := r.rotateToken(m, "")
		r.takeOver(m, req.Client)
		m.lastSeq, m.ack = 0, 0
		r.welcome(m, token, true)
		return Joined{Player: m.id, Token: token, Resumed: true}, nil
	}
	if req.Token != "" && req.ResumeOnly {
		return Joined{}, ErrResumeFailed
	}
	if err := r.checkSignedIn(req); err != nil {
		return Joined{}, err
	}
	opts, err := game.ParseOptions(r.cfg.Mode.JoinOptions, req.Options)
	if err != nil {
		return Joined{}, fmt.Errorf("join options: %w", err)
	}
	if err := r.checkStorage(req); err != nil {
		return Joined{}, err
	}
	if err := r.takeSeat(req.Addr, req.Seat); err != nil {
		return Joined{}, err
	}
	id := r.newPlayerID()
	if id == 0 {
		// A cluster's IDs are out of reach (NATS away, this node's
		// blocks used up): a short wait is what the player can do.
		r.freeSeat(req.Addr)
		return Joined{}, ErrNoPlayerID
	}
	if err := r.game.Join(game.Player{ID: id, Name: req.Name, Account: req.Account, Options: opts, Storage: playerStorage(req.Storage)}); err != nil {
		r.freeSeat(req.Addr)
		return Joined{}, &RefusedError{Err: err}
	}
	token := newToken()
	m := &member{id: id, name: req.Name, opts: opts, account: req.Account, addr: req.Addr, tokenHash: HashToken(token), client: req.Client, storage: req.Storage}
	i, _ := slices.BinarySearchFunc(r.members, id, cmpMember)
	r.members = slices.Insert(r.members, i, m)
	r.cfg.Host.Token(m.tokenHash, true)
	r.stats.players.Store(int64(len(r.members)))
	if req.Token != "" {
		req.Client.Event(Notice{Code: "resume_failed", Text: "that session has expired or is unknown here; you joined as a new player"})
	}
	r.welcome(m, token, false)
	return Joined{Player: id, Token: token}, nil
}

// checkSignedIn refuses a new player or spectator who did not sign in, in
// a mode that plays only with accounts.
func (r *Room) checkSignedIn(req JoinRequest) error {
	if r.cfg.Mode.Auth == game.AuthRequired && !req.SignedIn {
		return ErrAuthRequired
	}
	return nil
}

// takeOver gives member m's seat to client c: a resume, or another device
// of its account. The connection that held it, if any, is closed.
func (r *Room) takeOver(m *member, c Client) {
	wasAway := m.client == nil
	if !wasAway {
		m.client.Close(ErrTakenOver)
	}
	m.client = c
	m.awaySince = time.Time{}
	m.queue, m.held = inputRing{}, ClientInput{}
	if p, ok := r.game.(game.Presence); ok && wasAway {
		p.Back(m.id)
	}
}

// memberByAccount finds the member of account, if it is one.
func (r *Room) memberByAccount(account string) *member {
	if account == "" {
		return nil
	}
	for _, m := range r.members {
		if m.account == account {
			return m
		}
	}
	return nil
}

// A room is busy while its ticks take, on average, more than busyShare of
// their interval, and takes new players again below idleShare. A tick's
// time is its game's work, its views and every player's write: a room
// that grew past what one goroutine does in a tick (one big world, say)
// would otherwise slow down for everyone in it, and every update come
// late. It counts the time the room waits for a CPU too, so a box that is
// full shows in every room.
const (
	busyShare = 0.8
	idleShare = 0.6
)

// noteTickTime updates the moving average of the tick's time, and with it
// whether the room is busy.
func (r *Room) noteTickTime(took time.Duration) {
	avg := time.Duration(r.stats.tickNanos.Load())
	avg += (took - avg) / 16
	r.stats.tickNanos.Store(int64(avg))
	switch {
	case avg > time.Duration(busyShare*float64(r.interval)):
		r.busy = true
	case avg < time.Duration(idleShare*float64(r.interval)):
		r.busy = false
	}
}

// takeSeat counts a new player of addr against the room's capacity and the
// address's limits. An address at its limit gives up its own oldest away
// seat rather than be refused: a household whose connections dropped gets
// back in, and an address that drops connections on purpose only ever
// holds its limit.
//
// A join with the token of a seat Reserve holds takes that seat, which the
// room's capacity already counts.
func (r *Room) takeSeat(addr, seat string) error {
	// Refusals for load come first: they must not evict anyone's seat.
	if err := r.loaded(); err != nil {
		return err
	}
	// A held seat is taken first: its charge to the address that asked
	// for it goes, and the join counts in its place.
	held := r.takeHeld(seat)
	if r.cfg.PasswordHash != "" && !held {
		return ErrPasswordRequired
	}
	if lim := r.cfg.MaxSeatsPerAddr; addr != "" && lim > 0 && r.seats[addr]+r.heldBy(addr) >= lim {
		if !r.evictAway(addr) {
			return ErrTooManySeats
		}
	}
	if !held && r.seatsTaken() {
		return ErrRoomFull
	}
	if addr == "" {
		return nil
	}
	if !r.cfg.Host.Seat(addr, true) {
		if !r.evictAway(addr) || !r.cfg.Host.Seat(addr, true) {
			return ErrTooManySeats
		}
	}
	r.seats[addr]++
	return nil
}

// loaded refuses new players for load: the box's or the room's.
func (r *Room) loaded() error {
	switch {
	case r.cfg.Host.Full():
		return ErrServerFull
	case r.busy:
		return ErrRoomFull
	}
	return nil
}

// seatsTaken reports whether the members and the seats Reserve holds fill
// the room, forgetting the holds that lapsed.
func (r *Room) seatsTaken() bool {
	r.expireHolds(time.Now())
	return r.cfg.Capacity > 0 && len(r.members)+len(r.held) >= r.cfg.Capacity
}

// expireHolds forgets the holds that lapsed, and their charges.
func (r *Room) expireHolds(now time.Time) {
	for hash, h := range r.held {
		if now.After(h.until) {
			r.dropHold(hash, h)
		}
	}
}

// dropHold forgets a hold and its charge to its address.
func (r *Room) dropHold(hash string, h hold) {
	delete(r.held, hash)
	r.stats.held.Store(int64(len(r.held)))
	if h.addr != "" {
		r.cfg.Host.Seat(h.addr, false)
	}
}

// dropOldestHold forgets the hold of addr made first.
func (r *Room) dropOldestHold(addr string) {
	var oldest string
	for hash, h := range r.held {
		if h.addr == addr && (oldest == "" || h.seq < r.held[oldest].seq) {
			oldest = hash
		}
	}
	if oldest != "" {
		r.dropHold(oldest, r.held[oldest])
	}
}

// heldBy counts the seats held for addr.
func (r *Room) heldBy(addr string) int {
	n := 0
	for _, h := range r.held {
		if h.addr == addr {
			n++
		}
	}
	return n
}

// takeHeld takes the held seat of token, if it holds one still.
func (r *Room) takeHeld(token string) bool {
	if token == "" {
		return false
	}
	hash := HashToken(token)
	h, ok := r.held[hash]
	if !ok {
		return false
	}
	r.dropHold(hash, h)
	return time.Now().Before(h.until)
}

// reserve holds a seat for d, for a player on its way from addr: one
// another node of a cluster redirects here. It runs on the room's
// goroutine.
func (r *Room) reserve(addr string, d time.Duration) (string, error) {
	if err := r.loaded(); err != nil {
		return "", err
	}
	if addr != "" && r.heldBy(addr) >= holdsPerAddr {
		r.dropOldestHold(addr)
	}
	if r.seatsTaken() {
		return "", ErrRoomFull
	}
	if c := r.cfg.Capacity; c > 0 && len(r.held) >= max(1, c/holdShare) {
		return "", ErrRoomFull
	}
	if addr != "" {
		if lim := r.cfg.MaxSeatsPerAddr; lim > 0 && r.seats[addr]+r.heldBy(addr) >= lim {
			return "", ErrTooManySeats
		}
		if !r.cfg.Host.Seat(addr, true) {
			return "", ErrTooManySeats
		}
	}
	if r.held == nil {
		r.held = make(map[string]hold)
	}
	token := newToken()
	r.holds++
	r.held[HashToken(token)] = hold{addr: addr, until: time.Now().Add(d), seq: r.holds}
	r.stats.held.Store(int64(len(r.held)))
	return token, nil
}

func (r *Room) freeSeat(addr string) {
	if addr == "" {
		return
	}
	if r.seats[addr]--; r.seats[addr] <= 0 {
		delete(r.seats, addr)
	}
	r.cfg.Host.Seat(addr, false)
}

// evictAway removes the player of addr that has been away the longest, if
// there is one.
func (r *Room) evictAway(addr string) bool {
	var oldest *member
	for _, m := range r.members {
		if m.addr == addr && m.client == nil && (oldest == nil || m.awaySince.Before(oldest.awaySince)) {
			oldest = m
		}
	}
	if oldest == nil {
		return false
	}
	r.remove(oldest)
	return true
}

// rotateToken gives a resumed player a new token, next if it is set, to be
// sent in its welcome, and voids the old one: a token that leaked (a log, a
// shared screen) works for one resume at most, and not at all once its
// owner has resumed.
func (r *Room) rotateToken(m *member, next string) string {
	r.cfg.Host.Token(m.tokenHash, false)
	if next == "" {
		next = newToken()
	}
	m.tokenHash = HashToken(next)
	r.cfg.Host.Token(m.tokenHash, true)
	return next
}

// welcome tells m's client it is seated, with the token that resumes it.
func (r *Room) welcome(m *member, token string, resumed bool) {
	seated := r.seated(m.id, token, resumed)
	if m.account != "" {
		seated.Account, seated.Name = m.account, m.name
	}
	m.client.Event(seated)
}

// seated is the welcome of player id (0: a spectator).
func (r *Room) seated(id game.PlayerID, token string, resumed bool) Seated {
	return Seated{
		Player:   id,
		Token:    token,
		Room:     r.cfg.Name,
		Mode:     r.cfg.Mode.Name,
		World:    r.world,
		Axes:     r.cfg.Mode.Axes,
		Messages: r.cfg.Mode.Messages,
		Kinds:    r.cfg.Mode.EntityKinds(),
		TickRate: r.cfg.TickRate,
		Resumed:  resumed,
		Watching: id == 0,
	}
}

func (r *Room) remove(m *member) {
	r.game.Leave(m.id)
	r.noteLeft(m)
	r.cfg.Host.Token(m.tokenHash, false)
	if i, found := slices.BinarySearchFunc(r.members, m.id, cmpMember); found {
		r.members = slices.Delete(r.members, i, i+1)
	}
	r.freeSeat(m.addr)
	r.stats.players.Store(int64(len(r.members)))
	if len(r.members) == 0 {
		r.emptySince = time.Now()
	}
}

// step runs one tick: one input per player, the game's step, its events,
// and a snapshot offered to every connected player. It reports false when
// the game is over and the room ends for it. Between two games (see
// rematch) the room only keeps time: its players' inputs are taken, and
// nothing is stepped or sent.
func (r *Room) step() bool {
	start := time.Now()
	r.tick++
	r.expireAway(start)
	r.expireHolds(start)
	r.inputs = r.inputs[:0]
	maxRewind := game.MaxRewindTicks(r.cfg.TickRate)
	withAxes := len(r.cfg.Mode.Axes) > 0
	for _, m := range r.members {
		if m.client == nil {
			continue
		}
		// In a mode with axes, an aim of 0 is an aim: every connected
		// player holds its axes, and has an entry.
		if h := m.next(r.tick, maxRewind); h.Buttons != 0 || withAxes {
			r.inputs = append(r.inputs, game.Input{Player: m.id, Buttons: h.Buttons, Axes: h.Axes, Behind: m.behind})
		}
	}
	r.deliverSaved()
	goesOn := true
	if r.rematchAt == 0 || r.startRematch() {
		r.game.Step(r.inputs)
		r.deliverEvents()
		r.reportScored()
		res, over := r.gameOver()
		// The final tick's state goes out too, so that players see how
		// the game ended; room_over follows it (GameEvent.AfterState).
		r.publish()
		if over {
			// What the game saved as it ended goes before the next game
			// replaces it.
			r.drainSaves()
			goesOn = r.endGame(res)
		}
	}
	// The tick's saves (those of joins, leaves and messages since the
	// last tick too) go to the host now, never waited for.
	r.drainSaves()

	took := time.Since(start)
	r.stats.ticks.Add(1)
	r.noteTickTime(took)
	if r.cfg.Metrics.TickSeconds != nil {
		r.cfg.Metrics.TickSeconds.Observe(took.Seconds())
	}
	return goesOn
}

// publish offers every connected player its view of this tick. Each
// distinct view is built once and shared by everyone who has it; a game
// that is not a game.Viewer shows everyone one view, the whole world.
func (r *Room) publish() {
	r.listAway()
	if r.views == nil {
		r.views = make(map[game.ViewKey]*Snapshot)
	}
	var last *Snapshot // the previous member's: most share it
	for _, m := range r.members {
		if m.client == nil {
			continue
		}
		last = r.view(r.viewer.View(m.id), last)
		r.deliveries = append(r.deliveries, delivery{m.client, State{Snap: last, You: m.id, Ack: m.ack}})
	}
	if len(r.watchers) > 0 {
		// Spectators share one view, which players may share too.
		snap := r.view(r.watcherView(), last)
		for _, c := range r.watchers {
			r.deliveries = append(r.deliveries, delivery{c, State{Snap: snap}})
		}
	}
	clear(r.views) // the snapshots belong to the clients now
	r.lastView, r.nextView = r.nextView, 0
	r.deliverStates()
}

// view returns this tick's snapshot of the view key: last if it is that
// view, else the one built already, else a new one.
func (r *Room) view(key game.ViewKey, last *Snapshot) *Snapshot {
	snap := last
	if snap == nil || snap.View != key {
		snap = r.views[key]
	}
	if snap == nil {
		// Sized as the largest view of the last tick: a world of
		// hundreds of views a tick would otherwise grow each one by
		// doubling, and throw most of it away.
		ents := r.viewer.AppendView(make([]game.Entity, 0, r.lastView), key)
		r.nextView = max(r.nextView, len(ents))
		r.markAway(ents)
		snap = &Snapshot{Tick: r.tick, View: key, Kinds: r.cfg.Mode.EntityKinds(), Entities: ents}
		r.views[key] = snap
	}
	return snap
}

// delivery is one player's state of this tick.
type delivery struct {
	client Client
	state  State
}

// deliverShare is how many players' states a goroutine delivers, at the
// least, before a room spreads its deliveries over more than one.
const deliverShare = 256

// deliverStates hands this tick's states to their clients. Delivering is most of
// a tick: each client encodes its state (once per view, shared) and writes
// it to its socket. A room of many players spreads that over as many
// goroutines as there are CPUs, so that one big world is not held to one
// core; the tick waits for all of them, and no client is called twice at
// once. A room of a few players delivers alone: rooms run side by side.
func (r *Room) deliverStates() {
	ds := r.deliveries
	parts := min(runtime.GOMAXPROCS(0), len(ds)/deliverShare)
	var wg sync.WaitGroup
	for i := 1; i < parts; i++ {
		part := ds[i*len(ds)/parts : (i+1)*len(ds)/parts]
		wg.Go(func() {
			for _, d := range part {
				d.client.State(d.state)
			}
		})
	}
	for _, d := range ds[:len(ds)/max(parts, 1)] {
		d.client.State(d.state)
	}
	wg.Wait()
	clear(ds)
	r.deliveries = ds[:0]
}

// wholeWorld is the one view of a game that shows everyone everything.
type wholeWorld struct{ game.Game }

func (w wholeWorld) View(game.PlayerID) game.ViewKey { return 0 }

func (w wholeWorld) AppendView(dst []game.Entity, _ game.ViewKey) []game.Entity {
	return w.AppendEntities(dst)
}

// expireAway removes the players whose resume grace has run out.
func (r *Room) expireAway(now time.Time) {
	for i := len(r.members) - 1; i >= 0; i-- {
		if m := r.members[i]; m.client == nil && now.Sub(m.awaySince) > r.cfg.ResumeGrace {
			r.remove(m)
		}
	}
}

// markAway flags the entities of players whose connection dropped, in
// r.away (by ascending id). A world builds hundreds of views a tick, and
// few players are away: each view looks up the away ones, not every
// member.
func (r *Room) markAway(ents []game.Entity) {
	for _, id := range r.away {
		i, found := slices.BinarySearchFunc(ents, uint32(id), func(e game.Entity, id uint32) int {
			return int(int64(e.ID) - int64(id))
		})
		if found {
			ents[i].Away = true
		}
	}
}

// listAway sets r.away to the players whose connection dropped and who
// are kept for a resume, by ascending id, for this tick's markAway.
func (r *Room) listAway() {
	r.away = r.away[:0]
	if r.cfg.ResumeGrace <= 0 {
		return
	}
	for _, m := range r.members {
		if m.client == nil {
			r.away = append(r.away, m.id)
		}
	}
}

func (r *Room) idle(now time.Time) bool {
	if len(r.members) > 0 || r.cfg.IdleTimeout <= 0 || now.Sub(r.emptySince) < r.cfg.IdleTimeout {
		return false
	}
	if r.cfg.Host.Idle() {
		return true
	}
	r.emptySince = now
	return false
}

func (r *Room) closeAll(reason error) {
	for _, c := range r.watchers {
		c.Close(reason)
	}
	r.watchers = nil
	r.stats.spectators.Store(0)
	for _, m := range r.members {
		if m.client != nil {
			m.client.Close(reason)
		}
		r.cfg.Host.Token(m.tokenHash, false)
		r.freeSeat(m.addr)
	}
	r.members = nil
	r.stats.players.Store(0)
}

func (r *Room) member(id game.PlayerID) *member {
	if i, found := slices.BinarySearchFunc(r.members, id, cmpMember); found {
		return r.members[i]
	}
	return nil
}

// memberByToken finds the member token resumes, comparing hashes in
// constant time.
func (r *Room) memberByToken(token string) *member {
	hash := HashToken(token)
	for _, m := range r.members {
		if sameHash(m.tokenHash, hash) {
			return m
		}
	}
	return nil
}

func (r *Room) newPlayerID() game.PlayerID {
	return r.cfg.Host.NewPlayerID()
}

func cmpMember(m *member, id game.PlayerID) int {
	return int(int64(m.id) - int64(id))
}

// push queues an input, superseding the oldest if the queue is full. It
// reports false if an input was dropped.
func (m *member) push(in ClientInput) bool {
	if in.Seq != 0 {
		if in.Seq <= m.lastSeq {
			return true // a duplicate or out of order: the newer one is queued
		}
		m.lastSeq = in.Seq
	}
	return m.queue.push(in)
}

// push appends an input, superseding the oldest if the ring is full. It
// reports false if an input was dropped.
func (q *inputRing) push(in ClientInput) bool {
	kept := true
	if q.n == inputDepth {
		q.head = (q.head + 1) % inputDepth
		q.n--
		kept = false
	}
	q.buf[(q.head+q.n)%inputDepth] = in
	q.n++
	return kept
}

// peek returns the oldest input, if any.
func (q *inputRing) peek() (ClientInput, bool) {
	if q.n == 0 {
		return ClientInput{}, false
	}
	return q.buf[q.head], true
}

// pop removes and returns the oldest input, if any.
func (q *inputRing) pop() (ClientInput, bool) {
	in, ok := q.peek()
	if ok {
		q.head = (q.head + 1) % inputDepth
		q.n--
	}
	return in, ok
}

func inc(c interface{ Inc() }) {
	if c != nil {
		c.Inc()
	}
}

// next returns what the player holds in tick: the next queued input if
// there is one due, else what it held before (nothing after a one-tick
// move).
func (m *member) next(tick uint64, maxRewind int) ClientInput {
	if m.held.Once {
		m.held = ClientInput{}
	}
	if in, ok := m.queue.peek(); ok && in.Tick <= tick {
		m.held, _ = m.queue.pop()
		if m.held.Seq != 0 {
			m.ack = m.held.Seq
		}
		m.behind = behind(m.held, tick, maxRewind)
	}
	return m.held
}

// behind is how many ticks behind tick the player saw the world as it
// chose in: its lag, and how late in comes. A player that keeps holding
// in keeps seeing the world as far behind. Lag compensation never rewinds
// more than maxRewind, nor at all for a client that does not say its lag.
func behind(in ClientInput, tick uint64, maxRewind int) int {
	if in.Lag == 0 {
		return 0
	}
	var late uint64
	if in.Tick != 0 {
		late = tick - min(in.Tick, tick)
	}
	return int(min(uint64(in.Lag)+late, uint64(max(maxRewind, 0))))
}
