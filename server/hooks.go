package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// JoinHook decides whether a new player may join, and who it is: the
// program that runs arena checks the WebSocket's HTTP request (its
// headers, cookies and query) against what it knows, a ticket its own
// backend issued, say. A nil error admits the player with the Identity
// returned; an error refuses it (see Config.OnJoin).
type JoinHook func(ctx context.Context, r *http.Request, join JoinInfo) (Identity, error)

// JoinInfo is the join a JoinHook decides on, as the client asked for it.
type JoinInfo struct {
	// Room and Mode are the room and mode asked for (?room=, ?mode=):
	// either may be empty (the default room; a quick-join of a mode).
	Room, Mode string
	// Name is the nickname the client asked for (?name=), already
	// checked, or empty; for a player who signed in, its account's name.
	Name string
	// Account is the account the player signed in as (?auth=1 and an
	// access token, checked by Config.Accounts), or empty for a guest.
	// An Identity the hook returns with an Account of its own replaces
	// it; one with none keeps it.
	Account string
	// Options are the client's join options (?join.KEY=), RoomOptions its
	// room options (?room.KEY=), not yet checked against the mode.
	Options, RoomOptions map[string]string
	// Addr is the client's address, as arena's limits count it.
	Addr string
}

// Identity is who a JoinHook, or an Authenticator from an access token,
// says a player is. Nothing the client sends overrides it.
type Identity struct {
	// Account is the player's ID in the program's own terms (a user ID):
	// opaque to arena, at most 256 bytes. The game sees it in
	// game.Player.Account, the room keeps it through resumes, moves and
	// checkpoints, and results carry it. Empty: a player nobody vouches
	// for.
	Account string
	// Name, if set, is the player's nickname, in place of the one the
	// client asked for; it must pass the same checks (?name= in
	// docs/protocol.md).
	Name string
}

// ResultHook is given every finished game's result (see Config.OnResult).
type ResultHook func(ctx context.Context, result ResultInfo)

// ResultInfo is a finished game's result: which room, mode and game it
// was, its standings, its players and their accounts, and a key that
// identifies it (ResultInfo.Key).
type ResultInfo = room.Report

// ResultPlayer is a player of a finished game.
type ResultPlayer = room.ReportPlayer

// maxAccount bounds an Identity's Account, as a room's document does.
const maxAccount = 256

// hookRefusal wraps a JoinHook's refusal: its text is the hook's own.
type hookRefusal struct{ err error }

func (e *hookRefusal) Error() string { return e.err.Error() }
func (e *hookRefusal) Unwrap() error { return e.err }

// Failures of the join hook that are arena's to report, not the hook's
// verdict on the player.
var (
	// errHookLate: the hook did not answer within the handshake timeout.
	errHookLate = errors.New("could not check the join in time; try again")
	// errHookBroken: the hook panicked or returned an Identity arena
	// cannot use; the session logs why.
	errHookBroken = errors.New("could not check the join")
)

// vouch asks the join hook about a new player's join, for the connection's
// goroutine, within the handshake timeout, and sets req's account and
// name from its answer. r is the WebSocket's request.
//
// The hook runs on a goroutine of its own, so that one that ignores its
// context holds up nothing past the timeout but itself.
func (s *session) vouch(hook JoinHook, r *http.Request, info JoinInfo, req *room.JoinRequest) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	type answer struct {
		id  Identity
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		id, err := callJoinHook(ctx, hook, r.WithContext(ctx), info)
		answered <- answer{id, err}
	}()
	var id Identity
	var err error
	select {
	case a := <-answered:
		id, err = a.id, a.err
	case <-ctx.Done():
		err = ctx.Err()
	}
	switch {
	case err != nil && ctx.Err() != nil:
		s.logHook(slog.LevelWarn, "the join hook did not answer in time", "timeout", s.cfg.HandshakeTimeout, "err", err)
		return errHookLate
	case errors.Is(err, errHookBroken):
		s.logHook(slog.LevelError, "the join hook failed", "err", err)
		return errHookBroken
	case err != nil:
		return &hookRefusal{err}
	case len(id.Account) > maxAccount:
		s.logHook(slog.LevelError, "the join hook gave an account over 256 bytes", "bytes", len(id.Account))
		return errHookBroken
	}
	if id.Account != "" {
		req.Account = id.Account
	}
	if id.Name != "" {
		name, err := protocol.Nickname(id.Name)
		if err != nil {
			s.logHook(slog.LevelError, "the join hook gave a name arena cannot use", "err", err)
			return errHookBroken
		}
		req.Name = name
	}
	return nil
}

