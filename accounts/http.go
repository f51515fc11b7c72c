package accounts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/arena-server/arena/internal/addrlimit"
	"github.com/arena-server/arena/internal/password"
	"github.com/arena-server/arena/internal/strictjson"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/store"
)

// Bounds of what a client sends.
const (
	maxBody     = 4 << 10 // every request body: a few short strings, or a studio's token
	minPassword = 8
	maxPassword = 256 // bytes; argon2 takes any length, but a client's text is bounded
	maxEmail    = 254 // RFC 5321's longest path
	// hashWait bounds the wait for a hashing slot. It is well under the
	// server's HTTP write timeout (10 s by default): a sign-in that waited
	// and then hashed must still be answered, not cut off after its
	// account was saved, which its retry would then find "taken".
	hashWait       = 4 * time.Second
	unavailableMsg = "accounts are unavailable right now; play goes on; try again shortly"
)

// apiError is an answer other than success: the server's {"code","message"}.
type apiError struct {
	status     int
	code, msg  string
	retryAfter int // seconds; 0: none
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "bad_request", msg: fmt.Sprintf(format, args...)}
}

var (
	errBadCredentials = &apiError{status: http.StatusUnauthorized, code: "bad_credentials", msg: "wrong email or password"}
	errWrongPassword  = &apiError{status: http.StatusUnauthorized, code: "bad_credentials", msg: "wrong password"}
	errNoBearer       = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "sign in first: send Authorization: Bearer ACCESS_TOKEN"}
	errBusy           = &apiError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "too many sign-ins at once; try again shortly", retryAfter: 2}
)

// Handler returns the HTTP API: /api/auth/* and /api/me*. The program
// mounts it at "/api/auth/", "/api/me" and "/api/me/".
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/auth/guest", s.api(s.handleGuest))
	mux.HandleFunc("POST /api/auth/register", s.api(s.handleRegister))
	mux.HandleFunc("POST /api/auth/login", s.api(s.handleLogin))
	mux.HandleFunc("POST /api/auth/refresh", s.api(s.handleRefresh))
	mux.HandleFunc("POST /api/auth/logout", s.api(s.handleLogout))
	mux.HandleFunc("POST /api/auth/link", s.api(s.handleLink))
	mux.HandleFunc("POST /api/auth/external", s.api(s.handleExternal))
	mux.HandleFunc("GET /api/me", s.api(s.handleMe))
	mux.HandleFunc("PATCH /api/me", s.api(s.handleRename))
	mux.HandleFunc("DELETE /api/me", s.api(s.handleDelete))
	mux.HandleFunc("POST /api/me/password", s.api(s.handlePassword))
	mux.HandleFunc("GET /api/me/export", s.api(s.handleExport))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers hold tokens and personal data: no cache keeps them, the
		// mux's own 404 and 405 included.
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

// api adapts a handler that returns its failure, and answers it.
func (s *Service) api(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers err. Only errors meant for the client say what they
// are; the rest are logged (never with a request's body) and answered 500.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	var ban *BanError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &ban):
		e = &apiError{status: http.StatusForbidden, code: "banned", msg: ban.Error()}
	case errors.Is(err, ErrUnavailable):
		s.log.Warn("accounts: store unavailable", "path", r.URL.Path, "err", err)
		e = &apiError{status: http.StatusServiceUnavailable, code: "unavailable", msg: unavailableMsg, retryAfter: 5}
	case errors.Is(err, ErrExpiredToken):
		e = &apiError{status: http.StatusUnauthorized, code: "token_expired", msg: "the access token has expired; refresh it"}
	case errors.Is(err, ErrRevoked):
		e = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "this session has ended; sign in again"}
	case errors.Is(err, ErrInvalidToken):
		e = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "the token is not valid"}
	case errors.Is(err, ErrRefreshReused):
		e = &apiError{status: http.StatusUnauthorized, code: "refresh_reused",
			msg: "this refresh token was already used, so a copy of it may be in other hands: every session of its sign-in has ended; sign in again"}
	case errors.Is(err, ErrRefreshInvalid):
		e = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "the refresh token is unknown or expired; sign in again"}
	case errors.Is(err, store.ErrNameTaken):
		e = &apiError{status: http.StatusConflict, code: "name_taken", msg: "that name is taken"}
	case errors.Is(err, store.ErrEmailTaken):
		e = &apiError{status: http.StatusConflict, code: "email_taken", msg: "an account with that email exists; sign in instead"}
	case errors.Is(err, store.ErrNotFound):
		// The token's account is gone (deleted).
		e = &apiError{status: http.StatusUnauthorized, code: "unauthorized", msg: "this account no longer exists"}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e = errBusy
	default:
		s.log.Error("accounts: request failed", "path", r.URL.Path, "err", err)
		e = &apiError{status: http.StatusInternalServerError, code: "internal", msg: "something went wrong; try again"}
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, map[string]string{"code": e.code, "message": e.msg})
}

