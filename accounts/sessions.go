package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/arena-server/arena/store"
)

// Session is what a sign-in answers: the two tokens and the account.
type Session struct {
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	ExpiresIn    int         `json:"expires_in"` // seconds the access token is good for
	Account      AccountView `json:"account"`
}

// AccountView is an account as its owner sees it: never a hash.
type AccountView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	Guest     bool      `json:"guest"` // no email and password yet: it lives on its refresh token
	CreatedAt time.Time `json:"created_at"`
}

func view(a store.Account) AccountView {
	return AccountView{
		ID:        a.ID,
		Name:      a.Name,
		Email:     a.Email,
		Guest:     a.Email == "" && a.PasswordHash == "",
		CreatedAt: a.CreatedAt,
	}
}

// ErrRefreshInvalid is a refresh token that is unknown or expired;
// ErrRefreshReused one that was already spent, whose family has now ended.
var (
	ErrRefreshInvalid = errors.New("accounts: unknown or expired refresh token")
	ErrRefreshReused  = errors.New("accounts: refresh token used twice")
)

// newRefreshToken returns a refresh token of a family and the hash the
// store keeps of it. The token is FAMILY.SECRET: the family's ID, which
// is no secret, and 32 random bytes in base64url. The family in the token
// gives a refreshed access token its sign-in's session ID ("sid") with no
// extra query. 32 random bytes cannot be guessed, so a plain SHA-256 of
// the token (no salt, no stretching) lets the store find it without
// being able to hand it out.
func newRefreshToken(family string) (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = family + "." + base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashRefresh(token)
}

func hashRefresh(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// startSession signs an account in: a new refresh family and its first
// access token.
func (s *Service) startSession(ctx context.Context, a store.Account) (Session, error) {
	now := s.now()
	family := NewID()
	token, hash := newRefreshToken(family)
	err := s.db.AddRefresh(ctx, store.Refresh{
		Hash: hash, Family: family, AccountID: a.ID,
		IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL),
	})
	if err != nil {
		return Session{}, storeErr(err)
	}
	return s.session(a, token, family, now)
}

func (s *Service) session(a store.Account, refresh, family string, now time.Time) (Session, error) {
	access, err := s.issueAccess(a.ID, a.Name, family, now)
	if err != nil {
		return Session{}, err
	}
	return Session{
		AccessToken:  access,
		RefreshToken: refresh,
		ExpiresIn:    int(s.cfg.AccessTTL / time.Second),
		Account:      view(a),
	}, nil
}

// Refresh spends a refresh token and answers the next session of its
// family. A token spent before ends the family (someone else holds a copy
// of it): ErrRefreshReused.
//
// A banned account's refresh is refused before the token is spent: the
// player keeps it, and it works again once the ban ends. Spending it
// first would leave the player holding a spent token, so the next refresh
// after an unban would look like theft, and a guest, whose refresh token
// is the only key to the account, would have lost the account.
func (s *Service) Refresh(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrRefreshInvalid
	}
	family, _, ok := strings.Cut(token, ".")
	if !ok {
		return Session{}, ErrRefreshInvalid
	}
	now := s.now()
	old := hashRefresh(token)
	a, err := s.db.RefreshAccount(ctx, old, now)
	switch {
	case err == nil:
		if err := banOf(a, now); err != nil {
			return Session{}, err
		}
	case errors.Is(err, store.ErrNotFound):
		// Spent, expired or unknown: the rotation below tells which, and
		// ends the family of a spent one.
	default:
		return Session{}, storeErr(err)
	}
	next, hash := newRefreshToken(family)
	r := store.Refresh{Hash: hash, IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	id, err := s.db.RotateRefresh(ctx, old, r, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Session{}, ErrRefreshInvalid
	case errors.Is(err, store.ErrRefreshReused):
		// The store does not say whose it was; the family is in the token.
		s.log.Warn("accounts: a spent refresh token was used again; its sign-in has ended", "family", family)
		return Session{}, ErrRefreshReused
	case err != nil:
		return Session{}, storeErr(err)
	}
	// A ban made between the check and the rotation is not checked again:
	// the new refresh token is refused like the old one until the ban
	// ends, and the access token by Authenticate, which knows of the ban
	// (at once on this node, within a poll on others). Refusing here
	// would spend the player's token, the bug the early check avoids.
	if a.ID != id {
		// The token was not live when read, yet it rotated: a token
		// cannot come back to life, so this does not happen; should it,
		// the session is the rotated token's account's, read now.
		if a, err = s.db.AccountByID(ctx, id); errors.Is(err, store.ErrNotFound) {
			return Session{}, ErrRefreshInvalid
		} else if err != nil {
			return Session{}, storeErr(err)
		}
	}
	return s.session(a, next, family, now)
}
