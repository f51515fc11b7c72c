package room

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// actionEnds is dots that ends, with every player in its standings, on
// the tick a player holds Action. It saves and restores as dots does.
type actionEnds struct {
	*dots.Dots
	over bool
}

func (g *actionEnds) Step(in []game.Input) {
	for _, i := range in {
		g.over = g.over || i.Buttons&game.Action != 0
	}
	g.Dots.Step(in)
}

func (g *actionEnds) Over() (game.Result, bool) {
	return game.Result{Summary: "over"}, g.over
}

var actionEndsMode = game.Mode{Name: "action", New: func(cfg game.Config) game.Game {
	return &actionEnds{Dots: dots.New(cfg)}
}}

// TestResultsAreReportedOnceWithWhoPlayed: a game that ends is reported
// once, with its players' accounts, those who left before the end too,
// under a key of its room and game. A
// room restored from a document written before the end reports that end
// under the same key; a new room of the same name reports under another.
func TestResultsAreReportedOnceWithWhoPlayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reports []Report
		cfg := quietConfig(actionEndsMode)
		cfg.Name = "duel"
		cfg.Host = &funcHost{result: func(rep Report) { reports = append(reports, rep) }} // on the room's goroutine
		playUntilOver := func(r *Room, token string) Joined {
			t.Helper()
			c := &fakeClient{}
			j, err := r.Join(context.Background(), JoinRequest{Client: c, Name: "ann", Account: "acct-ann", Token: token})
			if err != nil {
				t.Fatal(err)
			}
			if token == "" {
				return j
			}
			r.Input(j.Player, c, ClientInput{Buttons: game.Action})
			<-r.Done()
			return j
		}

		first := New(cfg)
		runRoom(t, first)
		ann := playUntilOver(first, "")
		bobs := &fakeClient{}
		bob, err := first.Join(context.Background(), JoinRequest{Client: bobs, Name: "bob", Account: "acct-bob"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)             // some play
		first.Leave(bob.Player, bobs, true) // bob quits
		doc, err := first.Export(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The account is the one the player joined with: a resume's is
		// not the player's say.
		c := &fakeClient{}
		j, err := first.Join(context.Background(), JoinRequest{Client: c, Account: "acct-mallory", Token: ann.Token})
		if err != nil || !j.Resumed {
			t.Fatalf("resume: %+v, %v", j, err)
		}
		first.Input(j.Player, c, ClientInput{Buttons: game.Action})
		<-first.Done()
		synctest.Wait()
		if len(reports) != 1 {
			t.Fatalf("%d reports of one game", len(reports))
		}
		rep := reports[0]
		want := fmt.Sprint([]ReportPlayer{{ID: ann.Player, Name: "ann", Account: "acct-ann"}, {ID: bob.Player, Name: "bob", Account: "acct-bob", Left: true}})
		if rep.Room != "duel" || rep.Mode != "action" || rep.Game != 1 || rep.Result.Game != 1 || rep.Result.Summary != "over" ||
			fmt.Sprint(rep.Players) != want || rep.Key() != "duel/"+rep.RoomID+"/1" || rep.RoomID == "" {
			t.Errorf("reported %+v (key %q); want room duel, mode action, game 1, players %s", rep, rep.Key(), want)
		}

		// The game's start and end: the room's making, and after the
		// second of play.
		if rep.Started.IsZero() || rep.Ended.Sub(rep.Started) < time.Second {
			t.Errorf("reported the game from %v to %v; want a start and an end a second or more after", rep.Started, rep.Ended)
		}

		restored, err := Restore(cfg, doc)
		if err != nil {
			t.Fatal(err)
		}
		runRoom(t, restored)
		playUntilOver(restored, ann.Token)
		synctest.Wait()
		if len(reports) != 2 || reports[1].Key() != rep.Key() || fmt.Sprint(reports[1].Players) != want {
			t.Errorf("the restored room reported %+v; want the key %q and players %s again", reports[1:], rep.Key(), want)
		}
		if len(reports) == 2 && !reports[1].Started.Equal(rep.Started.Truncate(time.Microsecond)) {
			t.Errorf("the restored room's game started %v; want %v, the saved start", reports[1].Started, rep.Started)
		}

		again := New(cfg)
		runRoom(t, again)
		playUntilOver(again, playUntilOver(again, "").Token)
		synctest.Wait()
		if len(reports) != 3 || reports[2].Key() == rep.Key() {
			t.Errorf("a new room of the same name reported under %q, the old one's key", reports[2].Key())
		}
	})
}

