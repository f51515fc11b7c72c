package accounts

// OpenID Connect sign-in: the authorization code flow with PKCE, a nonce and
// a state, for any provider that publishes discovery (Google, Microsoft,
// GitLab, Keycloak, Authentik, Dex...).
//
// The program's flags (the lead wires them in options.go):
//
//	-oidc-issuer         the provider's issuer URL; empty: OIDC sign-in is off
//	-oidc-client-id      the client ID registered with the provider
//	-oidc-client-secret  its secret; ARENA_OIDC_CLIENT_SECRET is read when the
//	                     flag is empty, so the secret need not sit in a
//	                     process listing
//	-oidc-redirect-url   this server's callback as the provider knows it:
//	                     https://HOST/api/auth/oidc/callback
//
// A page starts the flow by navigating to /api/auth/oidc/start. The player
// comes back to /api/auth/oidc/callback, and from there to "/" signed in.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures OpenID Connect sign-in.
type OIDCConfig struct {
	Issuer       string // -oidc-issuer
	ClientID     string // -oidc-client-id
	ClientSecret string // -oidc-client-secret or ARENA_OIDC_CLIENT_SECRET
	RedirectURL  string // -oidc-redirect-url; its path ends in OIDCCallbackPath
	// Scopes asked for; default openid, email, profile. openid is always
	// added, since without it the provider answers plain OAuth, with no
	// ID token.
	Scopes []string
	// Log receives one line per refused callback, giving the reason and
	// never a code or a token; nil: slog.Default().
	Log *slog.Logger
	// HTTPClient talks to the provider (discovery, keys, token exchange);
	// nil: a client with a 10s timeout, so a hung provider cannot hold a
	// callback forever.
	HTTPClient *http.Client
}

// The paths Routes mounts. The provider must know the callback, so it is
// fixed rather than configured twice.
const (
	OIDCStartPath    = "/api/auth/oidc/start"
	OIDCCallbackPath = "/api/auth/oidc/callback"
)

// OIDCSignIn finds or creates the account of an external identity and opens
// a session on it (Service.SignInExternal). Its answer must encode to JSON
// with the refresh token as "refresh_token", as Session does: that token is
// what the page is handed. email is "" unless the provider says it verified it.
//
// An error it returns is shown to the player only if it has a method
// HTTPStatus() int (a ban, say: its status and message); any other is logged
// and answered 503 with a generic message, since it may hold internals.
type OIDCSignIn func(ctx context.Context, issuer, subject, name, email string) (any, error)

// OIDC serves sign-in through one OpenID Connect provider.
type OIDC struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client
	signIn   OIDCSignIn
	log      *slog.Logger
	secure   bool   // the callback is https: the cookie is Secure
	path     string // the cookie's path: the callback's directory
	pending  *pendingFlows
}

// Limits of the flows started but not finished.
const (
	// pendingTTL is how long a player has at the provider: enough to type a
	// password and a second factor, short enough that an abandoned flow's
	// secrets do not linger.
	pendingTTL = 10 * time.Minute
	// maxPending bounds the memory anyone can make the server hold by
	// calling start in a loop (about 300 bytes each: 3 MB at most). When it
	// is full the oldest flow is forgotten. Refusing new ones instead would
	// let that loop lock every player out; evicting, it harms a player only
	// by starting 10000 flows while that player is at the provider, a rate
	// an address limit in front of start stops.
	maxPending = 10000
	// oidcCookie names the cookie that ties a callback to the browser that
	// started the flow.
	oidcCookie = "arena_oidc"
)

