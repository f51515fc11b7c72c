package accounts

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/arena-server/arena/store"
)

// The admin's tools: find accounts, ban, unban, end sessions, and read
// the audit log. The program serves AdminHandler behind its admin token
// (server.Config.AdminAPI); the Service trusts whoever reaches it.
//
// Every action is written to the store's audit log, after it is done: an
// entry then never records what did not happen. If the entry cannot be
// written, the admin is told so, and the entry goes to the program's log
// instead.

// Forever is the end of a permanent ban. The store keeps a ban as its
// end, and no end (NULL) means not banned, so a ban with no expiry is one
// that ends in the year 9999: no token, session or player outlives it.
var Forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Admin actions, as the audit log names them.
const (
	AuditBan    = "ban"
	AuditUnban  = "unban"
	AuditRevoke = "revoke_sessions"
)

// Bounds of the admin's input.
const (
	maxReason      = 200 // characters: a line an admin writes and a player reads
	maxQuery       = maxEmail
	defaultFind    = 50
	maxFind        = 500
	defaultAudit   = 100
	maxAudit       = 1000
	maxAccountID   = 64
	auditWriteWait = 5 * time.Second
)

// errAdminNotFound is an account ID that names no account. (The player
// API's answer to ErrNotFound, 401, is about the bearer's own account.)
var errAdminNotFound = &apiError{status: http.StatusNotFound, code: "not_found", msg: "no account has that ID"}

// AdminFind returns the accounts whose ID is query, or whose name or email
// holds it, case-insensitively, newest first: at most limit (1 to 500;
// out of range, the default 50). An empty query lists the newest.
func (s *Service) AdminFind(ctx context.Context, query string, limit int) ([]store.Account, error) {
	if limit < 1 || limit > maxFind {
		limit = defaultFind
	}
	as, err := s.db.FindAccounts(ctx, strings.TrimSpace(query), limit)
	return as, storeErr(err)
}

// AdminBan bans an account until a time (zero: Forever), for a reason,
// and writes it to the audit log as actor's. The ban holds on this node
// at once: the account's tokens are refused, and its live connections
// close (OnRevoke). Other nodes learn of it by their next poll of the
// store's sanctions, within 2 seconds. Its sessions stay: if the ban is
// lifted, they are good again.
func (s *Service) AdminBan(ctx context.Context, actor, accountID string, until time.Time, reason string) error {
	if until.IsZero() {
		until = Forever
	}
	until = until.UTC().Truncate(time.Microsecond)
	if err := s.db.Ban(ctx, accountID, until, reason); err != nil {
		return storeErr(err)
	}
	s.rev.ban(accountID, until, reason, s.now())
	// Called whatever ban held before: a ban that is only changed has no
	// live connections left to close, and one that is new must close them.
	s.onRevoke(accountID, RevokedBanned)
	s.publish(accountID, RevokedBanned, s.now())
	return s.audit(ctx, actor, AuditBan, accountID, banDetail{Until: until, Permanent: until.Equal(Forever), Reason: reason})
}

// AdminUnban lifts an account's ban, here at once and on other nodes as
// soon as they hear of it (Config.Publish) or poll, and writes it to the audit log with a note (may be
// empty). Lifting no ban is no error, and is logged too.
func (s *Service) AdminUnban(ctx context.Context, actor, accountID, note string) error {
	if err := s.db.Unban(ctx, accountID); err != nil {
		return storeErr(err)
	}
	// A zero end is no ban: the node's record of it goes at once, rather
	// than at the next poll.
	s.rev.ban(accountID, time.Time{}, "", s.now())
	// Other nodes hear of it too: their recheck polls the store, which
	// has the ban no more.
	s.publish(accountID, 0, time.Time{})
	return s.audit(ctx, actor, AuditUnban, accountID, noteDetail{Reason: note})
}

