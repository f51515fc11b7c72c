package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arena-server/arena/arenatest"
	"github.com/arena-server/arena/server"
)

// tokenAccounts is an Authenticator for tests: tok-ann is ann's, any
// other token is not valid.
type tokenAccounts struct{}

func (tokenAccounts) Authenticate(_ context.Context, token string) (server.Identity, error) {
	if token == "tok-ann" {
		return server.Identity{Account: "acct-ann", Name: "Ann"}, nil
	}
	return server.Identity{}, errors.New("not valid")
}

// TestTheClientSignsIn: net.js's Connection signs in with the token its
// auth option gives, in an auth message after ?auth=1 (never in the URL),
// and the welcome tells it its account. A refused token is asked for
// again, as refused, and tried once more; refused twice, the connection
// ends for good. A reconnect signs in again and resumes, with its resume
// token in the auth message.
func TestTheClientSignsIn(t *testing.T) {
	srv := arenatest.Start(t, arenatest.Options{Config: func(c *server.Config) { c.Accounts = tokenAccounts{} }})
	tb := newTab(t)
	// A page of the origin with no script of its own: arena's page would
	// sign in as a guest at the accounts API, which this server (an
	// Authenticator, no API) does not have.
	tb.navigate(srv.URL + "/healthz")
	tb.allowConsole(`WebSocket connection to .* failed`)
	got := eval[[]string](tb, `import('/js/net.js').then((net) => new Promise((done) => {
		const log = [];
		let asks = 0;
		let welcomes = 0, first = null;
		const conn = new net.Connection({
			onMessage: (m) => {
				if (m.type !== 'welcome') return;
				welcomes++;
				log.push('welcome ' + JSON.stringify(m.account) + ' resumed=' + m.resumed + (first !== null && m.id === first ? ' same' : ''));
				if (welcomes === 1) {
					first = m.id;
					// As a dropped network (not a leave: not 1000), then the
					// client's reconnect.
					conn.closeSocket(4000);
					conn.open();
				} else {
					conn.leave();
					done(log);
				}
			},
			onStatus: () => {},
		}, { server: location.href, storageKey: 'e2e-auth' });
		conn.connect({ room: 'e2e-auth', auth: (why) => {
			log.push('asked ' + (why || '-'));
			return Promise.resolve(++asks === 1 ? 'tok-stale' : 'tok-ann');
		} });
	}))`)
	want := []string{"asked -", "asked auth_failed", `welcome {"id":"acct-ann","name":"Ann"} resumed=false`, "asked -", `welcome {"id":"acct-ann","name":"Ann"} resumed=true same`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the client:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := refusals(t, srv, "auth_failed"); n != 1 {
		t.Errorf("%d joins refused as auth_failed; want 1", n)
	}
	if !tb.requested(srv.WSURL + "?room=e2e-auth&auth=1") {
		t.Error("the client did not connect with ?auth=1")
	}
	tb.mu.Lock()
	for _, u := range tb.requests {
		if strings.Contains(u, "tok-") {
			t.Errorf("a token went into a URL: %s", u)
		}
	}
	tb.mu.Unlock()

	closed := eval[string](tb, `import('/js/net.js').then((net) => new Promise((done) => {
		const conn = new net.Connection({
			onMessage: () => {},
			onStatus: (state, detail, final, info) => { if (state === 'closed') done([final, info.code, info.error, detail].join(' ')); },
		}, { server: location.href, storageKey: 'e2e-auth-2' });
		conn.connect({ room: 'e2e-auth', auth: () => 'tok-stale' });
	}))`)
	if want := "true 1008 auth_failed the access token is not valid or has expired: refresh it and join again"; closed != want {
		t.Errorf("refused twice: %q; want %q", closed, want)
	}
	waitRefusals(t, srv, "auth_failed", 3, 5*time.Second)
}