// NewOIDC discovers the provider (a network round trip, bounded by ctx) and
// returns the handlers of sign-in through it.
func NewOIDC(ctx context.Context, cfg OIDCConfig, signIn OIDCSignIn) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("oidc: issuer, client ID and redirect URL are all required")
	}
	if signIn == nil {
		return nil, errors.New("oidc: no sign-in function")
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil || !redirect.IsAbs() || (redirect.Scheme != "https" && redirect.Scheme != "http") {
		return nil, fmt.Errorf("oidc: redirect URL %q is not an absolute http(s) URL", cfg.RedirectURL)
	}
	// A redirect URL elsewhere would send players to a page nothing serves;
	// a prefix before it is allowed, for a proxy that strips one.
	if !strings.HasSuffix(redirect.Path, OIDCCallbackPath) {
		return nil, fmt.Errorf("oidc: redirect URL %q must end in %s", cfg.RedirectURL, OIDCCallbackPath)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	// The client rides in the context: go-oidc keeps it for fetching keys
	// later, and oauth2 reads it at each exchange.
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover %s: %w", cfg.Issuer, err)
	}
	scopes := cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = authStyle(provider)
	return &OIDC{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Endpoint:     endpoint,
			Scopes:       scopes,
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		client:   client,
		signIn:   signIn,
		log:      log,
		secure:   redirect.Scheme == "https",
		path:     strings.TrimSuffix(redirect.Path, "/callback"),
		pending:  newPendingFlows(maxPending, pendingTTL),
	}, nil
}

// authStyle picks how the client authenticates at the token endpoint from
// what discovery says the provider supports. Left to guess, oauth2 tries
// Basic and, on any error, sends the secret again in the form: a refused
// code would then be tried twice.
func authStyle(p *oidc.Provider) oauth2.AuthStyle {
	var d struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	_ = p.Claims(&d)
	// OpenID Connect Discovery §3: client_secret_basic when none is listed.
	if len(d.Methods) == 0 || slices.Contains(d.Methods, "client_secret_basic") {
		return oauth2.AuthStyleInHeader
	}
	if slices.Contains(d.Methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleAutoDetect
}

// Routes mounts GET OIDCStartPath and GET OIDCCallbackPath on mux. They
// are more specific than a "/api/auth/" prefix, so they win over one.
func (o *OIDC) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+OIDCStartPath, o.start)
	mux.HandleFunc("GET "+OIDCCallbackPath, o.callback)
}

// flow is what a started sign-in must find again at its callback.
type flow struct {
	state, nonce, verifier string
}

// start sends the browser to the provider. The state, nonce and PKCE
// verifier stay on the server, found again by a random ID in a cookie, so
// that nothing secret travels in a URL but the state the protocol needs.
func (o *OIDC) start(w http.ResponseWriter, r *http.Request) {
	f := flow{state: randomToken(), nonce: randomToken(), verifier: oauth2.GenerateVerifier()}
	id := randomToken()
	o.pending.add(id, f, time.Now())
	http.SetCookie(w, &http.Cookie{
		Name:     oidcCookie,
		Value:    id,
		Path:     o.path,
		MaxAge:   int(pendingTTL / time.Second),
		HttpOnly: true,
		Secure:   o.secure,
		// Lax, not Strict: the provider's redirect back is a cross-site
		// top-level navigation, which Strict would send without it.
		SameSite: http.SameSiteLaxMode,
	})
	noStore(w.Header())
	target := o.oauth.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	http.Redirect(w, r, target, http.StatusFound)
}

