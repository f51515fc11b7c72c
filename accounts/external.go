package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/store"
)

// ExternalConfig lets a studio with its own backend sign its users in to
// arena with its own JWTs (-auth-jwt-secret or -auth-jwks, with
// -auth-jwt-issuer and -auth-jwt-audience). An account is made on first
// sight of a subject.
type ExternalConfig struct {
	// Secret checks HS256 tokens signed with a secret shared with arena.
	Secret []byte
	// JWKSURL checks tokens signed with the studio's public keys (RS256,
	// ES256, EdDSA...), published as a JSON Web Key Set at this URL.
	JWKSURL string
	// Issuer and Audience must be the tokens' "iss" and one of their "aud":
	// both are required, so that a token the studio made for another
	// service is not taken here.
	Issuer, Audience string
}

func (c ExternalConfig) enabled() bool { return len(c.Secret) > 0 || c.JWKSURL != "" }

// externalVerifier checks a studio's tokens and remembers which account
// each of its subjects is.
type externalVerifier struct {
	cfg    ExternalConfig
	now    func() time.Time
	parser *jwt.Parser           // with Secret
	oidc   *oidc.IDTokenVerifier // with JWKSURL
	keys   *jwks                 // with JWKSURL

	mu    sync.Mutex
	known map[string]Identity // subject → account; the issuer is the one configured
}

// externalCacheMax bounds the subjects remembered. Past it the cache
// starts over: a miss costs one query, and memory stays bounded however
// many users a studio has.
const externalCacheMax = 100_000

func newExternalVerifier(cfg ExternalConfig, now func() time.Time) (*externalVerifier, error) {
	if !cfg.enabled() {
		return nil, nil
	}
	switch {
	case len(cfg.Secret) > 0 && cfg.JWKSURL != "":
		return nil, errors.New("accounts: external tokens are checked by a secret or by a JWKS URL, not both")
	case cfg.Issuer == "" || cfg.Audience == "":
		return nil, errors.New("accounts: external tokens need an issuer and an audience to check")
	case cfg.Issuer == tokenIssuer:
		return nil, fmt.Errorf("accounts: the external issuer cannot be %q, arena's own", tokenIssuer)
	case len(cfg.Secret) > 0 && len(cfg.Secret) < 32:
		// HS256's key should be as long as its output; a short secret can
		// be found by brute force from one token.
		return nil, errors.New("accounts: the external JWT secret must be at least 32 bytes")
	}
	v := &externalVerifier{cfg: cfg, now: now, known: make(map[string]Identity)}
	if len(cfg.Secret) > 0 {
		v.parser = jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(now),
		)
		return v, nil
	}
	algs := []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384,
		oidc.ES512, oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}
	v.keys = newJWKS(cfg.JWKSURL, algs, now)
	v.oidc = oidc.NewVerifier(cfg.Issuer, v.keys, &oidc.Config{
		ClientID: cfg.Audience,
		// Public-key algorithms only: an HS256 token "signed" with the
		// public key, or one with alg none, is refused before any key is
		// tried.
		SupportedSigningAlgs: algs,
		Now:                  func() time.Time { return now().Add(-leeway) },
	})
	return v, nil
}

// jwksRefetchEvery bounds how often the studio's key set is fetched
// again for a token no known key verifies. go-oidc's RemoteKeySet fetches
// on every such token; since any client can send tokens with made-up key
// IDs on every join, that would turn arena into a client hammering the
// studio's server. A studio that rotates its keys publishes the new one
// ahead of use, and arena sees it within this interval.
const jwksRefetchEvery = 10 * time.Second

// jwks is a JSON Web Key Set fetched from a URL, cached, and fetched again
// at most every jwksRefetchEvery when a token names a key it lacks.
type jwks struct {
	url    string
	algs   []jose.SignatureAlgorithm
	now    func() time.Time
	client *http.Client

	fetching sync.Mutex // one fetch at a time; tokens the cache verifies do not wait for it
	mu       sync.Mutex
	keys     []jose.JSONWebKey // replaced whole, never changed: read without mu once taken
	fetched  time.Time
	fetchErr error // the last fetch's
}

