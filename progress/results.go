package progress

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/rating"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/store"
)

// Bounds of the results writer.
const (
	// resultQueue is how many finished games may wait for the store: a
	// minute of an outage for a node whose thousand rooms each end a game
	// a minute, a few KB each. What overflows is counted
	// (ResultStats.Dropped) and logged, never waited for: a room never
	// waits on the store.
	resultQueue = 1024
	// retryFirst and retryMax bound the wait between tries of a write the
	// store refused: a blip costs a fraction of a second, an outage one
	// try every few seconds.
	retryFirst = 50 * time.Millisecond
	retryMax   = 5 * time.Second
	// writeTimeout bounds one try, so that a store that hangs is tried
	// again rather than waited for.
	writeTimeout = 10 * time.Second
	// closeWait is how long Close lets the queue drain into a store that
	// answers before it gives up on what is left (logged).
	closeWait = 5 * time.Second
	// refusals is how many times a write the store refuses for what it
	// holds (store.Refused) is tried before it is given up: more than
	// once, since a foreign key whose account went meanwhile is written
	// differently the next time, but not forever, or one bad result
	// would stop every result behind it.
	refusals = 3
)

// ResultStats counts what became of the results given to Result.
type ResultStats struct {
	Queued     int   // waiting now
	Written    int64 // recorded, and the boards fed
	Duplicates int64 // already recorded under their key: a second delivery, written nothing
	Dropped    int64 // lost: the queue was full, the Service closed, or the store refused it (logged)
	Retries    int64 // tries the store refused, each tried again
}

// resultWriter is the queue of finished games and the goroutine that
// writes them.
type resultWriter struct {
	ctx    context.Context // canceled by Close once the queue is drained or closeWait has passed
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex // closed, and sends on queue
	queue  chan queued
	closed bool

	written, duplicates, dropped, retries atomic.Int64

	// afterMatch are run, in order, after a match is recorded for the
	// first time (never for a duplicate), each tried until it succeeds or
	// the store refuses it: for what must follow a result but cannot be
	// in its transaction. (The leaderboards' scores are in it.)
	afterMatch []func(ctx context.Context, rep room.Report) error
}

// queued is a result and when it was given: when its game ended, within
// a tick, for a report that does not say (Report.Ended).
type queued struct {
	rep room.Report
	at  time.Time
}

// startResults starts the results writer.
func (s *Service) startResults() {
	ctx, cancel := context.WithCancel(context.Background())
	s.res = &resultWriter{ctx: ctx, cancel: cancel, done: make(chan struct{}), queue: make(chan queued, resultQueue)}
	go s.runResults()
}

// Result queues a finished game to be written to the match history, the
// ratings and the leaderboards. It never blocks: it is the server's
// OnResult, whose rooms do not wait on the store. With the store down,
// results wait in a bounded queue and are written when it returns; one
// that finds the queue full is dropped, counted and logged.
func (s *Service) Result(rep room.Report) {
	w := s.res
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.dropped.Add(1)
		s.log.Warn("progress: a result after Close is dropped", "key", rep.Key())
		return
	}
	select {
	case w.queue <- queued{rep: rep, at: time.Now()}:
	default:
		w.dropped.Add(1)
		s.log.Warn("progress: results queue full, a result is dropped", "key", rep.Key(), "mode", rep.Mode, "queue", cap(w.queue))
	}
}

// ResultStats returns the results writer's counts.
func (s *Service) ResultStats() ResultStats {
	w := s.res
	return ResultStats{Queued: len(w.queue), Written: w.written.Load(), Duplicates: w.duplicates.Load(),
		Dropped: w.dropped.Load(), Retries: w.retries.Load()}
}

