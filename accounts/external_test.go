package accounts

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	studioIssuer   = "https://studio.example"
	studioAudience = "arena-game"
)

// studioClaims are a studio's token's claims, changed by each case.
func studioClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": studioIssuer, "aud": studioAudience, "sub": sub, "name": "Studio Sam",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned is a token with alg none.
func unsigned(c jwt.MapClaims) string {
	s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	return s
}

// studioKeys serves RSA public keys as a JSON Web Key Set, and counts the
// fetches.
type studioKeys struct {
	*httptest.Server
	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetches int
}

func serveJWKS(t *testing.T, kid string, pub *rsa.PublicKey) *studioKeys {
	t.Helper()
	s := &studioKeys{keys: map[string]*rsa.PublicKey{kid: pub}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fetches++
		enc := base64.RawURLEncoding
		var keys []map[string]string
		for kid, pub := range s.keys {
			keys = append(keys, map[string]string{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
				"n": enc.EncodeToString(pub.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *studioKeys) add(kid string, pub *rsa.PublicKey) {
	s.mu.Lock()
	s.keys[kid] = pub
	s.mu.Unlock()
}

func (s *studioKeys) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

func TestExternalJWKS(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		keys := serveJWKS(t, "k1", &key.PublicKey)
		e := newEnv(t, openDB(t, url(t)), Config{External: ExternalConfig{
			JWKSURL: keys.URL, Issuer: studioIssuer, Audience: studioAudience,
		}})
		good := sign(t, jwt.SigningMethodRS256, key, "k1", studioClaims("user-1"))

		// Authenticate makes the account on first sight, and finds it after.
		id, err := e.svc.Authenticate(context.Background(), good)
		if err != nil || id.Name != "Studio Sam" || len(id.Account) != 26 {
			t.Fatalf("Authenticate = %+v, %v", id, err)
		}
		again := e.authOK(sign(t, jwt.SigningMethodRS256, key, "k1", studioClaims("user-1")), id.Account)
		if again != id {
			t.Fatalf("second sight %+v, first %+v", again, id)
		}
		// The endpoint answers an arena session for the same account.
		s := e.call("POST", "/api/auth/external", "", map[string]string{"token": good}).want(t, 200, "")
		if s.account()["id"] != id.Account {
			t.Fatalf("session %s, identity %+v", s.body, id)
		}
		e.authOK(s.str("access_token"), id.Account)

		// Another user of the same name gets a name of their own.
		id2, err := e.svc.Authenticate(context.Background(), sign(t, jwt.SigningMethodRS256, key, "k1", studioClaims("user-2")))
		if err != nil || id2.Account == id.Account || !strings.HasPrefix(id2.Name, "Studio Sam-") {
			t.Fatalf("second user %+v, %v; first %+v", id2, err, id)
		}
		refused(t, e, keys.URL, key, other)
	})
}

// TestExternalJWKSFetches: tokens naming keys the set lacks make arena
// fetch the studio's set again at most every jwksRefetchEvery, and a key
// the studio adds is learned once that has passed.
func TestExternalJWKSFetches(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys := serveJWKS(t, "k1", &key.PublicKey)
	c := &clock{t: time.Now()}
	e := newEnv(t, openDB(t, backends[0].url(t)), Config{now: c.now, External: ExternalConfig{
		JWKSURL: keys.URL, Issuer: studioIssuer, Audience: studioAudience,
	}})
	claims := func() jwt.MapClaims {
		cl := studioClaims("user-1")
		cl["iat"], cl["exp"] = c.now().Unix(), c.now().Add(10*time.Minute).Unix()
		return cl
	}
	if _, err := e.svc.Authenticate(context.Background(), sign(t, jwt.SigningMethodRS256, key, "k1", claims())); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		tok := sign(t, jwt.SigningMethodRS256, key, "forged-"+strconv.Itoa(i), claims())
		if _, err := e.svc.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("made-up key ID: %v", err)
		}
	}
	if n := keys.count(); n != 1 {
		t.Fatalf("%d fetches of the key set, want 1", n)
	}
	// The studio rotates to a new key.
	next, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys.add("k2", &next.PublicKey)
	c.add(jwksRefetchEvery + time.Second)
	if _, err := e.svc.Authenticate(context.Background(), sign(t, jwt.SigningMethodRS256, next, "k2", claims())); err != nil {
		t.Fatalf("the studio's new key: %v", err)
	}
	if n := keys.count(); n != 2 {
		t.Fatalf("%d fetches of the key set, want 2", n)
	}
}

// refused checks that every bad token is refused by both Authenticate and
// the endpoint.
func refused(t *testing.T, e *env, _ string, key, other *rsa.PrivateKey) {
	t.Helper()
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := studioClaims("user-3")
		change(c)
		return c
	}
	pubDER := key.PublicKey.N.Bytes()
	cases := map[string]string{
		"wrong issuer":              sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"wrong audience":            sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["aud"] = "another-game" })),
		"no audience":               sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "aud") })),
		"no expiry":                 sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"wrong key":                 sign(t, jwt.SigningMethodRS256, other, "k1", studioClaims("user-3")),
		"unknown kid":               sign(t, jwt.SigningMethodRS256, other, "k2", studioClaims("user-3")),
		"alg none":                  unsigned(studioClaims("user-3")),
		"HS256 with the public key": sign(t, jwt.SigningMethodHS256, pubDER, "k1", studioClaims("user-3")),
		"no subject":                sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { delete(c, "sub") })),
		"garbage":                   "not.a.token",
	}
	for name, tok := range cases {
		if _, err := e.svc.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Authenticate = %v, want ErrInvalidToken", name, err)
		}
		e.call("POST", "/api/auth/external", "", map[string]string{"token": tok}).want(t, 401, "unauthorized")
	}
	expired := sign(t, jwt.SigningMethodRS256, key, "k1", with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))
	if _, err := e.svc.Authenticate(context.Background(), expired); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("expired: Authenticate = %v", err)
	}
	e.call("POST", "/api/auth/external", "", map[string]string{"token": expired}).want(t, 401, "token_expired")
}