// unreachable reports whether the set could never be fetched: arena has
// no key of the studio's at all.
func (k *jwks) unreachable() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys) == 0 && k.fetchErr != nil
}

func newJWKS(url string, algs []string, now func() time.Time) *jwks {
	k := &jwks{url: url, now: now, client: &http.Client{Timeout: 10 * time.Second}}
	for _, a := range algs {
		k.algs = append(k.algs, jose.SignatureAlgorithm(a))
	}
	return k
}

var errNoKey = errors.New("no key of the studio's key set verifies the token")

// VerifySignature is oidc.KeySet's: the payload of a token one of the
// set's signing keys verifies.
func (k *jwks) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSigned(token, k.algs)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token has exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	if payload, ok := k.verify(jws, kid); ok {
		return payload, nil
	}
	k.fetching.Lock()
	defer k.fetching.Unlock()
	// A fetch that ended while this waited may have brought the key.
	if payload, ok := k.verify(jws, kid); ok {
		return payload, nil
	}
	k.mu.Lock()
	recent := !k.fetched.IsZero() && k.now().Sub(k.fetched) < jwksRefetchEvery
	if !recent {
		k.fetched = k.now() // a failed fetch counts: a studio's server that is down is not hammered either
	}
	k.mu.Unlock()
	if recent {
		return nil, errNoKey
	}
	keys, err := k.fetch(ctx)
	k.mu.Lock()
	k.fetchErr = err
	if err == nil {
		k.keys = keys
	}
	k.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("fetching the studio's key set: %w", err)
	}
	if payload, ok := k.verify(jws, kid); ok {
		return payload, nil
	}
	return nil, errNoKey
}

// verify tries the set's signing keys of that ID (or all, for a token
// that names none).
func (k *jwks) verify(jws *jose.JSONWebSignature, kid string) ([]byte, bool) {
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	for _, key := range keys {
		if (kid != "" && key.KeyID != kid) || !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue
		}
		if payload, err := jws.Verify(key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// fetch reads the key set, of at most 1 MiB.
func (k *jwks) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", k.url, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, err
	}
	return set.Keys, nil
}

// externalClaims are what arena reads of a studio's token.
type externalClaims struct {
	jwt.RegisteredClaims
	Name              string `json:"name"`
	PreferredUsername string `json:"preferred_username"`
}

// verify checks a studio's token and returns its claims.
func (v *externalVerifier) verify(ctx context.Context, token string) (externalClaims, error) {
	var c externalClaims
	if v.parser != nil {
		_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.cfg.Secret, nil })
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			return c, ErrExpiredToken
		case err != nil:
			return c, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	} else {
		t, err := v.oidc.Verify(ctx, token)
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired) && expired.Expiry.IsZero():
			// go-oidc reads a missing "exp" as expired long ago.
			return c, fmt.Errorf("%w: no expiry", ErrInvalidToken)
		case errors.As(err, &expired):
			return c, ErrExpiredToken
		case err != nil && v.keys.unreachable():
			// No key to check with: the token may be good.
			return c, fmt.Errorf("%w: %w", ErrUnavailable, err)
		case err != nil:
			return c, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
		if err := t.Claims(&c); err != nil {
			return c, fmt.Errorf("%w: %w", ErrInvalidToken, err)
		}
	}
	if c.Subject == "" || len(c.Subject) > 255 {
		return c, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	return c, nil
}

func (v *externalVerifier) cached(subject string) (Identity, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	id, ok := v.known[subject]
	return id, ok
}

func (v *externalVerifier) remember(subject string, id Identity) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.known) >= externalCacheMax {
		clear(v.known)
	}
	v.known[subject] = id
}

func (v *externalVerifier) forget(accountID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for sub, id := range v.known {
		if id.Account == accountID {
			delete(v.known, sub)
		}
	}
}