// decode reads a JSON object of at most maxBody bytes into v, strictly:
// no unknown field, no key twice (in any case), nothing after it. An
// empty body is an empty object if emptyOK.
func decode(w http.ResponseWriter, r *http.Request, v any, emptyOK bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("the body is over %d bytes", maxBody)}
	} else if err != nil {
		return badRequest("cannot read the body")
	}
	return decodeBody(body, v, emptyOK)
}

func decodeBody(body []byte, v any, emptyOK bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if emptyOK {
			return nil
		}
		return badRequest("the body must be a JSON object")
	}
	if err := strictjson.CheckKeys(body); err != nil {
		return badRequest("the body is not valid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the body is not the JSON object expected: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}

// throttle spends one of key's tokens, or answers 429.
func throttle(l *addrlimit.Limiter, key string) error {
	if l.Allow(key) {
		return nil
	}
	return throttled(l, key)
}

func throttled(l *addrlimit.Limiter, key string) error {
	n := retryAfter(l, key)
	return &apiError{status: http.StatusTooManyRequests, code: "throttled",
		msg: fmt.Sprintf("too many attempts; try again in %d seconds", n), retryAfter: n}
}

// checkEmail returns an email as kept: trimmed, with one @ and something
// either side, at most maxEmail bytes, and nothing unprintable.
func checkEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(email) > maxEmail ||
		!utf8.ValidString(email) || strings.ContainsFunc(email, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", badRequest("an email is one @ with something either side, at most %d bytes, no spaces", maxEmail)
	}
	return email, nil
}

func checkPassword(pw, what string) error {
	if len(pw) < minPassword || len(pw) > maxPassword {
		return badRequest("%s is %d to %d bytes", what, minPassword, maxPassword)
	}
	return nil
}

func checkName(name string) (string, error) {
	n, err := protocol.Nickname(name)
	if err != nil {
		return "", badRequest("%v", err)
	}
	return n, nil
}

// hashPassword hashes on the password package's bounded pool, waiting
// at most hashWait for a slot: a storm of sign-ins queues there instead
// of taking the cores the rooms tick on.
func hashPassword(ctx context.Context, pw string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	h, err := password.Hash(ctx, pw)
	if err != nil {
		return "", errBusy
	}
	return h, nil
}

func verifyPassword(ctx context.Context, hash, pw string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, hashWait)
	defer cancel()
	ok, err := password.Verify(ctx, hash, pw)
	if errors.Is(err, password.ErrMalformed) {
		return false, nil
	} else if err != nil {
		return false, errBusy
	}
	return ok, nil
}

// dummyHash is checked when a login names no account with a password, so
// that the answer takes as long as a wrong password's.
var dummyHash = sync.OnceValue(func() string {
	h, err := password.Hash(context.Background(), NewID())
	if err != nil {
		panic(err) // only a cancelled context fails, and this one is not
	}
	return h
})

// bearer authenticates a request's Authorization: Bearer token.
func (s *Service) bearer(r *http.Request) (Identity, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Identity{}, errNoBearer
	}
	return s.Authenticate(r.Context(), strings.TrimSpace(token))
}