// callback finishes the flow. Each refusal is a 400 page that tells the
// player what to do; the pending flow is spent by the first callback that
// names it, whatever its outcome, so a replay finds nothing.
func (o *OIDC) callback(w http.ResponseWriter, r *http.Request) {
	noStore(w.Header())
	var f flow
	found := false
	if c, err := r.Cookie(oidcCookie); err == nil {
		f, found = o.pending.take(c.Value, time.Now())
	}
	// The cookie has done its job either way.
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: o.path, MaxAge: -1,
		HttpOnly: true, Secure: o.secure, SameSite: http.SameSiteLaxMode})

	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		// The provider's words are its own: only the registered code is
		// logged, and the page shows a known text for it.
		o.refuse(w, r, "provider error "+errorCodeForLog(code), providerErrorMessage(code))
		return
	}
	if !found {
		o.refuse(w, r, "no pending sign-in for this browser",
			"This sign-in has expired or was started in another browser. Please start again.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		o.refuse(w, r, "state mismatch", "This sign-in does not match the one this browser started. Please start again.")
		return
	}
	code := q.Get("code")
	if code == "" {
		o.refuse(w, r, "no code", "The provider did not complete the sign-in. Please start again.")
		return
	}
	ctx := oidc.ClientContext(r.Context(), o.client)
	tok, err := o.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		// A RetrieveError's text holds the provider's whole answer; its
		// error code says enough.
		why := "token exchange failed"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			why += ": " + errorCodeForLog(re.ErrorCode)
		} else if errors.Is(err, context.DeadlineExceeded) {
			why += ": timeout"
		}
		o.refuse(w, r, why, "The provider did not confirm the sign-in. Please start again.")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		o.refuse(w, r, "no id_token in the token response", "The provider did not say who you are. Please start again.")
		return
	}
	idToken, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		// go-oidc's messages name the failed check (audience, expiry,
		// signature) and hold no token.
		o.refuse(w, r, "id_token refused: "+err.Error(), "The provider's answer could not be verified. Please start again.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(f.nonce)) != 1 {
		o.refuse(w, r, "id_token nonce mismatch", "The provider's answer could not be verified. Please start again.")
		return
	}
	var claims struct {
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
		Email             string `json:"email"`
		EmailVerified     any    `json:"email_verified"`
	}
	if err := idToken.Claims(&claims); err != nil {
		o.refuse(w, r, "id_token claims: "+err.Error(), "The provider's answer could not be read. Please start again.")
		return
	}
	name := claims.Name
	if name == "" {
		name = claims.PreferredUsername
	}
	// An email the provider has not verified is anyone's claim; passed
	// on, it could be matched to the account that owns that address.
	email := ""
	if verified(claims.EmailVerified) {
		email = claims.Email
	}
	session, err := o.signIn(r.Context(), idToken.Issuer, idToken.Subject, name, email)
	if err != nil {
		var shown interface{ HTTPStatus() int }
		if errors.As(err, &shown) {
			o.log.Info("oidc sign-in refused", "reason", err.Error())
			o.page(w, shown.HTTPStatus(), "Sign-in refused", err.Error(), "")
			return
		}
		o.log.Warn("oidc sign-in failed", "err", err)
		w.Header().Set("Retry-After", "5")
		o.page(w, http.StatusServiceUnavailable, "Sign-in unavailable",
			"Accounts are unavailable right now; play goes on. Please try again shortly.", "")
		return
	}
	refresh, err := refreshToken(session)
	if err != nil {
		o.log.Error("oidc: the session has no refresh token", "err", err)
		o.page(w, http.StatusInternalServerError, "Sign-in failed", "Please try again.", "")
		return
	}
	o.page(w, http.StatusOK, "Signed in", "Signed in; returning to the game…", refresh)
}

// refreshToken reads the refresh token out of what signIn answered. Only it
// goes into the page: the game page trades it for an access token when it
// loads, and a token not written into the page cannot leak from it.
func refreshToken(session any) (string, error) {
	b, err := json.Marshal(session)
	if err != nil {
		return "", err
	}
	var s struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return "", err
	}
	if s.RefreshToken == "" {
		return "", errors.New(`no "refresh_token"`)
	}
	return s.RefreshToken, nil
}

