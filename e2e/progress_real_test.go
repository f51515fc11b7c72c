package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
	"github.com/arena-server/arena/store"
)

// progressSite is a server with all of issue 25's parts and its store.
type progressSite struct {
	URL string
	DB  *store.DB
}

// duoMode is dots for two: a room the matchmaker fills with two tickets.
var duoMode = func() game.Mode {
	m := dots.Mode
	m.Name, m.MaxPlayers = "duo", 2
	m.Description = "dots for two"
	return m
}()

// firstMove is dots that ends on the first tick a player moves: the
// mover wins (score 1), the others share second place (as in progress's
// own tests).
type firstMove struct {
	*dots.Dots
	players []game.Player
	winner  game.PlayerID
}

func (g *firstMove) Join(p game.Player) error {
	g.players = append(g.players, p)
	return g.Dots.Join(p)
}

func (g *firstMove) Step(in []game.Input) {
	for _, i := range in {
		if g.winner == 0 && i.Buttons != 0 {
			g.winner = i.Player
		}
	}
	g.Dots.Step(in)
}

func (g *firstMove) Over() (game.Result, bool) {
	if g.winner == 0 {
		return game.Result{}, false
	}
	res := game.Result{Summary: "first to move"}
	for _, p := range g.players {
		s := game.Standing{Player: p.ID, Name: p.Name}
		if p.ID == g.winner {
			s.Score = 1
			res.Standings = append([]game.Standing{s}, res.Standings...)
			continue
		}
		res.Standings = append(res.Standings, s)
	}
	return res, true
}

var firstMode = func() game.Mode {
	m := dots.Mode
	m.Name, m.Description = "first", "the first to move wins"
	m.New = func(cfg game.Config) game.Game { return &firstMove{Dots: dots.New(cfg)} }
	return m
}()

// programSite runs the stock program in this process, as accountsSite
// does, with modes (dots, duo and first), and opens its store beside it
// for a test to fill: the page, the accounts, the progress API and the
// matchmaker as the program wires them.
func programSite(t *testing.T) *progressSite {
	t.Helper()
	dir := t.TempDir()
	addr := runProgram(t, dir, dots.Mode, duoMode, firstMode)
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "arena.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &progressSite{URL: "http://" + addr, DB: db}
}

