package room

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/games/dots"
)

// seatedOf returns the last welcome c was sent.
func seatedOf(t *testing.T, c *fakeClient) Seated {
	t.Helper()
	var s Seated
	found := false
	for _, e := range c.eventList() {
		if e, ok := e.(Seated); ok {
			s, found = e, true
		}
	}
	if !found {
		t.Fatal("no welcome")
	}
	return s
}

// TestASecondDeviceTakesTheAccountsSeat: one account holds one seat in a
// room. A join of an account a member has takes that member over, as a
// resume does, whether its connection is alive or away: the same player,
// the old connection closed as taken over, a fresh token, and inputs
// counted from 1 again, as a new device counts them.
func TestASecondDeviceTakesTheAccountsSeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: time.Minute}})
		ctx := context.Background()
		phone := &fakeClient{}
		first, err := r.Join(ctx, JoinRequest{Client: phone, Name: "ann", Account: "acct-ann", SignedIn: true})
		if err != nil {
			t.Fatal(err)
		}
		if s := seatedOf(t, phone); s.Account != "acct-ann" || s.Name != "ann" || s.Resumed {
			t.Errorf("first welcome %+v; want account acct-ann, name ann, not resumed", s)
		}
		r.Input(first.Player, phone, ClientInput{Seq: 40, Buttons: game.Right})
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if ack := phone.last().Ack; ack != 40 {
			t.Fatalf("ack %d; want 40", ack)
		}

		laptop := &fakeClient{}
		second, err := r.Join(ctx, JoinRequest{Client: laptop, Name: "ann", Account: "acct-ann", SignedIn: true})
		if err != nil {
			t.Fatal(err)
		}
		if second.Player != first.Player || !second.Resumed || second.Token == first.Token || second.Token == "" {
			t.Errorf("second device: %+v; want player %d resumed with a new token", second, first.Player)
		}
		if !errors.Is(phone.closeReason(), ErrTakenOver) {
			t.Errorf("the first device was closed with %v; want ErrTakenOver", phone.closeReason())
		}
		if s := seatedOf(t, laptop); s.Account != "acct-ann" || !s.Resumed || s.Player != first.Player {
			t.Errorf("second welcome %+v", s)
		}
		// The laptop counts from 1.
		r.Input(second.Player, laptop, ClientInput{Seq: 1, Buttons: game.Down})
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if ack := laptop.last().Ack; ack != 1 {
			t.Errorf("the second device's first input: ack %d; want 1", ack)
		}
		// The first device's token is void.
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Token: first.Token, ResumeOnly: true}); !errors.Is(err, ErrResumeFailed) {
			t.Errorf("the taken-over token: %v; want ErrResumeFailed", err)
		}

		// Away, the seat is still the account's.
		r.Leave(second.Player, laptop, false)
		tablet := &fakeClient{}
		third, err := r.Join(ctx, JoinRequest{Client: tablet, Account: "acct-ann", SignedIn: true})
		if err != nil || third.Player != first.Player || !third.Resumed {
			t.Errorf("a device of the account while its player is away: %+v, %v; want player %d", third, err, first.Player)
		}
		// Other accounts and guests get seats of their own.
		bob, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Account: "acct-bob", SignedIn: true})
		guest := join(t, r, &fakeClient{}, "")
		if err != nil || bob.Player == first.Player || bob.Resumed || guest.Player == first.Player || guest.Player == bob.Player {
			t.Errorf("bob %+v (%v), guest %+v: want seats of their own", bob, err, guest)
		}
		if n := r.Stats().Players; n != 3 {
			t.Errorf("%d players; want 3", n)
		}
	})
}

// TestATokenResumesOnlyItsAccount: a join that signs in as one account and
// brings another player's token does not resume that player: an account
// never takes another's seat. A resume that does not sign in is the
// token's, and keeps the account the player joined with.
func TestATokenResumesOnlyItsAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: time.Minute}})
		ctx := context.Background()
		ann, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Name: "ann", Account: "acct-ann", SignedIn: true})
		if err != nil {
			t.Fatal(err)
		}
		mallory := &fakeClient{}
		j, err := r.Join(ctx, JoinRequest{Client: mallory, Name: "mal", Account: "acct-mallory", SignedIn: true, Token: ann.Token})
		if err != nil || j.Player == ann.Player || j.Resumed {
			t.Fatalf("another account with ann's token: %+v, %v; want a seat of its own", j, err)
		}
		if s := seatedOf(t, mallory); s.Account != "acct-mallory" {
			t.Errorf("mallory's welcome says account %q", s.Account)
		}
		back := &fakeClient{}
		j, err = r.Join(ctx, JoinRequest{Client: back, Token: ann.Token})
		if err != nil || j.Player != ann.Player || !j.Resumed {
			t.Fatalf("ann's resume: %+v, %v", j, err)
		}
		if s := seatedOf(t, back); s.Account != "acct-ann" || s.Name != "ann" {
			t.Errorf("ann's resumed welcome: %+v", s)
		}
	})
}

