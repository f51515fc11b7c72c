// Package oidctest is a small but real OpenID Connect provider for tests: it
// serves discovery, a JWKS, an authorization endpoint that approves one
// configured user at once (no login page, so an http.Client that follows
// redirects plays the browser), and a token endpoint that trades a code for
// a signed ID token. It checks what a strict provider checks (client ID and
// secret, redirect URI, single-use codes, PKCE S256), so that a client that
// gets any of it wrong fails here rather than against a real provider.
//
// Tests can make it misbehave the ways a hostile or broken provider would:
// deny the sign-in, or alter the ID token's claims before they are signed.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// User is whom the provider signs in.
type User struct {
	Subject       string
	Name          string
	Email         string
	EmailVerified bool
}

// Config is the client the provider knows, and its user.
type Config struct {
	ClientID     string
	ClientSecret string
	// RedirectURIs are the exact redirect URIs /authorize accepts; none:
	// any, for a test that learns its callback's address only later.
	RedirectURIs []string
	User         User
}

// Provider is a running provider. Its methods are safe for concurrent use.
type Provider struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu       sync.Mutex
	cfg      Config
	denial   string
	tamper   func(claims map[string]any)
	codes    map[string]grant
	lastAuth url.Values
	exchange int
}

// grant is what an issued code stands for, until it is spent.
type grant struct {
	user        User
	redirectURI string
	nonce       string
	challenge   string
	expires     time.Time
}

// codeTTL is how long a code stays good: RFC 6749 recommends at most ten
// minutes; a test needs seconds.
const codeTTL = time.Minute

// New starts a provider on a loopback port, closed when the test ends.
func New(t testing.TB, cfg Config) *Provider {
	t.Helper()
	// 2048 bits: the smallest size go-jose accepts for RS256.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate key: %v", err)
	}
	p := &Provider{key: key, kid: randomString(8), cfg: cfg, codes: make(map[string]grant)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("GET /jwks", p.serveKeys)
	mux.HandleFunc("GET /authorize", p.serveAuthorize)
	mux.HandleFunc("POST /token", p.serveToken)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// Issuer returns the provider's issuer URL, which is also its address.
func (p *Provider) Issuer() string { return p.srv.URL }

// SetUser changes whom the next authorizations sign in.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.User = u
}

// AllowRedirect adds an accepted redirect URI.
func (p *Provider) AllowRedirect(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.RedirectURIs = append(p.cfg.RedirectURIs, uri)
}

// Deny makes /authorize send the user back with the OAuth error code
// (access_denied, say) instead of a code; "" approves again.
func (p *Provider) Deny(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.denial = code
}

// Tamper passes every ID token's claims through f before they are signed:
// a test changes the nonce, the audience or the expiry to see that the
// client refuses the result. nil stops tampering.
func (p *Provider) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// LastAuthorization returns the query of the last /authorize request, for
// tests that check what the client asked for (scopes, nonce, PKCE).
func (p *Provider) LastAuthorization() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAuth
}

// Exchanges counts the requests the token endpoint has answered, well or
// not: a client that refuses a callback before trading its code leaves it
// unchanged.
func (p *Provider) Exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchange
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := p.Issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
	})
}

func (p *Provider) serveKeys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}

// serveAuthorize approves at once. As RFC 6749 §4.1.2.1 says, a request
// whose client or redirect URI is wrong is answered here and never sent
// back, so that the provider cannot be used to bounce users to any URL;
// other faults go back to the client as an error parameter.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastAuth = q
	redirectURI := q.Get("redirect_uri")
	if q.Get("client_id") != p.cfg.ClientID {
		http.Error(w, "oidctest: unknown client_id", http.StatusBadRequest)
		return
	}
	if len(p.cfg.RedirectURIs) > 0 && !slices.Contains(p.cfg.RedirectURIs, redirectURI) {
		http.Error(w, "oidctest: redirect_uri not registered", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(redirectURI)
	if err != nil || !back.IsAbs() {
		http.Error(w, "oidctest: bad redirect_uri", http.StatusBadRequest)
		return
	}
	answer := url.Values{}
	if s := q.Get("state"); s != "" {
		answer.Set("state", s)
	}
	switch {
	case p.denial != "":
		answer.Set("error", p.denial)
	case q.Get("response_type") != "code":
		answer.Set("error", "unsupported_response_type")
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		answer.Set("error", "invalid_scope")
	// PKCE is required, not merely honored: a client that forgot it
	// should fail its tests.
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		answer.Set("error", "invalid_request")
		answer.Set("error_description", "PKCE with S256 is required")
	default:
		code := randomString(32)
		p.codes[code] = grant{
			user:        p.cfg.User,
			redirectURI: redirectURI,
			nonce:       q.Get("nonce"),
			challenge:   q.Get("code_challenge"),
			expires:     time.Now().Add(codeTTL),
		}
		answer.Set("code", code)
	}
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// serveToken trades a code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exchange++
	if !p.clientAuthenticated(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	code := r.PostForm.Get("code")
	g, ok := p.codes[code]
	// A code is spent by its first use, good or bad (RFC 6749 §4.1.2).
	delete(p.codes, code)
	if !ok || time.Now().After(g.expires) || r.PostForm.Get("redirect_uri") != g.redirectURI {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss":            p.Issuer(),
		"sub":            g.user.Subject,
		"aud":            p.cfg.ClientID,
		"azp":            p.cfg.ClientID,
		"iat":            now.Unix(),
		"exp":            now.Add(5 * time.Minute).Unix(),
		"auth_time":      now.Unix(),
		"email":          g.user.Email,
		"email_verified": g.user.EmailVerified,
		"name":           g.user.Name,
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if p.tamper != nil {
		p.tamper(claims)
	}
	idToken, err := p.sign(claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomString(32),
		"token_type":   "Bearer",
		"expires_in":   300,
		"id_token":     idToken,
	})
}

// clientAuthenticated accepts client_secret_basic and client_secret_post,
// the two that golang.org/x/oauth2 tries.
func (p *Provider) clientAuthenticated(r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return subtle.ConstantTimeCompare([]byte(id), []byte(p.cfg.ClientID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(p.cfg.ClientSecret)) == 1
}

// sign makes a compact RS256 JWS of the claims under the provider's key.
func (p *Provider) sign(claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: p.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
