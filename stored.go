package arena

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/cluster"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/matchmaker"
	"github.com/arena-server/arena/progress"
	"github.com/arena-server/arena/server"
	"github.com/arena-server/arena/store"
)

// storeApp is what a running arena keeps in its store: the accounts,
// the players' progress (storage, boards, history, ratings) and the
// matchmaker's pool, with the server whose connections a ban or a sign-out
// closes.
type storeApp struct {
	db   *store.DB
	svc  *accounts.Service
	prog *progress.Service
	api  http.Handler
	log  *slog.Logger
	// srv is set once the server exists; the service may revoke before
	// (a poll at start), when there is nothing live to close.
	srv atomic.Pointer[server.Server]
	// publish broadcasts this node's revocations to a cluster's other
	// nodes; nil standalone.
	publish atomic.Pointer[func(account string)]
	stops   []func()
}

// openTimeout bounds opening the store and its migrations at start, so
// that a PostgreSQL that does not answer fails the start with a clear
// error instead of hanging it.
const openTimeout = 30 * time.Second

// openAccounts opens the store -db names and the accounts on it, with
// the studio's tokens and OpenID Connect sign-in if configured.
func openAccounts(ctx context.Context, opts *options, modes []game.Mode, log *slog.Logger) (*storeApp, error) {
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	db, err := store.Open(octx, opts.dbURL())
	if err != nil {
		return nil, err
	}
	a := &storeApp{db: db, log: log}
	cfg := accounts.Config{
		DB:  db,
		Log: log,
		OnRevoke: func(account string, why accounts.Revocation) {
			if srv := a.srv.Load(); srv != nil {
				srv.CloseAccount(account, closeReason(why))
			}
		},
		Publish: func(account string, _ accounts.Revocation, _ time.Time) {
			if p := a.publish.Load(); p != nil {
				(*p)(account)
			}
		},
		// An account's export holds its progress too. prog is set before
		// the server serves a request.
		Export: func(ctx context.Context, account string) (any, error) {
			if a.prog == nil {
				return nil, nil
			}
			return a.prog.Export(ctx, account)
		},
		ClientAddr: func(r *http.Request) string {
			if srv := a.srv.Load(); srv != nil {
				return srv.ClientIP(r)
			}
			return r.RemoteAddr
		},
	}
	if opts.jwtSecret != "" || opts.jwks != "" {
		cfg.External = accounts.ExternalConfig{Secret: []byte(opts.jwtSecret), JWKSURL: opts.jwks, Issuer: opts.jwtIssuer, Audience: opts.jwtAudience}
	}
	a.svc, err = accounts.New(octx, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	api := a.svc.Handler()
	for _, p := range []string{"/api/auth/", "/api/me", "/api/me/"} {
		mux.Handle(p, api)
	}
	if opts.oidcIssuer != "" {
		o, err := accounts.NewOIDC(octx, accounts.OIDCConfig{
			Issuer: opts.oidcIssuer, ClientID: opts.oidcClientID, ClientSecret: opts.oidcClientSecret,
			RedirectURL: opts.oidcRedirect, Log: log,
		}, func(ctx context.Context, issuer, subject, name, email string) (any, error) {
			return a.svc.SignInExternal(ctx, issuer, subject, name, email)
		})
		if err != nil {
			a.close()
			return nil, fmt.Errorf("OpenID Connect (-oidc-issuer): %w", err)
		}
		o.Routes(mux)
	}
	a.prog, err = progress.New(octx, progress.Config{DB: db, Accounts: a.svc, Modes: modes, Log: log})
	if err != nil {
		a.close()
		return nil, err
	}
	// The players' progress takes the rest of the API.
	mux.Handle("/", a.prog.Handler())
	a.api = mux
	return a, nil
}

// configure hands the server its part: the token checks of joins, the HTTP
// API, the admin's API, and the connections to close.
func (a *storeApp) configure(cfg *server.Config) {
	cfg.Accounts = a
	cfg.API = a.api
	admin := http.NewServeMux()
	admin.Handle("/admin/api/leaderboards", a.prog.AdminHandler())
	admin.Handle("/", a.svc.AdminHandler())
	cfg.AdminAPI = admin
	cfg.Storage = a.prog
	cfg.Collectors = append(cfg.Collectors, a.prog.Collectors()...)
	// Every finished game is the store's too (history, boards, ratings),
	// then the program's hook's, if it has one. Result never blocks.
	hook := cfg.OnResult
	cfg.OnResult = func(ctx context.Context, r server.ResultInfo) {
		a.prog.Result(r)
		if hook != nil {
			hook(ctx, r)
		}
	}
	// The rated matchmaker's pool lives in the same store, and so do the
	// ratings it matches by: the server's own, never a client's.
	mm, err := matchmaker.New(matchmaker.Config{DB: a.db, Authenticate: a.svc.Authenticate, Modes: cfg.Modes, Log: a.log, Ratings: storeRatings{a.db}})
	if err != nil {
		a.log.Error("no matchmaker", "err", err) // only for a server with no modes, which Check refuses first
		return
	}
	cfg.Matchmaker = mm
}

// joinCluster makes the node's revocations news on the cluster's bus, and
// other nodes' news a reason to recheck the store.
func (a *storeApp) joinCluster(node *cluster.Node) error {
	stop, err := node.ServeRevoked(func(account string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.svc.Recheck(ctx, account)
	})
	if err != nil {
		return err
	}
	a.stops = append(a.stops, stop)
	publish := func(account string) {
		if err := node.PublishRevoked(account); err != nil {
			a.log.Warn("cannot tell the cluster of revoked sessions; other nodes learn of them at their next poll", "account", account, "err", err)
		}
	}
	a.publish.Store(&publish)
	return nil
}

// Authenticate implements server.Authenticator with the accounts' own
// check, turning its verdicts into the server's.
func (a *storeApp) Authenticate(ctx context.Context, token string) (server.Identity, error) {
	id, err := a.svc.Authenticate(ctx, token)
	switch {
	case err == nil:
		return server.Identity{Account: id.Account, Name: id.Name}, nil
	case errors.Is(err, accounts.ErrBanned):
		return server.Identity{}, fmt.Errorf("%w %s", server.ErrBanned, banDetail(err))
	case errors.Is(err, accounts.ErrRevoked):
		return server.Identity{}, server.ErrSignedOut
	case errors.Is(err, accounts.ErrUnavailable):
		return server.Identity{}, fmt.Errorf("%w: %w", server.ErrAuthUnavailable, err)
	}
	return server.Identity{}, err
}

// banDetail is what a banned player is told after "this account is
// banned": until when, and why.
func banDetail(err error) string {
	var ban *accounts.BanError
	if !errors.As(err, &ban) {
		return ""
	}
	s := "until " + ban.Until.UTC().Format(time.RFC3339)
	if ban.Reason != "" {
		s += ": " + ban.Reason
	}
	return s
}

// closeReason is the server's reason for the connections of an account
// whose sessions ended.
func closeReason(why accounts.Revocation) error {
	if why == accounts.RevokedBanned {
		return server.ErrBanned
	}
	return server.ErrSignedOut
}

func (a *storeApp) close() {
	for _, stop := range a.stops {
		stop()
	}
	// Progress first: it writes the saves and results still queued.
	if a.prog != nil {
		a.prog.Close()
	}
	if a.svc != nil {
		a.svc.Close()
	}
	a.db.Close()
}

// storeRatings gives the matchmaker the ratings the results writer keeps.
type storeRatings struct{ db *store.DB }

func (r storeRatings) Ratings(ctx context.Context, mode string, accounts []string) (map[string]matchmaker.Rating, error) {
	got, err := r.db.RatingsFor(ctx, mode, accounts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]matchmaker.Rating, len(got))
	for id, g := range got {
		out[id] = matchmaker.Rating{Mu: g.Mu, Sigma: g.Sigma}
	}
	return out, nil
}
