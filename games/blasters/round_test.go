package blasters

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/arena-server/arena/game"
)

func TestCountdownEvents(t *testing.T) {
	g, q := newGame(t, nil, 1)
	at := map[int][]sent{}
	for tick := 1; tick <= CountdownSeconds*rate+1; tick++ {
		g.Step(nil)
		if evs := take(q); len(evs) > 0 {
			at[tick] = evs
		}
		if r := entity(t, g, RoundID); tick <= CountdownSeconds*rate-1 &&
			(r.Fields[RoundPhase] != PhaseCountdown || r.Fields[RoundNumber] != 1 || r.Fields[RoundSecondsLeft] != int32(CountdownSeconds-tick/rate)) {
			t.Errorf("tick %d: round entity %+v", tick, r.Fields)
		}
	}
	want := map[int][]sent{
		1:  {{nil, "countdown", `{"seconds":3}`}}, // sent by New, delivered after the first Step
		20: {{nil, "countdown", `{"seconds":2}`}},
		40: {{nil, "countdown", `{"seconds":1}`}},
		60: {{nil, "round_start", `{"round":1,"seconds":180}`}},
	}
	for tick, evs := range want {
		if !slices.EqualFunc(at[tick], evs, eqSent) {
			t.Errorf("tick %d: events %v; want %v", tick, at[tick], evs)
		}
	}
	if len(at) != len(want) {
		t.Errorf("events on ticks %v; want on %v", keys(at), keys(want))
	}
	if r := entity(t, g, RoundID); r.Fields[RoundPhase] != PhasePlaying || r.Fields[RoundSecondsLeft] != RoundSeconds {
		t.Errorf("round entity %+v once the round runs", r.Fields)
	}
}

func keys(m map[int][]sent) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

type result struct {
	Round     int `json:"round"`
	Winner    int `json:"winner"`
	Players   int `json:"players"`
	Standings []struct {
		Player int    `json:"player"`
		Name   string `json:"name"`
		Score  int    `json:"score"`
		Kills  int    `json:"kills"`
		Deaths int    `json:"deaths"`
	} `json:"standings"`
}

func TestRoundEndsWithAWinnerThenResets(t *testing.T) {
	g, q := newGame(t, map[string]string{"round": "30"}, 3)
	steps(g, CountdownSeconds*rate, nil)
	kill(t, g) // player 1 kills player 2
	g.place(t, 3, 900, 900)
	take(q)
	var over []sent
	for range 30 * rate {
		g.Step(nil)
		if over = ofType(take(q), "round_over"); len(over) > 0 {
			break
		}
	}
	if len(over) != 1 {
		t.Fatal("no round_over in the 30 s round")
	}
	var r result
	decode(t, over[0], &r)
	if r.Round != 1 || r.Winner != 1 || r.Players != 3 || len(r.Standings) != 3 {
		t.Fatalf("result %+v", r)
	}
	if s := r.Standings; s[0].Player != 1 || s[0].Kills != 1 || s[0].Score != 4*ScorePerHit+ScorePerKill ||
		s[1].Player != 3 || s[2].Player != 2 || s[2].Deaths != 1 || s[0].Name != "p" {
		t.Errorf("standings %+v; want 1, then 3 (no deaths), then 2", s)
	}
	if e := entity(t, g, RoundID); e.Fields[RoundPhase] != PhaseOver {
		t.Errorf("round entity %+v after the round", e.Fields)
	}
	// The room is handed the round as a result, once: its history,
	// ratings and boards (kills, wins) count it.
	scored := g.Scored()
	if len(scored) != 1 || scored[0].Round != 1 || len(scored[0].Standings) != 3 {
		t.Fatalf("Scored() = %+v; want round 1 with 3 standings", scored)
	}
	if st := scored[0].Standings[0]; st.Player != 1 || st.Stats["kills"] != 1 || st.Score != int64(r.Standings[0].Score) ||
		scored[0].Standings[2].Stats["deaths"] != 1 || !strings.Contains(scored[0].Summary, "wins") {
		t.Errorf("the round's result %+v", scored[0])
	}
	if again := g.Scored(); len(again) != 0 {
		t.Errorf("Scored() again = %+v; want nothing", again)
	}
	lives := map[uint32]int32{}
	for _, e := range g.AppendEntities(nil) {
		lives[e.ID] = e.Fields[PlayerLife]
	}
	// The pause: nobody fires; then the next round's countdown, from zero.
	var evs []sent
	for range int(PauseDelay.Seconds() * rate) {
		g.Step([]game.Input{fire(1, 0)})
		evs = append(evs, take(q)...)
		if len(bullets(g)) > 0 {
			t.Fatal("fired during the pause")
		}
	}
	if !slices.EqualFunc(evs, []sent{{nil, "countdown", `{"seconds":3}`}}, eqSent) {
		t.Errorf("events of the pause: %v; want the next countdown", evs)
	}
	for _, e := range g.AppendEntities(nil) {
		if e.Kind == KindPlayer && (e.Fields[PlayerScore] != 0 || e.Fields[PlayerKills] != 0 || e.Fields[PlayerDeaths] != 0 ||
			e.Fields[PlayerDead] != 0 || e.Fields[PlayerHealth] != MaxHealth || e.Fields[PlayerLife] == lives[e.ID]) {
			t.Errorf("player after the reset: %+v", e)
		}
		if e.Kind == KindRound && (e.Fields[RoundNumber] != 2 || e.Fields[RoundPhase] != PhaseCountdown) {
			t.Errorf("round after the reset: %+v", e.Fields)
		}
	}
	steps(g, CountdownSeconds*rate, nil)
	if got := ofType(take(q), "round_start"); len(got) != 1 || got[0].data != `{"round":2,"seconds":30}` {
		t.Errorf("second round's start: %v", got)
	}
	g.place(t, 1, 100, 300)
	g.Step([]game.Input{fire(1, 0)})
	if b := bullets(g); len(b) != 1 || b[0].ID != game.ItemID(1) {
		t.Errorf("the new round's first bullet: %+v", b)
	}
}