// TestAuthPolicyOfTheMode: a mode that requires accounts seats no new
// player or spectator that did not sign in (a resume of one seated passes);
// one with accounts off seats none that did.
func TestAuthPolicyOfTheMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		required := dots.Mode
		required.Auth = game.AuthRequired
		r, _ := startRoom(t, Config{Mode: required, Settings: Settings{ResumeGrace: time.Minute}})
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Name: "guest"}); !errors.Is(err, ErrAuthRequired) {
			t.Errorf("a guest: %v; want ErrAuthRequired", err)
		}
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Watch: true}); !errors.Is(err, ErrAuthRequired) {
			t.Errorf("a guest spectator: %v; want ErrAuthRequired", err)
		}
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Token: "made-up"}); !errors.Is(err, ErrAuthRequired) {
			t.Errorf("a guest with a token that resumes nobody: %v; want ErrAuthRequired", err)
		}
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Account: "by-hook"}); !errors.Is(err, ErrAuthRequired) {
			t.Errorf("an account that did not sign in: %v; want ErrAuthRequired", err)
		}
		ann, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Account: "acct-ann", SignedIn: true})
		if err != nil {
			t.Fatal(err)
		}
		watcher := &fakeClient{}
		if _, err := r.Join(ctx, JoinRequest{Client: watcher, Account: "acct-bob", Name: "bob", SignedIn: true, Watch: true}); err != nil {
			t.Errorf("a spectator who signed in: %v", err)
		} else if s := seatedOf(t, watcher); !s.Watching || s.Account != "acct-bob" || s.Name != "bob" {
			t.Errorf("the spectator's welcome: %+v", s)
		}
		if j, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Token: ann.Token}); err != nil || !j.Resumed {
			t.Errorf("a resume that does not sign in: %+v, %v", j, err)
		}

		off := dots.Mode
		off.Auth = game.AuthOff
		r2, _ := startRoom(t, Config{Mode: off, Name: "casual"})
		if _, err := r2.Join(ctx, JoinRequest{Client: &fakeClient{}, Account: "acct-ann", SignedIn: true}); !errors.Is(err, ErrAccountsOff) {
			t.Errorf("signed in, accounts off: %v; want ErrAccountsOff", err)
		}
		join(t, r2, &fakeClient{}, "")
	})
}

// TestResumesAndRestoresKeepTheAccount: the account a player joined with
// survives its connection's drop, the room's export and its import
// elsewhere: the resumed welcome and the game say who it is.
func TestResumesAndRestoresKeepTheAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var joined []game.Player
		mode := game.Mode{Name: "acct", New: func(cfg game.Config) game.Game {
			return &recordJoins{Dots: dots.New(cfg), joined: &joined}
		}}
		cfg := quietConfig(mode)
		r := New(cfg)
		runRoom(t, r)
		ctx := context.Background()
		c := &fakeClient{}
		ann, err := r.Join(ctx, JoinRequest{Client: c, Name: "ann", Account: "acct-ann", SignedIn: true})
		if err != nil {
			t.Fatal(err)
		}
		r.Leave(ann.Player, c, false)
		back := &fakeClient{}
		j, err := r.Join(ctx, JoinRequest{Client: back, Token: ann.Token})
		if err != nil || !j.Resumed {
			t.Fatalf("resume: %+v, %v", j, err)
		}
		if s := seatedOf(t, back); s.Account != "acct-ann" || s.Name != "ann" {
			t.Errorf("resumed welcome %+v", s)
		}
		doc, err := r.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		restored, err := Restore(cfg, doc)
		if err != nil {
			t.Fatal(err)
		}
		runRoom(t, restored)
		again := &fakeClient{}
		j2, err := restored.Join(ctx, JoinRequest{Client: again, Token: j.Token})
		if err != nil || !j2.Resumed || j2.Player != ann.Player {
			t.Fatalf("resume in the restored room: %+v, %v", j2, err)
		}
		if s := seatedOf(t, again); s.Account != "acct-ann" || s.Name != "ann" {
			t.Errorf("welcome in the restored room %+v", s)
		}
		// The game was told the account; a second device of it takes the
		// same seat in the restored room too.
		if len(joined) != 1 || joined[0].Account != "acct-ann" || joined[0].Name != "ann" {
			t.Errorf("the game was told %+v", joined)
		}
		other, err := restored.Join(ctx, JoinRequest{Client: &fakeClient{}, Account: "acct-ann", SignedIn: true})
		if err != nil || other.Player != ann.Player {
			t.Errorf("a second device in the restored room: %+v, %v", other, err)
		}
	})
}

// recordJoins is dots that records the players it is told of.
type recordJoins struct {
	*dots.Dots
	joined *[]game.Player
}

func (g *recordJoins) Join(p game.Player) error {
	*g.joined = append(*g.joined, p)
	return g.Dots.Join(p)
}

// TestEvictEndsTheAccountsSeats: an evicted account's seats go, connected
// or away, their tokens with them; other players stay.
func TestEvictEndsTheAccountsSeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := startRoom(t, Config{Settings: Settings{ResumeGrace: time.Minute}})
		ctx := context.Background()
		live, away := &fakeClient{}, &fakeClient{}
		if _, err := r.Join(ctx, JoinRequest{Client: live, Account: "acct-ann", SignedIn: true}); err != nil {
			t.Fatal(err)
		}
		bob, err := r.Join(ctx, JoinRequest{Client: away, Account: "acct-bob", SignedIn: true})
		if err != nil {
			t.Fatal(err)
		}
		r.Leave(bob.Player, away, false)
		other := &fakeClient{}
		join(t, r, other, "")
		banned := errors.New("banned")
		r.Evict("acct-ann", banned)
		r.Evict("acct-bob", banned)
		synctest.Wait()
		if live.closeReason() != banned || other.closeReason() != nil {
			t.Errorf("closed with %v and %v; want banned and nothing", live.closeReason(), other.closeReason())
		}
		if n := r.Stats().Players; n != 1 {
			t.Errorf("%d players; want 1", n)
		}
		if _, err := r.Join(ctx, JoinRequest{Client: &fakeClient{}, Token: bob.Token, ResumeOnly: true}); !errors.Is(err, ErrResumeFailed) {
			t.Errorf("an evicted player's token: %v; want ErrResumeFailed", err)
		}
	})
}