// AdminRevoke ends every session of an account (SignOutEverywhere: its
// refresh tokens go, its access tokens are refused, its live connections
// close) and writes it to the audit log with a note.
func (s *Service) AdminRevoke(ctx context.Context, actor, accountID, note string) error {
	if err := s.SignOutEverywhere(ctx, accountID); err != nil {
		return err
	}
	return s.audit(ctx, actor, AuditRevoke, accountID, noteDetail{Reason: note})
}

// AdminAudit returns the audit log of an account, or of all if accountID
// is "", newest first: at most limit (1 to 1000; out of range, 100).
func (s *Service) AdminAudit(ctx context.Context, accountID string, limit int) ([]store.AuditEntry, error) {
	if limit < 1 || limit > maxAudit {
		limit = defaultAudit
	}
	es, err := s.db.AuditLog(ctx, accountID, limit)
	return es, storeErr(err)
}

// banDetail and noteDetail are an audit entry's Detail, as JSON: a reason
// is free text, and JSON keeps it from passing for another field.
type banDetail struct {
	Until     time.Time `json:"until"`
	Permanent bool      `json:"permanent,omitempty"`
	Reason    string    `json:"reason"`
}

type noteDetail struct {
	Reason string `json:"reason,omitempty"`
}

// errAuditFailed: the action was done, but its entry was not written.
var errAuditFailed = &apiError{status: http.StatusInternalServerError, code: "audit_failed",
	msg: "the action was done, but the audit log could not be written; it is in the server's log"}

// audit writes an action's entry. The action is done by now, so neither
// the admin's request ending nor a slow store may drop it silently: it is
// written apart from the request's context, and if it cannot be, the
// program's log gets it (the detail holds no email or token).
func (s *Service) audit(ctx context.Context, actor, action, accountID string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	e := store.AuditEntry{At: s.now(), Actor: actor, Action: action, AccountID: accountID, Detail: string(b)}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteWait)
	defer cancel()
	if err := s.db.Audit(ctx, e); err != nil {
		s.log.Error("accounts: admin action not written to the audit log", "actor", actor, "action", action,
			"account", accountID, "detail", e.Detail, "err", err)
		return errAuditFailed
	}
	s.log.Info("accounts: admin action", "actor", actor, "action", action, "account", accountID)
	return nil
}

// AdminAccount is an account as the admin sees it: its email too, never
// a hash.
type AdminAccount struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Guest     bool      `json:"guest"`
	CreatedAt time.Time `json:"created_at"`
	// Banned says whether a ban holds now. BannedUntil is the end of the
	// last ban set (null if none), which may have passed; a permanent
	// ban ends at Forever, and says so in BanPermanent.
	Banned       bool       `json:"banned"`
	BannedUntil  *time.Time `json:"banned_until"`
	BanPermanent bool       `json:"ban_permanent"`
	BanReason    string     `json:"ban_reason"`
	// SessionsRevokedAt is the last sign-out everywhere, null if none.
	SessionsRevokedAt *time.Time `json:"sessions_revoked_at"`
}

func adminView(a store.Account, now time.Time) AdminAccount {
	v := AdminAccount{
		ID: a.ID, Name: a.Name, Email: a.Email, CreatedAt: a.CreatedAt,
		Guest:     a.Email == "" && a.PasswordHash == "",
		Banned:    a.BannedUntil.After(now),
		BanReason: a.BanReason,
	}
	if !a.BannedUntil.IsZero() {
		v.BannedUntil = &a.BannedUntil
		v.BanPermanent = !a.BannedUntil.Before(Forever)
	}
	if !a.RevokedBefore.IsZero() {
		v.SessionsRevokedAt = &a.RevokedBefore
	}
	return v
}

// AdminAuditEntry is an audit entry as the API answers it. Detail is the
// action's JSON object (reason, until), or null.
type AdminAuditEntry struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	AccountID string          `json:"account"`
	Detail    json.RawMessage `json:"detail"`
}