func (s *Service) handleGuest(w http.ResponseWriter, r *http.Request) error {
	if err := throttle(s.lim.guest, s.cfg.ClientAddr(r)); err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	name, err := checkName(req.Name)
	if err != nil {
		return err
	}
	var a store.Account
	if name != "" {
		a = store.Account{ID: NewID(), Name: name, CreatedAt: s.now()}
		err = s.db.CreateAccount(r.Context(), a)
	} else {
		a, err = s.createAccount(r.Context(), "", "guest-", "", "")
	}
	if err != nil {
		return storeErr(err)
	}
	sess, err := s.startSession(r.Context(), a)
	if err != nil {
		return err
	}
	s.log.Info("accounts: account created", "account", a.ID, "kind", "guest")
	writeJSON(w, http.StatusCreated, sess)
	return nil
}

func (s *Service) handleRegister(w http.ResponseWriter, r *http.Request) error {
	if err := throttle(s.lim.register, s.cfg.ClientAddr(r)); err != nil {
		return err
	}
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	email, err := checkEmail(req.Email)
	if err != nil {
		return err
	}
	if err := checkPassword(req.Password, "a password"); err != nil {
		return err
	}
	name, err := checkName(req.Name)
	if err != nil {
		return err
	}
	hash, err := hashPassword(r.Context(), req.Password)
	if err != nil {
		return err
	}
	var a store.Account
	if name != "" {
		a = store.Account{ID: NewID(), Name: name, Email: email, PasswordHash: hash, CreatedAt: s.now()}
		err = s.db.CreateAccount(r.Context(), a)
	} else {
		a, err = s.createAccount(r.Context(), "", "player-", email, hash)
	}
	if err != nil {
		return storeErr(err)
	}
	sess, err := s.startSession(r.Context(), a)
	if err != nil {
		return err
	}
	s.log.Info("accounts: account created", "account", a.ID, "kind", "email")
	writeJSON(w, http.StatusCreated, sess)
	return nil
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if err := throttle(s.lim.login, s.cfg.ClientAddr(r)); err != nil {
		return err
	}
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Email == "" || req.Password == "" {
		return badRequest("an email and a password are required")
	}
	if len(req.Email) > maxEmail || len(req.Password) > maxPassword {
		return badRequest("an email is at most %d bytes, a password %d", maxEmail, maxPassword)
	}
	key := "email:" + strings.ToLower(strings.TrimSpace(req.Email))
	if s.lim.account.Wait(key) > 0 {
		return throttled(s.lim.account, key)
	}
	a, err := s.db.AccountByEmail(r.Context(), strings.TrimSpace(req.Email))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return storeErr(err)
	}
	// No account, or one with no password: check the dummy hash, so that
	// neither the answer nor its time says whether the email exists.
	hash := a.PasswordHash
	if hash == "" {
		hash = dummyHash()
	}
	ok, err := verifyPassword(r.Context(), hash, req.Password)
	if err != nil {
		return err
	}
	if !ok || a.PasswordHash == "" {
		s.lim.account.Allow(key)
		return errBadCredentials
	}
	if err := banOf(a, s.now()); err != nil {
		return err
	}
	sess, err := s.startSession(r.Context(), a)
	if err != nil {
		return err
	}
	s.log.Info("accounts: signed in", "account", a.ID)
	writeJSON(w, http.StatusOK, sess)
	return nil
}