// authenticateExternal is Authenticate of a studio's token: checked
// locally (the secret, or JWKS keys cached by go-oidc), and its account
// looked up once, then remembered.
func (s *Service) authenticateExternal(ctx context.Context, token string) (Identity, error) {
	c, err := s.ext.verify(ctx, token)
	if err != nil {
		return Identity{}, err
	}
	id, ok := s.ext.cached(c.Subject)
	if !ok {
		a, err := s.externalAccount(ctx, s.ext.cfg.Issuer, c.Subject, c.displayName(), "")
		if err != nil {
			return Identity{}, err
		}
		id = Identity{Account: a.ID, Name: a.Name}
		s.ext.remember(c.Subject, id)
	}
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time
	}
	if err := s.rev.check(id.Account, iat, s.now()); err != nil {
		return Identity{}, err
	}
	return id, nil
}

func (c externalClaims) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.PreferredUsername
}

// SignInExternal signs in the account of an identity another party
// vouched for (a studio's token, an OpenID Connect provider): found by
// (issuer, subject), or made on first sight with name made valid and
// unique and email kept if no account has it. The caller has checked the
// identity; pass an email only if the provider verified it.
func (s *Service) SignInExternal(ctx context.Context, issuer, subject, name, email string) (Session, error) {
	a, err := s.externalAccount(ctx, issuer, subject, name, email)
	if err != nil {
		return Session{}, err
	}
	if err := banOf(a, s.now()); err != nil {
		return Session{}, err
	}
	return s.startSession(ctx, a)
}

// externalAccount finds or makes the account of (issuer, subject).
func (s *Service) externalAccount(ctx context.Context, issuer, subject, name, email string) (store.Account, error) {
	a, err := s.db.AccountByExternal(ctx, issuer, subject)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return a, storeErr(err)
	}
	if len(email) > maxEmail || strings.Count(email, "@") != 1 {
		email = ""
	}
	a, err = s.createAccount(ctx, name, "player-", email, "")
	if errors.Is(err, store.ErrEmailTaken) {
		a, err = s.createAccount(ctx, name, "player-", "", "")
	}
	if err != nil {
		return store.Account{}, storeErr(err)
	}
	if err := s.db.LinkExternal(ctx, issuer, subject, a.ID); err != nil {
		// Two first sign-ins raced and the other linked first: use its
		// account, and drop the one made here.
		other, err2 := s.db.AccountByExternal(ctx, issuer, subject)
		if err2 != nil {
			return store.Account{}, storeErr(err)
		}
		_ = s.db.DeleteAccount(ctx, a.ID)
		return other, nil
	}
	s.log.Info("accounts: account created", "account", a.ID, "kind", "external")
	return a, nil
}

// createAccount makes an account named after want if it is a valid name
// and free, or else a variant of it, or else prefix and random letters.
func (s *Service) createAccount(ctx context.Context, want, prefix, email, hash string) (store.Account, error) {
	for _, name := range nameCandidates(want, prefix) {
		a := store.Account{ID: NewID(), Name: name, Email: email, PasswordHash: hash, CreatedAt: s.now()}
		err := s.db.CreateAccount(ctx, a)
		if errors.Is(err, store.ErrNameTaken) {
			continue
		}
		return a, err
	}
	return store.Account{}, store.ErrNameTaken
}

// nameCandidates are the names to try for an account that wanted want:
// want itself, want with random suffixes, then generated ones.
func nameCandidates(want, prefix string) []string {
	var out []string
	if n, err := protocol.Nickname(want); err == nil && n != "" {
		out = append(out, n)
		base := n
		for utf8.RuneCountInString(base) > protocol.MaxNameLength-5 {
			_, size := utf8.DecodeLastRuneInString(base)
			base = base[:len(base)-size]
		}
		for range 3 {
			if v, err := protocol.Nickname(base + "-" + randomSuffix(4)); err == nil {
				out = append(out, v)
			}
		}
	}
	for range 8 {
		out = append(out, prefix+randomSuffix(5))
	}
	return append(out, prefix+randomSuffix(protocol.MaxNameLength-len(prefix)))
}