// TestResumeOnlySeatsNobodyNew: a join that may only resume, with a token
// that resumes nobody, is refused, where a plain one seats a new player.
func TestResumeOnlySeatsNobodyNew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: time.Minute}})
		_, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Token: "made-up", ResumeOnly: true})
		if !errors.Is(err, ErrResumeFailed) {
			t.Fatalf("resume-only join with a made-up token: %v; want ErrResumeFailed", err)
		}
		if n := r.Stats().Players; n != 0 {
			t.Fatalf("%d players seated", n)
		}
		j := join(t, r, &fakeClient{}, "")
		if j, err := r.Join(context.Background(), JoinRequest{Client: &fakeClient{}, Token: j.Token, ResumeOnly: true}); err != nil || !j.Resumed {
			t.Errorf("resume-only join with a good token: %+v, %v", j, err)
		}
	})
}

// presses is dots that counts its players' presses of Action (held input
// repeats each tick; a press counts once): each is a round scored (a
// game.Scorer, as blasters is) and a score submitted for the presser's
// account (a game.Submitter), and the game goes on.
type presses struct {
	*dots.Dots
	held    bool
	n       int
	account string
	scored  []game.Result
	subs    []game.Submission
}

func (g *presses) Join(p game.Player) error {
	g.account = p.Account
	return g.Dots.Join(p)
}

func (g *presses) Step(in []game.Input) {
	held := false
	for _, i := range in {
		held = held || i.Buttons&game.Action != 0
	}
	if held && !g.held {
		g.n++
		g.scored = append(g.scored, game.Result{Round: g.n, Summary: fmt.Sprintf("round %d", g.n)})
		g.subs = append(g.subs, game.Submission{Account: g.account, Board: "presses", Score: int64(g.n)})
	}
	g.held = held
	g.Dots.Step(in)
}

func (g *presses) Scored() []game.Result {
	s := g.scored
	g.scored = nil
	return s
}

func (g *presses) Submissions() []game.Submission {
	s := g.subs
	g.subs = nil
	return s
}

var pressesMode = game.Mode{Name: "presses", New: func(cfg game.Config) game.Game { return &presses{Dots: dots.New(cfg)} }}

// press has a player press Action, and let go, a second each.
func press(r *Room, j Joined, c Client, times int) {
	for range times {
		r.Input(j.Player, c, ClientInput{Buttons: game.Action})
		time.Sleep(time.Second)
		r.Input(j.Player, c, ClientInput{})
		time.Sleep(time.Second)
	}
}

// TestScoredRoundsAreReportedAndPlayGoesOn: each round a Scorer hands
// back is reported once, under a key of its own, and the room plays on.
func TestScoredRoundsAreReportedAndPlayGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reports []Report
		cfg := quietConfig(pressesMode)
		cfg.Name = "arena"
		cfg.Host = &funcHost{result: func(rep Report) { reports = append(reports, rep) }} // on the room's goroutine
		r := New(cfg)
		runRoom(t, r)
		c := &fakeClient{}
		j, err := r.Join(context.Background(), JoinRequest{Client: c, Name: "ann", Account: "acct-ann"})
		if err != nil {
			t.Fatal(err)
		}
		press(r, j, c, 2)
		synctest.Wait()
		select {
		case <-r.Done():
			t.Fatal("the room stopped after a scored round")
		default:
		}
		if len(reports) != 2 {
			t.Fatalf("%d reports; want one a round", len(reports))
		}
		for i, rep := range reports {
			want := fmt.Sprintf("arena/%s/1/%d", rep.RoomID, i+1)
			if rep.Key() != want || rep.Result.Round != i+1 || rep.Result.Game != 1 || len(rep.Players) != 1 || rep.Players[0].Account != "acct-ann" {
				t.Errorf("report %d: key %q, %+v; want key %q", i, rep.Key(), rep, want)
			}
		}
	})
}

// TestSubmissionsGoToTheHost: the scores a game submits reach the host,
// each once, in order, after the tick that made them.
func TestSubmissionsGoToTheHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []game.Submission
		cfg := quietConfig(pressesMode)
		cfg.Host = &funcHost{submit: func(s game.Submission) { got = append(got, s) }} // on the room's goroutine
		r := New(cfg)
		runRoom(t, r)
		c := &fakeClient{}
		j, err := r.Join(context.Background(), JoinRequest{Client: c, Name: "ann", Account: "acct-ann"})
		if err != nil {
			t.Fatal(err)
		}
		press(r, j, c, 2)
		synctest.Wait()
		want := []game.Submission{{Account: "acct-ann", Board: "presses", Score: 1}, {Account: "acct-ann", Board: "presses", Score: 2}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("the host was given %v; want %v", got, want)
		}
	})
}
