package room

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/arena-server/arena/game"
)

// maxOverStandings bounds the standings the room_over event carries, so
// that its message stays small in a crowded room; Result has them all.
const maxOverStandings = 100

// deliverEvents hands the events the game sent since the last drain to
// their connected recipients, stamped with the current tick; spectators
// get those sent to everyone. It runs before the tick's states are
// offered, so a client hears of an event no later than it sees the
// snapshot of that tick. Players who are away miss it: events are news,
// not state.
func (r *Room) deliverEvents() {
	for _, q := range r.events.Take() {
		ev := GameEvent{Tick: r.tick, Type: q.Event.Type, Data: q.Event.Data}
		if q.To == nil {
			r.broadcast(ev)
			continue
		}
		for _, id := range q.To {
			if m := r.member(id); m != nil && m.client != nil {
				m.client.Event(ev)
			}
		}
	}
}

// gameOver asks a game that can end whether it has, and how.
func (r *Room) gameOver() (game.Result, bool) {
	e, ok := r.game.(game.Ender)
	if !ok {
		return game.Result{}, false
	}
	return e.Over()
}

// reportScored reports the results a Scorer hands back after a Step, as
// endGame reports a game's, numbered with the game they are part of.
func (r *Room) reportScored() {
	sc, ok := r.game.(game.Scorer)
	if !ok {
		return
	}
	for _, res := range sc.Scored() {
		res.Game = r.number
		r.cfg.Host.Result(r.report(res))
	}
}

// endGame keeps the result of the game that just ended, numbered, and
// reports it (Host.Result). It sends every connected player a "room_over"
// event carrying it, after this tick's state. If the mode rematches, the
// next game is created at once and the room pauses before stepping it
// (startRematch); else endGame reports false, and Run stops and closes
// the players with ErrGameOver.
func (r *Room) endGame(res game.Result) bool {
	res.Standings = append([]game.Standing(nil), res.Standings...)
	res.Game = r.number
	r.result.Store(&res)
	r.cfg.Host.Result(r.report(res))
	rematch := r.cfg.Mode.Rematch > 0
	if !rematch {
		r.cfg.Host.Over()
	}
	r.broadcast(GameEvent{Tick: r.tick, Type: "room_over", Data: overData(res), AfterState: true, Last: !rematch})
	if !rematch {
		return false
	}
	r.nextGame()
	return true
}

// nextGame replaces the game that ended with a new one, seeded from the
// old one's random source (so that a room replays from its seed), and
// seats the members in it, by ascending ID, with their IDs, names, join
// options and storage (as they joined, with the saves written since); the
// away ones stay away until their grace ends. The new game
// starts after the mode's pause (startRematch). A player the new game
// refuses is told the game is over, and leaves.
func (r *Room) nextGame() {
	r.number++
	r.left = nil // the last game's: reported with it
	r.newGame(r.pcg.Uint64())
	r.events.Take() // nothing the old game sent is news in the new one
	r.rematchAt = r.tick + uint64(max(1, (r.cfg.Mode.Rematch+r.interval-1)/r.interval))
	presence, _ := r.game.(game.Presence)
	for i := 0; i < len(r.members); {
		m := r.members[i]
		if err := r.game.Join(game.Player{ID: m.id, Name: m.name, Account: m.account, Options: m.opts, Storage: playerStorage(m.storage)}); err != nil {
			r.log.Info("the next game refused a player", "player", m.id, "err", err)
			r.members = slices.Delete(r.members, i, i+1)
			if m.client != nil {
				m.client.Close(ErrGameOver)
			}
			r.cfg.Host.Token(m.tokenHash, false)
			r.freeSeat(m.addr)
			continue
		}
		if m.client == nil && presence != nil {
			presence.Away(m.id)
		}
		i++
	}
	r.stats.players.Store(int64(len(r.members)))
	if len(r.members) == 0 {
		r.emptySince = time.Now()
	}
}

// startRematch reports whether the next game starts this tick: once the
// pause is over, every connected player is told with a "room_rematch"
// event {"game":N}, before the new game's first events and state.
func (r *Room) startRematch() bool {
	if r.tick < r.rematchAt {
		return false
	}
	r.rematchAt = 0
	r.started = time.Now()
	r.broadcast(GameEvent{Tick: r.tick, Type: "room_rematch", Data: fmt.Appendf(nil, `{"game":%d}`, r.number)})
	return true
}

