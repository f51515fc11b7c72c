package accounts

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/arena-server/arena/store"
)

// The issuer and audience of arena's own access tokens.
const tokenIssuer, tokenAudience = "arena", "arena"

// leeway is the clock difference between nodes that expiry tolerates.
const leeway = 5 * time.Second

// reloadEvery bounds how often an unknown key ID makes the ring reload
// from the store: a node learns another's new key on first sight of it,
// and a flood of forged key IDs costs one query a second.
const reloadEvery = time.Second

// keyRing is the signing keys, newest first, as the store has them.
type keyRing struct {
	mu         sync.RWMutex
	keys       []store.SigningKey
	lastReload time.Time
}

func (k *keyRing) set(keys []store.SigningKey) {
	k.mu.Lock()
	k.keys = keys
	k.mu.Unlock()
}

func (k *keyRing) newest() (store.SigningKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if len(k.keys) == 0 {
		return store.SigningKey{}, false
	}
	return k.keys[0], true
}

func (k *keyRing) find(id string) ([]byte, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, key := range k.keys {
		if key.ID == id {
			return key.Secret, true
		}
	}
	return nil, false
}

// rotateKeys loads the ring from the store, adds a key if the newest is
// older than KeyRotation (or there is none), and deletes keys no token
// they signed can still be good with: those made before the last rotation
// and AccessTTL more. Every node does this; two adding a key at once is
// harmless, since each signs with the newest it knows and all verify all.
func (s *Service) rotateKeys(ctx context.Context) error {
	now := s.now()
	keys, err := s.db.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("accounts: loading signing keys: %w", err)
	}
	if len(keys) == 0 || now.Sub(keys[0].CreatedAt) >= s.cfg.KeyRotation {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		k := store.SigningKey{ID: NewID(), Secret: secret, CreatedAt: now}
		if err := s.db.AddSigningKey(ctx, k); err != nil {
			return fmt.Errorf("accounts: adding a signing key: %w", err)
		}
		if len(keys) > 0 {
			s.log.Info("accounts: signing key rotated", "key", k.ID)
		}
		if keys, err = s.db.SigningKeys(ctx); err != nil {
			return fmt.Errorf("accounts: loading signing keys: %w", err)
		}
	}
	cut := now.Add(-(s.cfg.KeyRotation + s.cfg.AccessTTL + leeway))
	if err := s.db.DeleteSigningKeysBefore(ctx, cut); err != nil {
		return fmt.Errorf("accounts: deleting old signing keys: %w", err)
	}
	kept := keys[:0:0]
	for _, k := range keys {
		if !k.CreatedAt.Before(cut) {
			kept = append(kept, k)
		}
	}
	s.keys.set(kept)
	return nil
}

// reloadKeys reads the ring again, at most once every reloadEvery. It
// reports whether it read, and the store's error.
func (s *Service) reloadKeys(ctx context.Context) (bool, error) {
	now := s.now()
	s.keys.mu.Lock()
	if now.Sub(s.keys.lastReload) < reloadEvery && !s.keys.lastReload.IsZero() {
		s.keys.mu.Unlock()
		return false, nil
	}
	s.keys.lastReload = now
	s.keys.mu.Unlock()
	keys, err := s.db.SigningKeys(ctx)
	if err != nil {
		return true, err
	}
	s.keys.set(keys)
	return true, nil
}