func auditView(es []store.AuditEntry) []AdminAuditEntry {
	out := make([]AdminAuditEntry, 0, len(es))
	for _, e := range es {
		d := json.RawMessage(e.Detail)
		if !json.Valid(d) {
			// Another writer's plain text: passed on as a JSON string.
			d, _ = json.Marshal(e.Detail)
		}
		out = append(out, AdminAuditEntry{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, AccountID: e.AccountID, Detail: d})
	}
	return out
}

// AdminHandler returns the admin's HTTP API, JSON under /admin/api/:
//
//	GET  /admin/api/accounts?q=&limit=        {"accounts":[AdminAccount]}
//	GET  /admin/api/accounts/{id}             {"account":AdminAccount,"audit":[entry]}
//	POST /admin/api/accounts/{id}/ban         {"reason","until"|"duration"} → {"account"}
//	POST /admin/api/accounts/{id}/unban       {"reason"?} → {"account"}
//	POST /admin/api/accounts/{id}/revoke      {"reason"?} → {"account"}
//	GET  /admin/api/audit?account=&limit=     {"audit":[entry]}
//
// A ban's "until" is an RFC 3339 time, its "duration" a Go duration or a
// number of days ("36h", "7d"); with neither the ban is permanent. It
// has no access control of its own: the program serves it only behind
// its admin token. Errors are {"code","message"}, as the player API's.
func (s *Service) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/api/accounts", s.api(s.handleAdminFind))
	mux.HandleFunc("GET /admin/api/accounts/{id}", s.api(s.handleAdminAccount))
	mux.HandleFunc("POST /admin/api/accounts/{id}/ban", s.api(s.handleAdminBan))
	mux.HandleFunc("POST /admin/api/accounts/{id}/unban", s.api(s.handleAdminUnban))
	mux.HandleFunc("POST /admin/api/accounts/{id}/revoke", s.api(s.handleAdminRevoke))
	mux.HandleFunc("GET /admin/api/audit", s.api(s.handleAdminAudit))
	return mux
}

// actor names the admin in the audit log: the one admin token says no
// more than "admin", so the address it came from is kept with it.
func (s *Service) actor(r *http.Request) string {
	return "admin@" + s.cfg.ClientAddr(r)
}

// queryLimit reads ?limit=, def if absent.
func queryLimit(r *http.Request, def, most int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, badRequest("limit is a whole number from 1 to %d", most)
	}
	return n, nil
}

// pathAccount reads the {id} of a path: IDs are short and plain, so
// anything else is a mistake worth saying so, not a search.
func pathAccount(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if err := checkAccountID(id); err != nil {
		return "", err
	}
	return id, nil
}

func checkAccountID(id string) error {
	if id == "" || len(id) > maxAccountID || strings.ContainsFunc(id, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')
	}) {
		return badRequest("an account ID is 1 to %d letters, digits, - or _", maxAccountID)
	}
	return nil
}

// checkReason trims a reason and checks it: at most maxReason printable
// characters, on one line. A player is shown a ban's, so no control or
// formatting character (which could reorder what they read) gets in.
func checkReason(reason string, required bool) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "" && required:
		return "", badRequest("a reason is required: the player is told it, and the audit log keeps it")
	case !utf8.ValidString(reason), utf8.RuneCountInString(reason) > maxReason,
		strings.ContainsFunc(reason, func(c rune) bool { return !unicode.IsPrint(c) }):
		return "", badRequest("a reason is at most %d printable characters on one line", maxReason)
	}
	return reason, nil
}

// banEnd reads a ban's end: until (RFC 3339), or duration from now, or
// neither for a permanent ban (zero).
func banEnd(until, duration string, now time.Time) (time.Time, error) {
	switch {
	case until != "" && duration != "":
		return time.Time{}, badRequest("give until or duration, not both (neither: a permanent ban)")
	case until != "":
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return time.Time{}, badRequest("until is an RFC 3339 time, such as 2030-01-02T15:04:05Z")
		}
		if !t.After(now) || !t.Before(Forever) {
			return time.Time{}, badRequest("until must be in the future, and before %d (for a permanent ban, give no until)", Forever.Year())
		}
		return t, nil
	case duration != "":
		d, err := parseBanDuration(duration)
		if err != nil {
			return time.Time{}, err
		}
		if t := now.Add(d); t.Before(Forever) {
			return t, nil
		}
		return Forever, nil
	}
	return time.Time{}, nil
}