func (s *Service) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	if err := throttle(s.lim.refresh, s.cfg.ClientAddr(r)); err != nil {
		return err
	}
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return badRequest("refresh_token is required")
	}
	sess, err := s.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := throttle(s.lim.refresh, s.cfg.ClientAddr(r)); err != nil {
		return err
	}
	var req struct {
		RefreshToken string `json:"refresh_token"`
		Everywhere   bool   `json:"everywhere"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	switch {
	case req.Everywhere:
		id, err := s.bearer(r)
		if err != nil {
			return err
		}
		if err := s.SignOutEverywhere(r.Context(), id.Account); err != nil {
			return err
		}
	case req.RefreshToken != "":
		if len(req.RefreshToken) <= 128 {
			if err := s.db.RevokeFamily(r.Context(), hashRefresh(req.RefreshToken)); err != nil {
				return storeErr(err)
			}
		}
	default:
		return badRequest("give the refresh_token of the session to end, or everywhere: true with the access token")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SignOutEverywhere ends every session of an account: its refresh tokens
// go, its access tokens are refused from now on, here at once and on other
// nodes within a poll, and its live connections close (OnRevoke).
func (s *Service) SignOutEverywhere(ctx context.Context, accountID string) error {
	now := s.now()
	if err := s.db.RevokeSessions(ctx, accountID, now); err != nil {
		return storeErr(err)
	}
	s.revokeLocal(accountID, RevokedSignedOut, now)
	return nil
}

func (s *Service) handleLink(w http.ResponseWriter, r *http.Request) error {
	id, err := s.bearer(r)
	if err != nil {
		return err
	}
	if err := throttle(s.lim.register, s.cfg.ClientAddr(r)); err != nil {
		return err
	}
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	email, err := checkEmail(req.Email)
	if err != nil {
		return err
	}
	if err := checkPassword(req.Password, "a password"); err != nil {
		return err
	}
	a, err := s.db.AccountByID(r.Context(), id.Account)
	if err != nil {
		return storeErr(err)
	}
	if a.Email != "" || a.PasswordHash != "" {
		return &apiError{status: http.StatusConflict, code: "already_linked", msg: "this account already has an email and password"}
	}
	hash, err := hashPassword(r.Context(), req.Password)
	if err != nil {
		return err
	}
	if err := s.db.SetCredentials(r.Context(), a.ID, email, hash); err != nil {
		return storeErr(err)
	}
	a.Email, a.PasswordHash = email, hash
	sess, err := s.startSession(r.Context(), a)
	if err != nil {
		return err
	}
	s.log.Info("accounts: guest linked to an email", "account", a.ID)
	writeJSON(w, http.StatusOK, sess)
	return nil
}

func (s *Service) handleExternal(w http.ResponseWriter, r *http.Request) error {
	if err := throttle(s.lim.external, s.cfg.ClientAddr(r)); err != nil {
		return err
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if s.ext == nil {
		return &apiError{status: http.StatusNotFound, code: "not_configured", msg: "this server takes no external tokens"}
	}
	if req.Token == "" {
		return badRequest("token is required")
	}
	c, err := s.ext.verify(r.Context(), req.Token)
	if err != nil {
		return err
	}
	a, err := s.externalAccount(r.Context(), s.ext.cfg.Issuer, c.Subject, c.displayName(), "")
	if err != nil {
		return err
	}
	if err := banOf(a, s.now()); err != nil {
		return err
	}
	s.ext.remember(c.Subject, Identity{Account: a.ID, Name: a.Name})
	sess, err := s.startSession(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

// account is the bearer's account, read from the store.
func (s *Service) account(r *http.Request) (store.Account, error) {
	id, err := s.bearer(r)
	if err != nil {
		return store.Account{}, err
	}
	a, err := s.db.AccountByID(r.Context(), id.Account)
	return a, storeErr(err)
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) error {
	a, err := s.account(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view(a))
	return nil
}

func (s *Service) handleRename(w http.ResponseWriter, r *http.Request) error {
	id, err := s.bearer(r)
	if err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	name, err := checkName(req.Name)
	if err != nil {
		return err
	}
	if name == "" {
		return badRequest("a name is required")
	}
	if err := s.db.SetName(r.Context(), id.Account, name); err != nil {
		return storeErr(err)
	}
	// The name in access tokens already issued stays until they are
	// refreshed; a studio's tokens carry none, so forget the one kept.
	if s.ext != nil {
		s.ext.forget(id.Account)
	}
	a, err := s.db.AccountByID(r.Context(), id.Account)
	if err != nil {
		return storeErr(err)
	}
	writeJSON(w, http.StatusOK, view(a))
	return nil
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := s.bearer(r)
	if err != nil {
		return err
	}
	now := s.now()
	if err := s.db.DeleteAccount(r.Context(), id.Account); err != nil {
		return storeErr(err)
	}
	s.revokeLocal(id.Account, RevokedDeleted, now)
	if s.ext != nil {
		s.ext.forget(id.Account)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handlePassword changes the password and ends every other session: a
// thief who had it, or a session on a lost device, is out. The caller
// gets a new session, since its own tokens were among those ended.
func (s *Service) handlePassword(w http.ResponseWriter, r *http.Request) error {
	id, err := s.bearer(r)
	if err != nil {
		return err
	}
	var req struct {
		Password    string `json:"password"`
		NewPassword string `json:"new_password"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if err := checkPassword(req.NewPassword, "new_password"); err != nil {
		return err
	}
	if len(req.Password) > maxPassword {
		return errWrongPassword
	}
	// A stolen access token must not make a fast oracle for the password.
	key := "account:" + id.Account
	if s.lim.account.Wait(key) > 0 {
		return throttled(s.lim.account, key)
	}
	a, err := s.db.AccountByID(r.Context(), id.Account)
	if err != nil {
		return storeErr(err)
	}
	if a.PasswordHash == "" {
		return &apiError{status: http.StatusConflict, code: "no_password", msg: "this account has no password yet: link an email and password instead"}
	}
	ok, err := verifyPassword(r.Context(), a.PasswordHash, req.Password)
	if err != nil {
		return err
	}
	if !ok {
		s.lim.account.Allow(key)
		return errWrongPassword
	}
	hash, err := hashPassword(r.Context(), req.NewPassword)
	if err != nil {
		return err
	}
	if err := s.db.SetPassword(r.Context(), a.ID, hash); err != nil {
		return storeErr(err)
	}
	if err := s.SignOutEverywhere(r.Context(), a.ID); err != nil {
		return err
	}
	sess, err := s.startSession(r.Context(), a)
	if err != nil {
		return err
	}
	s.log.Info("accounts: password changed", "account", a.ID)
	writeJSON(w, http.StatusOK, sess)
	return nil
}