func TestRoundWithoutScoresIsADraw(t *testing.T) {
	g, q := newGame(t, map[string]string{"round": "30"}, 2)
	steps(g, (CountdownSeconds+30)*rate, nil)
	over := ofType(take(q), "round_over")
	if len(over) != 1 {
		t.Fatalf("round_over events: %v", over)
	}
	var r result
	decode(t, over[0], &r)
	if r.Winner != 0 || len(r.Standings) != 2 || r.Standings[0].Player != 1 {
		t.Errorf("result %+v; want a draw, player 1 listed first", r)
	}
}

func TestRoundOverFitsAnEvent(t *testing.T) {
	g, q := newGame(t, map[string]string{"round": "30"}, 0)
	for id := range game.PlayerID(100) {
		name := strings.Repeat(`"`, game.MaxText) // escaped, each costs two bytes
		if err := g.Join(game.Player{ID: id + 1, Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	steps(g, (CountdownSeconds+30)*rate, nil)
	over := ofType(take(q), "round_over") // an event too big would have been dropped
	if len(over) != 1 {
		t.Fatalf("round_over events: %d", len(over))
	}
	if err := game.CheckEvent(game.Event{Type: "round_over", Data: []byte(over[0].data)}); err != nil {
		t.Fatal(err)
	}
	var r result
	decode(t, over[0], &r)
	if r.Players != 100 || len(r.Standings) == 0 || len(r.Standings) >= 100 || r.Standings[0].Player != 1 {
		t.Errorf("%d players, %d standings, first %d", r.Players, len(r.Standings), r.Standings[0].Player)
	}
}

func TestRoomOptionRound(t *testing.T) {
	for _, c := range []struct {
		raw     map[string]string
		seconds int
	}{{nil, RoundSeconds}, {map[string]string{"round": "30"}, 30}, {map[string]string{"round": "600"}, 600}} {
		g, q := newGame(t, c.raw, 1)
		steps(g, CountdownSeconds*rate, nil)
		take(q)
		steps(g, c.seconds*rate-1, nil)
		if got := take(q); len(got) != 0 {
			t.Errorf("round %v: events before its end: %v", c.raw, got)
		}
		g.Step(nil)
		if got := ofType(take(q), "round_over"); len(got) != 1 {
			t.Errorf("round %v: no round_over after %d s", c.raw, c.seconds)
		}
	}
}

func TestRoomOptionRoundIsBounded(t *testing.T) {
	for _, v := range []string{"29", "601", "-1", "2.5", "long", ""} {
		if _, err := game.ParseOptions(Mode.RoomOptions, map[string]string{"round": v}); err == nil {
			t.Errorf("round %q accepted", v)
		}
	}
	if _, err := game.ParseOptions(Mode.RoomOptions, map[string]string{"rounds": "60"}); err == nil {
		t.Error("an unknown option accepted")
	}
	if d := Mode.RoomOptions[0].Default; d != fmt.Sprint(RoundSeconds) {
		t.Errorf("declared default %q; want the rules' %d", d, RoundSeconds)
	}
	if _, err := game.ParseOptions(Mode.JoinOptions, map[string]string{"color": "red"}); err == nil {
		t.Error("color red accepted")
	}
}

func TestWithoutEventsQueue(t *testing.T) {
	g := New(game.Config{Rand: newRand(), TickRate: rate}) // nil Events: sending must do nothing
	_ = g.Join(game.Player{ID: 1})
	_ = g.Join(game.Player{ID: 2})
	steps(g, CountdownSeconds*rate, nil)
	kill(t, g)
	steps(g, RoundSeconds*rate, nil)
	if g.phase != PhaseOver {
		t.Errorf("phase %d; want over", g.phase)
	}
}