// claims are an access token's.
type claims struct {
	Issuer    string           `json:"iss"`
	Audience  jwt.ClaimStrings `json:"aud"`
	Subject   string           `json:"sub"`
	Name      string           `json:"name"`
	IssuedAt  microTime        `json:"iat"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	Session   string           `json:"sid"`
}

func (c *claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *claims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (c *claims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *claims) GetAudience() (jwt.ClaimStrings, error)       { return c.Audience, nil }

// microTime is "iat" to the microsecond: a NumericDate with a fraction,
// as RFC 7519 allows. Whole seconds would not do: a sign-out everywhere
// voids the tokens issued before it, and the session handed out in the
// same second after it (a new password's) must still be good. The store
// keeps RevokedBefore to the microsecond, so the token does too. It is
// read from the JSON text, not through a float64, which cannot hold a
// present-day time to the microsecond.
type microTime struct{ time.Time }

func (t microTime) MarshalJSON() ([]byte, error) {
	us := t.UnixMicro()
	return fmt.Appendf(nil, "%d.%06d", us/1e6, us%1e6), nil
}

func (t *microTime) UnmarshalJSON(b []byte) error {
	whole, frac, dot := bytes.Cut(b, []byte("."))
	sec, err := strconv.ParseInt(string(whole), 10, 64)
	if err != nil || sec < 0 || sec > 1<<40 || (dot && (len(frac) == 0 || len(frac) > 9)) {
		return errors.New("iat is not a time")
	}
	var us int64
	if dot {
		digits := string(frac) + "000000000"[len(frac):]
		ns, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || ns < 0 {
			return errors.New("iat is not a time")
		}
		us = ns / 1000
	}
	t.Time = time.UnixMicro(sec*1e6 + us).UTC()
	return nil
}

// issueAccess signs an access token for an account.
func (s *Service) issueAccess(accountID, name, family string, now time.Time) (string, error) {
	key, ok := s.keys.newest()
	if !ok {
		return "", fmt.Errorf("%w: no signing key", ErrUnavailable)
	}
	c := &claims{
		Issuer:    tokenIssuer,
		Audience:  jwt.ClaimStrings{tokenAudience},
		Subject:   accountID,
		Name:      name,
		IssuedAt:  microTime{now},
		ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
		Session:   family,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	t.Header["kid"] = key.ID
	return t.SignedString(key.Secret)
}

// errUnknownKey is a token signed with a key the ring does not hold.
var errUnknownKey = errors.New("unknown signing key")

// verifyAccess checks one of arena's own access tokens: HS256 only (no
// "none", no algorithm a forger picks), a key of the ring, issuer,
// audience and an expiry. A key ID the ring lacks makes it reload from
// the store once, so that a key another node just made is learned.
func (s *Service) verifyAccess(ctx context.Context, token string) (*claims, error) {
	parse := func() (*claims, error) {
		c := new(claims)
		_, err := s.access.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			if secret, ok := s.keys.find(kid); ok {
				return secret, nil
			}
			return nil, errUnknownKey
		})
		return c, err
	}
	c, err := parse()
	if errors.Is(err, errUnknownKey) {
		read, rerr := s.reloadKeys(ctx)
		switch {
		case rerr != nil:
			// The token may be good, signed by a key made elsewhere that
			// this node cannot read now.
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, rerr)
		case read:
			c, err = parse()
		}
	}
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrExpiredToken
	}
	return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
}

// Authenticate checks an access token for a WebSocket join, with no
// database round trip for arena's own tokens: signature (the key ring is
// in memory), expiry, and any ban or sign-out everywhere this node knows
// of. A studio's own JWT (Config.External) is accepted too: its account
// is found or made by (issuer, subject), and remembered.
func (s *Service) Authenticate(ctx context.Context, token string) (Identity, error) {
	if s.ext != nil {
		if iss, ok := unverifiedIssuer(token); ok && iss != tokenIssuer {
			return s.authenticateExternal(ctx, token)
		}
	}
	c, err := s.verifyAccess(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	if err := s.rev.check(c.Subject, c.IssuedAt.Time, s.now()); err != nil {
		return Identity{}, err
	}
	return Identity{Account: c.Subject, Name: c.Name}, nil
}

// unverifiedIssuer reads a JWT's "iss" without checking anything, to
// route it to the verifier that will.
func unverifiedIssuer(token string) (string, bool) {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return "", false
	}
	return c.Issuer, true
}