// verified reads email_verified, which some providers (AWS Cognito, older
// Azure) send as the string "true".
func verified(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

func (o *OIDC) refuse(w http.ResponseWriter, r *http.Request, why, message string) {
	o.log.Info("oidc callback refused", "reason", why, "addr", r.RemoteAddr)
	o.page(w, http.StatusBadRequest, "Sign-in failed", message, "")
}

// providerErrorMessage says what an OAuth error code (RFC 6749 §4.1.2.1)
// means to a player.
func providerErrorMessage(code string) string {
	switch code {
	case "access_denied":
		return "The sign-in was cancelled or denied at the provider."
	case "temporarily_unavailable", "server_error":
		return "The provider is unavailable right now. Please try again shortly."
	}
	return "The provider refused the sign-in. Please start again."
}

// errorCodeForLog keeps a provider's error code printable and short: it is
// the provider's text, or an attacker's in a forged callback.
func errorCodeForLog(code string) string {
	if len(code) > 40 {
		code = code[:40]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, code)
}

// sessionKey is where the game page keeps its refresh token (web/client's
// auth): the answer page leaves the token there, and the game page,
// loading, trades it for an access token.
const sessionKey = "arena.refresh"

// answerPage is the callback's answer. It hands the refresh token to the
// game page through localStorage, never a URL (which would reach history,
// logs and Referer), then replaces itself with the game page, so that the
// callback's URL, and its spent code, leave the history too. Its one script
// runs under a per-answer nonce: the policy allows nothing else, and
// html/template escapes the token for the script context it sits in.
var answerPage = template.Must(template.New("oidc").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .Refresh}}<p><a href="/">Continue to the game</a></p>
<script nonce="{{.Nonce}}">
localStorage.setItem({{.Key}}, {{.Refresh}});
location.replace("/");
</script>{{else}}<p><a href="/">Back to the game</a></p>{{end}}
</body></html>
`))

// page answers with the sign-in page; refresh, when set, is the refresh
// token to hand over.
func (o *OIDC) page(w http.ResponseWriter, status int, title, message, refresh string) {
	nonce := randomToken()
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// The callback's URL holds the code: no Referer may carry it on.
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	data := struct{ Title, Message, Nonce, Key, Refresh string }{title, message, nonce, sessionKey, refresh}
	if err := answerPage.Execute(w, data); err != nil {
		o.log.Debug("oidc: write page", "err", err)
	}
}

func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pendingFlows holds the flows started and not yet finished, at most max
// of them, each for ttl. All entries share one TTL, so the order they were
// added in is the order they expire in: a queue finds the stale ones
// without scanning the map.
type pendingFlows struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	flows map[string]pendingFlow
	order []string // IDs oldest first; some already taken
}

type pendingFlow struct {
	flow
	added time.Time
}

func newPendingFlows(max int, ttl time.Duration) *pendingFlows {
	return &pendingFlows{max: max, ttl: ttl, flows: make(map[string]pendingFlow)}
}

func (p *pendingFlows) add(id string, f flow, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Drop what has lapsed, then the oldest until there is room.
	for len(p.order) > 0 {
		old := p.order[0]
		e, live := p.flows[old]
		if live && now.Sub(e.added) < p.ttl && len(p.flows) < p.max {
			break
		}
		delete(p.flows, old)
		p.order = p.order[1:]
	}
	// Taken flows leave their IDs in the queue; compact it when they
	// outnumber the live ones, so that it stays within twice the map.
	if len(p.order) > 2*len(p.flows)+16 {
		live := make([]string, 0, len(p.flows)+1)
		for _, k := range p.order {
			if _, ok := p.flows[k]; ok {
				live = append(live, k)
			}
		}
		p.order = live
	}
	p.flows[id] = pendingFlow{flow: f, added: now}
	p.order = append(p.order, id)
}

// take removes and returns the flow of id, if it is there and live.
func (p *pendingFlows) take(id string, now time.Time) (flow, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.flows[id]
	if !ok {
		return flow{}, false
	}
	delete(p.flows, id)
	if now.Sub(e.added) >= p.ttl {
		return flow{}, false
	}
	return e.flow, true
}

// len returns how many flows are held, for tests.
func (p *pendingFlows) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.flows)
}