// callJoinHook calls hook, turning a panic into errHookBroken.
func callJoinHook(ctx context.Context, hook JoinHook, r *http.Request, info JoinInfo) (id Identity, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: panic: %v", errHookBroken, p)
		}
	}()
	r.Body = http.NoBody // the connection is the WebSocket's now
	return hook(ctx, r, info)
}

func (s *session) logHook(level slog.Level, msg string, args ...any) {
	s.mu.Lock()
	s.logLocked(level, msg, args...)
	s.mu.Unlock()
}

// refuseHook is the reason, and text if not the reason's own, that refuse
// answers the join hook's refusals and failures with; reasonNone if err is
// neither.
func refuseHook(err error) (reasonID, string) {
	var refused *hookRefusal
	switch {
	case errors.As(err, &refused):
		return reasonHookRefused, refused.Error()
	case errors.Is(err, errHookLate):
		return reasonHookLate, ""
	case errors.Is(err, errHookBroken):
		return reasonHookBroken, ""
	case errors.Is(err, room.ErrResumeFailed):
		return reasonResumeFailed, ""
	}
	return reasonNone, ""
}

// results hands finished games' results to the result hook on a goroutine
// of its own, through a bounded queue: a room that reports a result never
// waits for the hook, and a hook that falls behind by more than the queue
// loses results, counted and logged, rather than stall the rooms.
type results struct {
	hook    ResultHook
	log     *slog.Logger
	dropped prometheus.Counter
	ctx     context.Context // the hook's, canceled once the server has stopped
	cancel  context.CancelFunc
	done    chan struct{}

	mu     sync.Mutex // closed, and sends on queue
	queue  chan room.Report
	closed bool
}

func newResults(hook ResultHook, size int, log *slog.Logger, dropped prometheus.Counter) *results {
	ctx, cancel := context.WithCancel(context.Background())
	q := &results{hook: hook, log: log, dropped: dropped, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), queue: make(chan room.Report, size)}
	go q.run()
	return q
}

// offer queues a result for the hook without waiting. It runs on the
// room's goroutine.
func (q *results) offer(rep room.Report) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	select {
	case q.queue <- rep:
	default:
		q.dropped.Inc()
		q.log.Warn("result hook: queue full, a result is dropped", "room", rep.Room, "game", rep.Game, "key", rep.Key(), "queue", cap(q.queue))
	}
}

func (q *results) run() {
	defer close(q.done)
	for rep := range q.queue {
		q.call(rep)
	}
}

func (q *results) call(rep room.Report) {
	defer func() {
		if p := recover(); p != nil {
			q.log.Error("result hook panicked", "room", rep.Room, "game", rep.Game, "key", rep.Key(), "panic", p)
		}
	}()
	q.hook(q.ctx, rep)
}

// close hands the hook the results still queued until ctx is done; then
// it cancels the hook's context and returns. The rooms have stopped: no
// result comes after.
func (q *results) close(ctx context.Context) {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.queue)
	}
	q.mu.Unlock()
	select {
	case <-q.done:
	case <-ctx.Done():
		q.log.Warn("result hook: shutting down with results not handed over", "left", len(q.queue))
	}
	q.cancel()
}

// isHook reports whether err is the join hook's refusal or failure.
func isHook(err error) bool {
	why, _ := refuseHook(err)
	return why != reasonNone
}
