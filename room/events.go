package room

import (
	"encoding/json"

	"github.com/arena-server/arena/game"
)

// maxOverStandings bounds the standings the room_over event carries, so
// that its message stays small in a crowded room; Result has them all.
const maxOverStandings = 100

// deliverEvents hands the events the game sent since the last drain to
// their connected recipients, stamped with the current tick. It runs
// before the tick's states are offered, so a client hears of an event no
// later than it sees the snapshot of that tick. Players who are away miss
// it: events are news, not state.
func (r *Room) deliverEvents() {
	for _, q := range r.events.Take() {
		ev := GameEvent{Tick: r.tick, Type: q.Event.Type, Data: q.Event.Data}
		if q.To == nil {
			for _, m := range r.members {
				if m.client != nil {
					m.client.Event(ev)
				}
			}
			continue
		}
		for _, id := range q.To {
			if m := r.member(id); m != nil && m.client != nil {
				m.client.Event(ev)
			}
		}
	}
}

// over asks a game that can end whether it has. If so it keeps the result
// and sends every connected player a "room_over" event carrying it; Run
// then stops and closes them with ErrGameOver.
func (r *Room) over() bool {
	e, ok := r.game.(game.Ender)
	if !ok {
		return false
	}
	res, done := e.Over()
	if !done {
		return false
	}
	res.Standings = append([]game.Standing(nil), res.Standings...)
	r.result.Store(&res)
	if r.cfg.OnOver != nil {
		r.cfg.OnOver()
	}
	ev := GameEvent{Tick: r.tick, Type: "room_over", Data: overData(res), Last: true}
	for _, m := range r.members {
		if m.client != nil {
			m.client.Event(ev)
		}
	}
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

// Result returns how the game ended, once the room has stopped because it
// was over.
func (r *Room) Result() (game.Result, bool) {
	if p := r.result.Load(); p != nil {
		return *p, true
	}
	return game.Result{}, false
}