// player makes an account the store knows, for the boards and the
// history to hold others than the page's player.
func (s *progressSite) player(t *testing.T, name string) string {
	t.Helper()
	id := accounts.NewID()
	if err := s.DB.CreateAccount(context.Background(), store.Account{ID: id, Name: name, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestProgressRealPage: against the real progress API, the panel shows
// the profile's ratings, a board's top 10 and the page around the player
// (rank 15 of 25, marked), and the history a page at a time.
func TestProgressRealPage(t *testing.T) {
	site := programSite(t)
	tb := newTab(t)
	me := openAccountPage(t, tb, site.URL, "/?room=real-progress")
	myName := eval[string](tb, `window.arena.auth.account.name`)
	ctx := context.Background()

	// A board of 25: the player 15th, a name with markup 2nd.
	board := store.Board{ID: "e2e_score", Order: "desc", Operator: "best", Reset: "never"}
	if err := site.DB.CreateBoard(ctx, board); err != nil {
		t.Fatal(err)
	}
	others := make([]string, 25)
	for i := range others {
		rank := i + 1
		if rank == 15 {
			others[i] = me
		} else {
			name := fmt.Sprintf("rival %02d", rank)
			if rank == 2 {
				name = `<img src=x onerror="window.pwned=1">`
			}
			others[i] = site.player(t, name)
		}
		if err := site.DB.Submit(ctx, board, 0, others[i], int64(1000-rank), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// A board the player is not on.
	other := store.Board{ID: "e2e_other", Order: "asc", Operator: "best", Reset: "never"}
	if err := site.DB.CreateBoard(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := site.DB.Submit(ctx, other, 0, others[0], 5, time.Now()); err != nil {
		t.Fatal(err)
	}
	// 12 matches of dots, the newest first: the player 1st in the even
	// ones; ratings as the results writer would keep them.
	for i := 1; i <= 12; i++ {
		place := 2
		if i%2 == 0 {
			place = 1
		}
		m := store.Match{Key: fmt.Sprintf("room/m%02d/1", i), Mode: "dots", Room: fmt.Sprintf("m%02d", i), Game: 1,
			Started: time.Now().Add(-time.Duration(60-i) * time.Minute), Ended: time.Now().Add(-time.Duration(50-i) * time.Minute),
			Players: []store.MatchPlayer{
				{Account: me, Player: 1, Name: myName, Standing: place, Score: int64(i)},
				{Account: others[1], Player: 2, Name: `<img src=x onerror="window.pwned=1">`, Standing: 3 - place, Score: 7},
			}}
		games := i
		if _, err := site.DB.RecordMatch(ctx, m, func(cur map[string]store.Rating) map[string]store.Rating {
			return map[string]store.Rating{me: {Mode: "dots", Mu: 30, Sigma: 4, Games: games}}
		}); err != nil {
			t.Fatal(err)
		}
	}

	openProgress(tb)
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[any](`document.querySelectorAll('#ratings-body tr').length === 1`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("the profile: %v; the panel says %q", err, eval[string](tb, `document.getElementById('progress-error').textContent + ' ' + document.getElementById('pane-profile').textContent`))
	}
	if got := eval[string](tb, `document.querySelector('#ratings-body tr').textContent + '|' + document.getElementById('profile-games').textContent`); got != "dots18.012|12 games" {
		t.Errorf("the profile: %q; want dots, 30 - 3×4 = 18.0, 12 games", got)
	}

	// The page around a player not on a board is a 404 (no_entry), which
	// the browser logs.
	tb.allowConsole(`status of 404 .*/api/leaderboards/(e2e_other\?around=|e2e_other/accounts/|no_such_board/)`)
	tb.do(chromedp.Click(chromedp.CSS("#tab-boards")))
	waitFor(tb, "the boards", `document.getElementById('board').options.length === 2`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#board"), "e2e_score"))
	eval[bool](tb, `document.getElementById('board').dispatchEvent(new Event('change'))`)
	waitFor(tb, "the board", `document.querySelectorAll('#board-top li').length === 10 && document.querySelectorAll('#board-around li').length > 0`, 5*time.Second)
	got := eval[[]string](tb, `[[...document.querySelectorAll('#board-top li .rank')].map((e) => e.textContent).join(','),
		document.querySelector('#board-top li:nth-child(2) .who').textContent,
		[...document.querySelectorAll('#pane-boards li.me')].map((li) => li.dataset.account + ' ' + li.querySelector('.rank').textContent).join('|'),
		[...document.querySelectorAll('#board-around li .rank')].map((e) => e.textContent).join(',')]`)
	if got[0] != "1,2,3,4,5,6,7,8,9,10" || got[1] != `<img src=x onerror="window.pwned=1">` || got[2] != me+" 15" || !strings.Contains(","+got[3]+",", ",14,15,16,") {
		t.Errorf("the board: %q", got)
	}

	tb.do(chromedp.SetValue(chromedp.CSS("#board"), "e2e_other"))
	eval[bool](tb, `document.getElementById('board').dispatchEvent(new Event('change'))`)
	waitFor(tb, "the other board", `document.querySelectorAll('#board-top li').length === 1`, 5*time.Second)
	if got := eval[string](tb, `document.getElementById('board-note').textContent + '|' + document.getElementById('board-around-title').hidden + '|' + document.getElementById('progress-error').textContent`); got != "You are not on this board yet: play a game of its mode.|true|" {
		t.Errorf("a board the player is not on: %q", got)
	}
	// The SDK's rank: an entry, or null for none.
	if got := eval[string](tb, fmt.Sprintf(`(async () => {
		const sdk = await import('/sdk/arena.js');
		const p = new sdk.Progress({ auth: window.arena.auth });
		const [a, b] = await Promise.all([p.rank('e2e_score', %q), p.rank('e2e_other', %q)]);
		const c = await p.rank('no_such_board', %q).then(() => 'found', (e) => e.code);
		return a.rank + ' ' + a.score + ' ' + b + ' ' + c;
	})()`, me, me, me)); got != "15 985 null not_found" {
		t.Errorf("rank: %q", got)
	}

	tb.do(chromedp.Click(chromedp.CSS("#tab-history")))
	waitFor(tb, "the history", `document.querySelectorAll('#history li').length === 10`, 5*time.Second)
	if got := eval[string](tb, `[...document.querySelectorAll('#history li')].map((li) => li.dataset.key).join(',')`); got != "room/m12/1,room/m11/1,room/m10/1,room/m09/1,room/m08/1,room/m07/1,room/m06/1,room/m05/1,room/m04/1,room/m03/1" {
		t.Errorf("the history's first page: %q", got)
	}
	if got := eval[string](tb, `document.querySelector('#history li .place').textContent`); got != "1st of 2" {
		t.Errorf("the newest match's place: %q", got)
	}
	tb.do(chromedp.Click(chromedp.CSS("#history-more")))
	waitFor(tb, "the rest", `document.querySelectorAll('#history li').length === 12 && document.getElementById('history-more').hidden`, 5*time.Second)
	if n := eval[int](tb, `document.querySelectorAll('#progress img').length + (window.pwned ? 1 : 0)`); n != 0 {
		t.Errorf("names were taken as markup: %d", n)
	}
	if msg := eval[string](tb, `document.getElementById('progress-error').textContent`); msg != "" {
		t.Errorf("the panel says %q", msg)
	}
}

// TestProgressRealQueue: two players (two tabs, two accounts) press "Find
// a match" in duo; the real matchmaker puts them in one room, and each
// page joins it in its held seat.
func TestProgressRealQueue(t *testing.T) {
	site := programSite(t)
	one := newTab(t)
	id1 := openAccountPage(t, one, site.URL, "/?room=lobby-one")
	two := newTab(t)
	id2 := openAccountPage(t, two, site.URL, "/?room=lobby-two")
	for _, tb := range []*tab{one, two} {
		waitFor(tb, "the modes", `[...document.getElementById('queue-mode').options].some((o) => o.value === 'duo')`, 5*time.Second)
		tb.do(chromedp.SetValue(chromedp.CSS("#queue-mode"), "duo"), chromedp.Click(chromedp.CSS("#queue-go")))
	}
	for i, tb := range []*tab{one, two} {
		id := []string{id1, id2}[i]
		waitFor(tb, "the match's room", fmt.Sprintf(`window.arena.connected && window.arena.mode === 'duo' && window.arena.account?.id === %q
			&& window.arena.progress.state.queue === 'matched'`, id), 15*time.Second)
	}
	r1, r2 := eval[string](one, `window.arena.room`), eval[string](two, `window.arena.room`)
	if r1 != r2 {
		t.Errorf("matched into %s and %s; want one room", r1, r2)
	}
	waitFor(one, "both players in the room", `window.arena.players.size === 2`, 5*time.Second)
	if !one.requested(site.URL+"/api/matchmake/tickets") || !two.requested(site.URL+"/api/matchmake/tickets") {
		t.Error("no POST /api/matchmake/tickets")
	}
	// The join took the seat held for it.
	for _, tb := range []*tab{one, two} {
		tb.mu.Lock()
		seated := false
		for _, u := range tb.requests {
			seated = seated || (strings.HasPrefix(u, "ws") && strings.Contains(u, "seat="))
		}
		tb.mu.Unlock()
		if !seated {
			t.Error("no join with a seat")
		}
	}
}

// TestProgressRealGameShowsUp: a game played to its end on the page is in
// both players' history and the winner's rating moments after room_over,
// with the History pane open: the panel reads itself again.
func TestProgressRealGameShowsUp(t *testing.T) {
	site := programSite(t)
	one := newTab(t)
	id1 := openAccountPage(t, one, site.URL, "/?room=first-game&mode=first")
	two := newTab(t)
	openAccountPage(t, two, site.URL, "/?room=first-game")
	waitFor(one, "both players", `window.arena.players.size === 2`, 5*time.Second)
	for _, tb := range []*tab{one, two} {
		openProgress(tb)
		tb.do(chromedp.Click(chromedp.CSS("#tab-history")))
		waitFor(tb, "no games yet", `document.querySelector('#history li')?.textContent === 'No games yet.'`, 5*time.Second)
	}
	// D, not an arrow: the focus is on a tab, which takes the arrows.
	one.hold(keyD, 300*time.Millisecond)
	for i, tb := range []*tab{one, two} {
		place := []string{"1st of 2", "2nd of 2"}[i]
		waitFor(tb, "the game in the history", fmt.Sprintf(`document.querySelector('#history li .place')?.textContent === %q
			&& document.querySelector('#history li .mode').textContent === 'first'`, place), 10*time.Second)
	}
	one.do(chromedp.Click(chromedp.CSS("#tab-profile")))
	waitFor(one, "the winner's rating", `document.querySelector('#ratings-body tr[data-mode="first"]')?.children[2].textContent === '1'`, 5*time.Second)
	rating := eval[float64](one, `Number(document.querySelector('#ratings-body tr[data-mode="first"]').children[1].textContent)`)
	var mu, sigma float64
	rs, err := site.DB.Ratings(context.Background(), id1)
	if err != nil || len(rs) != 1 {
		t.Fatalf("the winner's ratings: %v, %v", rs, err)
	}
	mu, sigma = rs[0].Mu, rs[0].Sigma
	if want := mu - 3*sigma; rating < want-0.051 || rating > want+0.051 {
		t.Errorf("the page shows %.1f; the store has mu %.3f sigma %.3f: want %.1f", rating, mu, sigma, want)
	}
}
