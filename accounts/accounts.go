// Package accounts holds arena's player accounts and their sessions: guest
// accounts, email and password accounts, accounts of a studio's own users
// (its JWTs), the tokens that prove who a player is, and the HTTP API that
// signs players in and lets them manage their account.
//
// A session is two tokens. The access token is a short-lived JWT (HS256,
// 15 minutes by default) signed with a key from a ring kept in the store:
// any node checks it with no database round trip, so a join costs no
// query and still works while the database is down. The refresh token is
// opaque (its sign-in's ID, a dot, 32 random bytes), stored only as its
// SHA-256, and good for one use: each refresh spends it and hands out the
// next of the same family, so a stolen copy that is used too is seen, and
// the whole family ends.
//
// A token checked locally cannot be recalled, so the Service keeps in
// memory what voids tokens early: bans and sign-outs everywhere. It learns
// of this node's own at once (and hands them to Config.Publish for a
// cluster broadcast), of other nodes' by Recheck (that broadcast names the
// account; the store says what happened) and by
// polling store.Sanctions every 2 seconds, and tells the program through
// Config.OnRevoke so that live connections close too.
package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/arena-server/arena/store"
)

// Config configures a Service.
type Config struct {
	// DB is the store accounts live in. Required.
	DB *store.DB
	// AccessTTL is how long an access token is good for: default 15m. It
	// bounds how long a token outlives its account's sign-out on a node
	// that has not heard of it.
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh token is good for: default 30 days.
	RefreshTTL time.Duration
	// KeyRotation is how often a new signing key is made: default 24h. The
	// old one keeps verifying for AccessTTL more, then goes.
	KeyRotation time.Duration
	// Log receives what happens to accounts, by account ID only: never an
	// email, a password or a token. Default: slog.Default().
	Log *slog.Logger
	// OnRevoke is called when an account's sessions end at once (ban,
	// sign-out everywhere, deletion, a new password): the program closes
	// its live connections (server.Server.CloseAccount). It must not block.
	OnRevoke func(accountID string, why Revocation)
	// Publish is called, besides OnRevoke, for the changes to an
	// account's sessions made on this node (a ban or its lifting, a
	// sign-out everywhere, a deletion, a new password), for the program to
	// tell the other nodes, whose Recheck reads the store: they learn of
	// it at once instead of at their next poll, and of a deletion at all,
	// since a deleted account leaves no row to poll. why is 0 for a lifted
	// ban. It must not block.
	Publish func(accountID string, why Revocation, before time.Time)
	// External lets a studio's own JWTs sign its users in.
	External ExternalConfig
	// ClientAddr returns the address a request is throttled by. Default:
	// the host of r.RemoteAddr. Behind a proxy the program passes one that
	// reads the proxy's header, as the server does for joins.
	ClientAddr func(r *http.Request) string
	// Export, if set, gives what else the program keeps of an account (its
	// progress), for GET /api/me/export to hold beside the account.
	Export func(ctx context.Context, accountID string) (any, error)
	// Limits throttles the HTTP API; zero fields take the defaults.
	Limits Limits

	// now is the clock; tests set it. Default: time.Now.
	now func() time.Time
	// pollEvery is how often sanctions are polled; tests shorten it.
	// Default: 2s.
	pollEvery time.Duration
}

// Revocation is why an account's sessions ended.
type Revocation int

const (
	RevokedBanned    Revocation = iota + 1 // an admin banned the account
	RevokedSignedOut                       // sign-out everywhere, or a new password
	RevokedDeleted                         // the account was deleted
)

func (r Revocation) String() string {
	switch r {
	case RevokedBanned:
		return "banned"
	case RevokedSignedOut:
		return "signed_out"
	case RevokedDeleted:
		return "deleted"
	}
	return fmt.Sprintf("Revocation(%d)", int(r))
}

// Identity is who a token says its bearer is.
type Identity struct {
	Account string // the account's ID
	Name    string // its display name when the token was issued
}

// Errors of Authenticate and the API. Callers test them with errors.Is.
var (
	ErrInvalidToken = errors.New("accounts: invalid token")
	ErrExpiredToken = errors.New("accounts: expired token")
	// ErrRevoked is a token issued before its account signed out
	// everywhere (or was deleted). It is an ErrInvalidToken too.
	ErrRevoked = fmt.Errorf("%w: the account's sessions were ended", ErrInvalidToken)
	// ErrBanned: the error is a *BanError, which gives the reason and end.
	ErrBanned = errors.New("accounts: banned")
	// ErrUnavailable: the store cannot be reached.
	ErrUnavailable = errors.New("accounts: unavailable")
)

