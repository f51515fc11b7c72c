package blasters

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/arena-server/arena/game"
)

// standing is one player's line in a round's result.
type standing struct {
	id                   game.PlayerID
	name                 string
	score, kills, deaths int32
}

// better orders standings best first: score, then kills, then fewer
// deaths, then lower ID, so that the order never depends on chance.
func better(a, b standing) int {
	if c := cmp.Compare(b.score, a.score); c != 0 {
		return c
	}
	if c := cmp.Compare(b.kills, a.kills); c != 0 {
		return c
	}
	if c := cmp.Compare(a.deaths, b.deaths); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// startCountdown begins the countdown before a round.
func (g *Blasters) startCountdown() {
	g.phase = PhaseCountdown
	g.phaseEnd = game.After(CountdownSeconds*time.Second, g.cfg.TickRate)
	g.second = game.After(time.Second, g.cfg.TickRate)
	g.send(nil, "countdown", "seconds", CountdownSeconds, "", 0, "", 0)
}

// clock runs the round's phases: countdown, play, pause, and again.
func (g *Blasters) clock() {
	switch g.phase {
	case PhaseCountdown:
		ended, second := g.phaseEnd.Tick(), g.second.Tick()
		switch {
		case ended:
			g.phase = PhasePlaying
			g.phaseEnd = game.After(g.roundLen, g.cfg.TickRate)
			g.second.Stop()
			g.send(nil, "round_start", "round", int64(g.number), "seconds", int64(g.roundLen/time.Second), "", 0)
		case second:
			g.second = game.After(time.Second, g.cfg.TickRate)
			g.send(nil, "countdown", "seconds", int64(seconds(g.phaseEnd, g.cfg.TickRate)), "", 0, "", 0)
		}
	case PhasePlaying:
		if g.phaseEnd.Tick() {
			g.phase = PhaseOver
			g.phaseEnd = game.After(PauseDelay, g.cfg.TickRate)
			g.bullets = g.bullets[:0]
			g.roundOver()
		}
	case PhaseOver:
		if g.phaseEnd.Tick() {
			g.nextRound()
		}
	}
}

// nextRound resets the scores and brings everyone back at fresh spawn
// points (in ID order, for the random source), then counts down again.
// Bullet IDs count from 1 again: the pause has removed every bullet long
// enough ago for clients to have forgotten them.
func (g *Blasters) nextRound() {
	g.number++
	g.nextShot = 1
	g.bullets = g.bullets[:0]
	for i := range g.players {
		p := &g.players[i]
		p.score, p.kills, p.deaths = 0, 0, 0
		g.spawn(p)
	}
	g.startCountdown()
}

// roundOver sends the round's result: see the package doc.
func (g *Blasters) roundOver() {
	s := g.standings[:0]
	for _, p := range g.players {
		s = append(s, standing{p.id, p.name, p.score, p.kills, p.deaths})
	}
	slices.SortFunc(s, better)
	g.standings = s
	var winner game.PlayerID
	if len(s) > 0 && s[0].score > 0 && (len(s) == 1 || s[1].score != s[0].score || s[1].kills != s[0].kills || s[1].deaths != s[0].deaths) {
		winner = s[0].id
	}
	g.scoreRound(s, winner)
	if g.cfg.Events == nil {
		return
	}
	b := append(g.buf[:0], `{"round":`...)
	b = strconv.AppendInt(b, int64(g.number), 10)
	b = append(b, `,"winner":`...)
	b = strconv.AppendUint(b, uint64(winner), 10)
	b = append(b, `,"players":`...)
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, `,"standings":[`...)
	var line []byte
	for i, st := range s {
		line = append(line[:0], `{"player":`...)
		line = strconv.AppendUint(line, uint64(st.id), 10)
		name, _ := json.Marshal(st.name) // a string always marshals
		line = append(line, `,"name":`...)
		line = append(line, name...)
		for _, kv := range [...]struct {
			k string
			v int32
		}{{"score", st.score}, {"kills", st.kills}, {"deaths", st.deaths}} {
			line = append(line, `,"`...)
			line = append(line, kv.k...)
			line = append(line, `":`...)
			line = strconv.AppendInt(line, int64(kv.v), 10)
		}
		line = append(line, '}')
		if len(b)+1+len(line)+len("]}") > game.MaxEventData {
			break
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, line...)
	}
	b = append(b, "]}"...)
	g.buf = b
	g.cfg.Events.ToAll(game.Event{Type: "round_over", Data: b})
}

// scoreRound keeps the round's result for the room (Scored): a round
// with at least two players is a game the program rates and ranks, its
// kills and deaths the Stats its boards count. Standings tie on score
// alone there, as places do in the history; winner names the round's
// winner for the summary.
func (g *Blasters) scoreRound(s []standing, winner game.PlayerID) {
	if len(s) < 2 {
		return
	}
	res := game.Result{Round: g.number, Summary: fmt.Sprintf("round %d: a draw", g.number),
		Standings: make([]game.Standing, len(s))}
	for i, st := range s {
		res.Standings[i] = game.Standing{Player: st.id, Name: st.name, Score: int64(st.score),
			Stats: map[string]int64{"kills": int64(st.kills), "deaths": int64(st.deaths)}}
		if st.id == winner {
			name := st.name
			if name == "" {
				name = fmt.Sprintf("player %d", st.id)
			}
			res.Summary = fmt.Sprintf("round %d: %s wins with %d points", g.number, name, st.score)
		}
	}
	g.scored = append(g.scored, res)
}