// parseBanDuration reads a Go duration ("90m", "36h") or whole days
// ("7d"), which time.ParseDuration does not know.
func parseBanDuration(v string) (time.Duration, error) {
	bad := badRequest("duration is a positive Go duration such as 90m or 36h, or days such as 7d")
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > 100*365 {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, bad
		}
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}

// adminErr answers an unknown account 404 where the player API says 401.
func adminErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errAdminNotFound
	}
	return err
}

func (s *Service) handleAdminFind(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	if len(q) > maxQuery {
		return badRequest("q is at most %d bytes", maxQuery)
	}
	limit, err := queryLimit(r, defaultFind, maxFind)
	if err != nil {
		return err
	}
	as, err := s.AdminFind(r.Context(), q, limit)
	if err != nil {
		return err
	}
	now := s.now()
	out := make([]AdminAccount, 0, len(as))
	for _, a := range as {
		out = append(out, adminView(a, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": out})
	return nil
}

func (s *Service) handleAdminAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathAccount(r)
	if err != nil {
		return err
	}
	a, err := s.db.AccountByID(r.Context(), id)
	if err != nil {
		return adminErr(storeErr(err))
	}
	es, err := s.AdminAudit(r.Context(), id, defaultAudit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": adminView(a, s.now()), "audit": auditView(es)})
	return nil
}

// answerAccount answers an action with the account as it now is.
func (s *Service) answerAccount(w http.ResponseWriter, r *http.Request, id string) error {
	a, err := s.db.AccountByID(r.Context(), id)
	if err != nil {
		return adminErr(storeErr(err))
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": adminView(a, s.now())})
	return nil
}

func (s *Service) handleAdminBan(w http.ResponseWriter, r *http.Request) error {
	id, err := pathAccount(r)
	if err != nil {
		return err
	}
	var req struct {
		Reason   string `json:"reason"`
		Until    string `json:"until"`
		Duration string `json:"duration"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	reason, err := checkReason(req.Reason, true)
	if err != nil {
		return err
	}
	until, err := banEnd(req.Until, req.Duration, s.now())
	if err != nil {
		return err
	}
	if err := s.AdminBan(r.Context(), s.actor(r), id, until, reason); err != nil {
		return adminErr(err)
	}
	return s.answerAccount(w, r, id)
}

// noteRequest is the body of an unban or a revoke: an optional reason for
// the audit log. No body at all is an empty one.
type noteRequest struct {
	Reason string `json:"reason"`
}

func (s *Service) handleAdminUnban(w http.ResponseWriter, r *http.Request) error {
	return s.adminNoted(w, r, s.AdminUnban)
}

func (s *Service) handleAdminRevoke(w http.ResponseWriter, r *http.Request) error {
	return s.adminNoted(w, r, s.AdminRevoke)
}

func (s *Service) adminNoted(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, actor, id, note string) error) error {
	id, err := pathAccount(r)
	if err != nil {
		return err
	}
	var req noteRequest
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	note, err := checkReason(req.Reason, false)
	if err != nil {
		return err
	}
	if err := act(r.Context(), s.actor(r), id, note); err != nil {
		return adminErr(err)
	}
	return s.answerAccount(w, r, id)
}

func (s *Service) handleAdminAudit(w http.ResponseWriter, r *http.Request) error {
	account := r.URL.Query().Get("account")
	if account != "" {
		if err := checkAccountID(account); err != nil {
			return err
		}
	}
	limit, err := queryLimit(r, defaultAudit, maxAudit)
	if err != nil {
		return err
	}
	es, err := s.AdminAudit(r.Context(), account, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"audit": auditView(es)})
	return nil
}