// export is all an account holds, for its owner: never a hash or a token.
type export struct {
	Account     AccountView       `json:"account"`
	BannedUntil *time.Time        `json:"banned_until,omitempty"`
	BanReason   string            `json:"ban_reason,omitempty"`
	SignedOutAt *time.Time        `json:"signed_out_everywhere_at,omitempty"`
	HasPassword bool              `json:"has_password"`
	External    []exportExternal  `json:"external_identities"`
	Audit       []exportAuditLine `json:"audit"`
	// Progress is what else the program keeps of the account
	// (Config.Export): its storage, ratings, scores and matches.
	Progress      any       `json:"progress,omitempty"`
	ExportedAt    time.Time `json:"exported_at"`
	FormatVersion int       `json:"format_version"`
}

type exportExternal struct {
	Issuer    string    `json:"issuer"`
	Subject   string    `json:"subject"`
	CreatedAt time.Time `json:"created_at"`
}

type exportAuditLine struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Detail string    `json:"detail,omitempty"`
}

func (s *Service) handleExport(w http.ResponseWriter, r *http.Request) error {
	a, err := s.account(r)
	if err != nil {
		return err
	}
	links, err := s.db.ExternalLinks(r.Context(), a.ID)
	if err != nil {
		return storeErr(err)
	}
	audit, err := s.db.AuditLog(r.Context(), a.ID, 1000)
	if err != nil {
		return storeErr(err)
	}
	out := export{
		Account:       view(a),
		BanReason:     a.BanReason,
		HasPassword:   a.PasswordHash != "",
		External:      []exportExternal{},
		Audit:         []exportAuditLine{},
		ExportedAt:    s.now(),
		FormatVersion: 1,
	}
	if !a.BannedUntil.IsZero() {
		out.BannedUntil = &a.BannedUntil
	}
	if !a.RevokedBefore.IsZero() {
		out.SignedOutAt = &a.RevokedBefore
	}
	for _, l := range links {
		out.External = append(out.External, exportExternal{l.Issuer, l.Subject, l.CreatedAt})
	}
	for _, e := range audit {
		out.Audit = append(out.Audit, exportAuditLine{e.At, e.Action, e.Detail})
	}
	if s.cfg.Export != nil {
		if out.Progress, err = s.cfg.Export(r.Context(), a.ID); err != nil {
			return storeErr(err)
		}
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="arena-account-%s.json"`, a.ID))
	writeJSON(w, http.StatusOK, out)
	return nil
}