// BanError is the error of a banned account's token or sign-in.
type BanError struct {
	Reason string
	Until  time.Time
}

func (e *BanError) Error() string {
	return "this account is banned " + e.describe()
}

// HTTPStatus is the status a ban is answered with: it lets OIDC sign-in
// (oidc.go) show the player the ban rather than a generic failure.
func (e *BanError) HTTPStatus() int { return http.StatusForbidden }

// describe is what a player is told: until when, and why.
func (e *BanError) describe() string {
	s := "until " + e.Until.UTC().Format(time.RFC3339)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

func (e *BanError) Is(target error) bool { return target == ErrBanned }

// Service is the accounts of one node.
type Service struct {
	cfg  Config
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	keys keyRing
	// access checks arena's own tokens; made once, it is read-only.
	access *jwt.Parser
	rev    revocations
	ext    *externalVerifier
	lim    limiters

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	poke   chan struct{} // asks the poller to poll now
}

// New opens the accounts of cfg.DB: it loads the signing keys (making the
// first if there is none) and the sanctions that void live tokens, before
// any token is checked, and starts polling for sanctions and rotating keys
// until Close.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("accounts: no store")
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.KeyRotation <= 0 {
		cfg.KeyRotation = 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.pollEvery <= 0 {
		cfg.pollEvery = pollEvery
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = remoteHost
	}
	cfg.Limits = cfg.Limits.withDefaults()
	s := &Service{
		cfg:  cfg,
		db:   cfg.DB,
		log:  cfg.Log,
		now:  func() time.Time { return cfg.now().UTC().Truncate(time.Microsecond) },
		lim:  newLimiters(cfg.Limits),
		poke: make(chan struct{}, 1),
	}
	s.rev.init()
	s.access = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer),
		jwt.WithAudience(tokenAudience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(s.now),
	)
	dummyHash() // now, so that the first login of an unknown email takes no longer than others
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	ext, err := newExternalVerifier(cfg.External, s.now)
	if err != nil {
		s.cancel()
		return nil, err
	}
	s.ext = ext
	if err := s.rotateKeys(ctx); err != nil {
		s.cancel()
		return nil, err
	}
	if err := s.pollSanctions(ctx, false); err != nil {
		s.cancel()
		return nil, err
	}
	s.wg.Add(1)
	go s.background()
	return s, nil
}

// Close stops polling and rotating. Tokens can still be checked.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// pollEvery is how often sanctions made on other nodes are looked for: a
// ban or a sign-out elsewhere reaches this node's joins within it, even
// with no cluster broadcast.
const pollEvery = 2 * time.Second

// background polls sanctions and rotates keys until Close.
func (s *Service) background() {
	defer s.wg.Done()
	poll := time.NewTicker(s.cfg.pollEvery)
	defer poll.Stop()
	// Rotation is checked often enough to make a key soon after it is due
	// and to pick up another node's new key before a token signed with it
	// arrives (a reload covers that case too).
	rotate := time.NewTicker(min(s.cfg.KeyRotation/4, time.Minute))
	defer rotate.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-poll.C:
		case <-s.poke:
		case <-rotate.C:
			if err := s.rotateKeys(s.ctx); err != nil && s.ctx.Err() == nil {
				s.log.Warn("accounts: cannot rotate signing keys", "err", err)
			}
			// Spent and expired refresh tokens are of no more use.
			if err := s.db.DeleteExpiredRefresh(s.ctx, s.now()); err != nil && s.ctx.Err() == nil {
				s.log.Warn("accounts: cannot delete expired refresh tokens", "err", err)
			}
			continue
		}
		if err := s.pollSanctions(s.ctx, true); err != nil && s.ctx.Err() == nil {
			// The last known sanctions still hold; the next poll retries.
			s.log.Warn("accounts: cannot poll sanctions", "err", err)
		}
	}
}

// NewID returns a fresh account (or key, or family) ID: 16 random bytes
// in lowercase base32, 26 characters, that sort nowhere and guess never.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// randomSuffix returns n random characters of NewID's alphabet, for
// generated names.
func randomSuffix(n int) string {
	return NewID()[:n]
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// storeErr maps a store error to the API's: the store's own refusals pass
// through, anything else is the database failing.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNameTaken),
		errors.Is(err, store.ErrEmailTaken), errors.Is(err, store.ErrRefreshReused):
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