// runResults writes the queued results in order, each tried until the
// store takes it: results of a store that is down wait in the queue
// behind the one being tried.
func (s *Service) runResults() {
	w := s.res
	defer close(w.done)
	for q := range w.queue {
		m, rate := matchOf(q.rep, q.at)
		// The leaderboards' scores, in the season of the game's end, are
		// written with the match, so once with it: a crash between two
		// transactions would lose them, or, retried, count an incr
		// board twice.
		subs, err := s.boardScores(q.rep, m.Ended)
		if err != nil {
			s.log.Error("progress: a result's leaderboard scores are left out", "key", q.rep.Key(), "err", err)
		}
		m.Submissions = subs
		record := func(ctx context.Context) (bool, error) {
			already, err := s.db.RecordMatch(ctx, m, rate)
			return !already, err
		}
		fresh, err := retry(w, s, "record", q.rep, record)
		if errors.Is(err, errRefused) && len(m.Submissions) > 0 {
			// A board the store will not take (one deleted meanwhile, a
			// score out of range) must not cost the match and ratings.
			s.log.Error("progress: a result is recorded without its leaderboard scores, which the store refuses", "key", q.rep.Key())
			m.Submissions = nil
			fresh, err = retry(w, s, "record", q.rep, record)
		}
		if err != nil {
			w.dropped.Add(1)
			continue
		}
		if !fresh {
			// Already recorded: a room moved or restored that reported
			// its game again, or a retry whose first commit did land.
			// What followed the first recording is not run again.
			w.duplicates.Add(1)
			s.log.Info("progress: a result recorded already is ignored", "key", q.rep.Key())
			continue
		}
		for _, f := range w.afterMatch {
			if _, err := retry(w, s, "after match", q.rep, func(ctx context.Context) (bool, error) { return true, f(ctx, q.rep) }); err != nil {
				w.dropped.Add(1)
			}
		}
		// Counted once all of it is done: a reader of the count sees the
		// boards fed too.
		w.written.Add(1)
	}
}

// Why retry gave up (logged there).
var (
	errClosed  = errors.New("progress: the service closed first")
	errRefused = errors.New("progress: the store refuses the write")
)

// retry runs f until it succeeds, waiting longer after each failure, or
// gives up: errClosed once the writer is stopped, errRefused once the
// store has refused the write refusals times for what it holds.
func retry(w *resultWriter, s *Service, what string, rep room.Report, f func(ctx context.Context) (bool, error)) (bool, error) {
	wait := retryFirst
	refused := 0
	for {
		ctx, cancel := context.WithTimeout(w.ctx, writeTimeout)
		v, err := f(ctx)
		cancel()
		if err == nil {
			return v, nil
		}
		if w.ctx.Err() != nil {
			s.log.Error("progress: a result is not written: the service closed first", "step", what, "key", rep.Key(), "err", err)
			return false, errClosed
		}
		if store.Refused(err) {
			if refused++; refused == refusals {
				s.log.Error("progress: a result the store refuses is given up", "step", what, "key", rep.Key(), "tries", refused, "err", err)
				return false, errRefused
			}
		}
		w.retries.Add(1)
		s.log.Warn("progress: writing a result failed; trying again", "step", what, "key", rep.Key(), "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-w.ctx.Done():
		}
		wait = min(wait*2, retryMax)
	}
}

// closeResults stops taking results, lets the queue drain for closeWait,
// then stops the writer, logging what was left.
func (s *Service) closeResults() {
	w := s.res
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
		// Each left is counted as dropped as the writer gives it up.
		s.log.Error("progress: closing with results not written", "left", len(w.queue)+1)
	}
	w.cancel()
	<-w.done
}