func overData(res game.Result) []byte {
	if len(res.Standings) > maxOverStandings {
		res.Standings = res.Standings[:maxOverStandings]
	}
	if res.Standings == nil {
		res.Standings = []game.Standing{}
	}
	data, _ := json.Marshal(res) // strings, integers and a slice: cannot fail
	return data
}

// Result returns how the room's last finished game ended (its Game says
// which), once one has: the room stops when its game is over, unless its
// mode rematches.
func (r *Room) Result() (game.Result, bool) {
	if p := r.result.Load(); p != nil {
		return *p, true
	}
	return game.Result{}, false
}

// Report is a finished game's result as its room reports it
// (Host.Result): which game of which room it was, and who played it.
type Report struct {
	Room string `json:"room"`
	Mode string `json:"mode"`
	// RoomID tells the room apart from earlier and later rooms of the
	// same name: it is random, made when the room is created, and kept
	// when the room moves or is restored (Document.ID).
	RoomID string `json:"room_id"`
	// Game numbers the room's games: game.Result.Game.
	Game   int         `json:"game"`
	Result game.Result `json:"result"`
	// Started is when the game began: when its room was made, or its
	// rematch started; zero if unknown (a room restored from a document
	// of a release that did not keep it). Ended is when it ended.
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended"`
	// Players are everyone who played the game, by ascending ID: the
	// room's players when it ended, connected or away, and those who left
	// the room before the end (ReportPlayer.Left; the latest maxLeft of
	// them). The standings name players by ID.
	Players []ReportPlayer `json:"players"`
}

// ReportPlayer is a player of a finished game.
type ReportPlayer struct {
	ID   game.PlayerID `json:"id"`
	Name string        `json:"name"`
	// Account is game.Player.Account: empty for a player nobody vouched
	// for.
	Account string `json:"account,omitempty"`
	// Left says the player left the room before the game ended: it quit,
	// or did not come back within its resume grace.
	Left bool `json:"left,omitempty"`
}

// maxLeft bounds the players a room remembers leaving its game: a game
// that runs for hours in a busy room would otherwise remember thousands.
const maxLeft = 1024

// noteLeft remembers a player who leaves during a game that can end, for
// its result.
func (r *Room) noteLeft(m *member) {
	if _, ok := r.game.(game.Ender); !ok {
		return
	}
	if len(r.left) == maxLeft {
		r.left = append(r.left[:0], r.left[1:]...)
	}
	r.left = append(r.left, ReportPlayer{ID: m.id, Name: m.name, Account: m.account, Left: true})
}

// Key identifies the result: the same game of the same room has the same
// key wherever and however often it is reported (a room restored from a
// checkpoint written before its end plays that end again), and no other
// game has it. A store that keeps results once by key keeps each once.
func (r Report) Key() string {
	k := r.Room + "/" + r.RoomID + "/" + strconv.Itoa(r.Game)
	if r.Result.Round > 0 {
		k += "/" + strconv.Itoa(r.Result.Round) // a Scorer's part of the game
	}
	return k
}

// report is the Report of res, the result of the room's game that just
// ended.
func (r *Room) report(res game.Result) Report {
	rep := Report{Room: r.cfg.Name, Mode: r.cfg.Mode.Name, RoomID: r.id, Game: res.Game, Result: res, Started: r.started, Ended: time.Now(),
		Players: make([]ReportPlayer, 0, len(r.members)+len(r.left))}
	rep.Result.Standings = append([]game.Standing(nil), res.Standings...) // the hook's own
	for i := range rep.Result.Standings {
		// Stats too: the game may write its maps again while the hook reads.
		rep.Result.Standings[i].Stats = maps.Clone(rep.Result.Standings[i].Stats)
	}
	for _, m := range r.members {
		rep.Players = append(rep.Players, ReportPlayer{ID: m.id, Name: m.name, Account: m.account})
	}
	rep.Players = append(rep.Players, r.left...)
	slices.SortStableFunc(rep.Players, func(a, b ReportPlayer) int { return cmp.Compare(a.ID, b.ID) })
	return rep
}