func TestExternalSecret(t *testing.T) {
	secret := []byte(strings.Repeat("s", 32))
	e := newEnv(t, openDB(t, backends[0].url(t)), Config{External: ExternalConfig{
		Secret: secret, Issuer: studioIssuer, Audience: studioAudience,
	}})
	c := studioClaims("hs-user")
	c["name"] = "not a valid name because it is long"
	c["preferred_username"] = "ignored"
	id, err := e.svc.Authenticate(context.Background(), sign(t, jwt.SigningMethodHS256, secret, "", c))
	if err != nil || !strings.HasPrefix(id.Name, "player-") {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
	c = studioClaims("hs-user-2")
	delete(c, "name")
	c["preferred_username"] = "pref"
	if id, err := e.svc.Authenticate(context.Background(), sign(t, jwt.SigningMethodHS256, secret, "", c)); err != nil || id.Name != "pref" {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
	bad := map[string]string{
		"wrong secret": sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), "", studioClaims("u")),
		"HS512":        sign(t, jwt.SigningMethodHS512, secret, "", studioClaims("u")),
		"alg none":     unsigned(studioClaims("u")),
		"wrong issuer": sign(t, jwt.SigningMethodHS256, secret, "", func() jwt.MapClaims { c := studioClaims("u"); c["iss"] = "x"; return c }()),
		"wrong aud":    sign(t, jwt.SigningMethodHS256, secret, "", func() jwt.MapClaims { c := studioClaims("u"); c["aud"] = "x"; return c }()),
	}
	for name, tok := range bad {
		if _, err := e.svc.Authenticate(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Authenticate = %v", name, err)
		}
	}
	// A studio token claiming arena as its issuer is checked as arena's own,
	// with arena's keys, and refused.
	c = studioClaims("u")
	c["iss"] = "arena"
	c["aud"] = "arena"
	if _, err := e.svc.Authenticate(context.Background(), sign(t, jwt.SigningMethodHS256, secret, "", c)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("studio token as arena's: %v", err)
	}
	// A ban of the account refuses the studio's tokens too.
	if err := e.db.Ban(context.Background(), id.Account, time.Now().Add(time.Hour), "abuse"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.pollSanctions(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	e.authFails(sign(t, jwt.SigningMethodHS256, secret, "", studioClaims("hs-user")), ErrBanned)
}

func TestExternalConfigRefused(t *testing.T) {
	db := openDB(t, backends[0].url(t))
	for name, ext := range map[string]ExternalConfig{
		"both":         {Secret: make([]byte, 32), JWKSURL: "http://x", Issuer: "i", Audience: "a"},
		"no issuer":    {Secret: make([]byte, 32), Audience: "a"},
		"no audience":  {JWKSURL: "http://x", Issuer: "i"},
		"short secret": {Secret: make([]byte, 8), Issuer: "i", Audience: "a"},
		"arena issuer": {Secret: make([]byte, 32), Issuer: "arena", Audience: "a"},
	} {
		if s, err := New(context.Background(), Config{DB: db, External: ext}); err == nil {
			s.Close()
			t.Errorf("%s: New took %+v", name, ext)
		}
	}
}

func TestSignInExternal(t *testing.T) {
	eachBackend(t, func(t *testing.T, url func(t *testing.T) string) {
		ctx := context.Background()
		e := newEnv(t, openDB(t, url(t)), Config{})
		e.register("taken@example.com", "password123", "Olive").want(t, 201, "")
		s, err := e.svc.SignInExternal(ctx, "https://idp.example", "sub-1", "Olive", "Taken@example.com")
		if err != nil {
			t.Fatal(err)
		}
		// The name and the email were taken: a variant name, and no email.
		if s.Account.Name == "Olive" || !strings.HasPrefix(s.Account.Name, "Olive-") || s.Account.Email != "" {
			t.Fatalf("account %+v", s.Account)
		}
		e.authOK(s.AccessToken, s.Account.ID)
		again, err := e.svc.SignInExternal(ctx, "https://idp.example", "sub-1", "Other", "")
		if err != nil || again.Account.ID != s.Account.ID {
			t.Fatalf("second sign-in %+v, %v; first %+v", again.Account, err, s.Account)
		}
		other, err := e.svc.SignInExternal(ctx, "https://other.example", "sub-1", "", "fresh@example.com")
		if err != nil || other.Account.ID == s.Account.ID || other.Account.Email != "fresh@example.com" {
			t.Fatalf("another issuer's subject %+v, %v", other.Account, err)
		}
		x := e.call("GET", "/api/me/export", other.AccessToken, nil).want(t, 200, "")
		if !strings.Contains(string(x.body), "https://other.example") {
			t.Fatalf("export %s", x.body)
		}
	})
}

// TestExternalJWKSDown: with the studio's key set unreachable and no key
// of its known, a token cannot be checked: unavailable, not invalid, so
// that a client keeps its token and tries again.
func TestExternalJWKSDown(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	e := newEnv(t, openDB(t, backends[0].url(t)), Config{External: ExternalConfig{
		JWKSURL: down.URL, Issuer: studioIssuer, Audience: studioAudience,
	}})
	tok := sign(t, jwt.SigningMethodRS256, key, "k1", studioClaims("user-1"))
	if _, err := e.svc.Authenticate(context.Background(), tok); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Authenticate = %v, want ErrUnavailable", err)
	}
	e.call("POST", "/api/auth/external", "", map[string]string{"token": tok}).want(t, 503, "unavailable")
}