// matchOf is a report as the history keeps it, and the Rater of its
// players' new ratings. ended is when the report was queued, for one that
// does not say when its game ended.
//
// Places come from the standings, best first: a player's place is its
// position, 1-based, except that a player of the same Score as the one
// before shares that one's place (competition ranking, 1 2 2 4). A mode
// whose order is not by score still gives its standings best first, and
// so its places; only equal scores tie. Players of one team (Standing.Team
// not 0) are one side, in the place of their best-placed player; a player
// of team 0 is a side of its own. Every side is rated with rating.Rate
// from its place. Players with no account (or one the store does not
// know) take part with the default rating, and nothing is stored for
// them; so do an account's second players (two tabs in one game). A
// player of the report with no standing (one who left) is in the history
// with no place, and not rated.
func matchOf(rep room.Report, ended time.Time) (store.Match, store.Rater) {
	if !rep.Ended.IsZero() {
		ended = rep.Ended
	}
	m := store.Match{Key: rep.Key(), Mode: rep.Mode, Room: rep.Room, Game: rep.Game, Started: rep.Started, Ended: ended,
		Summary: text(rep.Result.Summary)}
	byID := make(map[game.PlayerID]room.ReportPlayer, len(rep.Players))
	for _, p := range rep.Players {
		byID[p.ID] = p
	}
	st := rep.Result.Standings
	place := make([]int, len(st))
	for i := range st {
		place[i] = i + 1
		if i > 0 && st[i].Score == st[i-1].Score {
			place[i] = place[i-1]
		}
	}
	// Sides in the order of their best player, and each player's side.
	type side struct{ place int }
	var sides []side
	sideOf := make([]int, len(st))
	teamSide := map[int]int{}
	for i, s := range st {
		if s.Team != 0 {
			if j, ok := teamSide[s.Team]; ok {
				sideOf[i] = j
				continue
			}
			teamSide[s.Team] = len(sides)
		}
		sideOf[i] = len(sides)
		sides = append(sides, side{place: place[i]})
	}
	// account[i] is the account standing i is rated as: "" for a guest
	// or an account's second player.
	account := make([]string, len(st))
	seen := map[string]bool{}
	placed := map[game.PlayerID]bool{}
	for i, s := range st {
		placed[s.Player] = true
		p, ok := byID[s.Player]
		name := s.Name
		if name == "" {
			name = p.Name
		}
		if !ok || p.Account == "" {
			m.Guests++
			continue
		}
		if !seen[p.Account] {
			seen[p.Account] = true
			account[i] = p.Account
		}
		m.Players = append(m.Players, store.MatchPlayer{Account: p.Account, Player: uint32(s.Player), Name: text(name),
			Standing: sides[sideOf[i]].place, Score: s.Score, Team: s.Team, Stats: stats(s.Stats)})
	}
	for _, p := range rep.Players {
		if placed[p.ID] {
			continue
		}
		if p.Account == "" {
			m.Guests++
			continue
		}
		m.Players = append(m.Players, store.MatchPlayer{Account: p.Account, Player: uint32(p.ID), Name: text(p.Name)})
	}
	if len(sides) < 2 {
		// One side (a game of one, or one team): nobody is rated, and no
		// game is counted.
		return m, nil
	}
	rate := func(current map[string]store.Rating) map[string]store.Rating {
		teams := make([][]rating.Rating, len(sides))
		ranks := make([]int, len(sides))
		for j, sd := range sides {
			ranks[j] = sd.place
		}
		at := make([][2]int, len(st)) // standing i's index in teams
		for i := range st {
			r := rating.Default()
			if c, ok := current[account[i]]; ok && account[i] != "" && c.Games > 0 {
				r = rating.Rating{Mu: c.Mu, Sigma: c.Sigma}
			}
			j := sideOf[i]
			at[i] = [2]int{j, len(teams[j])}
			teams[j] = append(teams[j], r)
		}
		out := rating.Rate(teams, ranks)
		next := make(map[string]store.Rating, len(current))
		for i := range st {
			a := account[i]
			if _, ok := current[a]; !ok || a == "" {
				continue
			}
			r := out[at[i][0]][at[i][1]]
			next[a] = store.Rating{Mode: rep.Mode, Mu: r.Mu, Sigma: r.Sigma}
		}
		return next
	}
	return m, rate
}

// text is a game's text as both stores hold it: valid UTF-8 without NUL,
// which Postgres's text refuses (the store would refuse the result).
func text(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// stats is a standing's Stats with its keys as text holds them.
func stats(m map[string]int64) map[string]int64 {
	for k := range m {
		if text(k) != k {
			out := make(map[string]int64, len(m))
			for k, v := range m {
				out[text(k)] += v
			}
			return out
		}
	}
	return m
}
