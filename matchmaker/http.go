package matchmaker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/internal/strictjson"
	"github.com/arena-server/arena/store"
)

// maxBody bounds a ticket's request: a mode, a few options, a party of
// account IDs.
const maxBody = 4 << 10

// Handler serves the tickets API, every request with an access token
// (Authorization: Bearer):
//
//	POST   /api/matchmake/tickets       {"mode","options":{},"party":[]} → 201 {"ticket","expires_at"}
//	GET    /api/matchmake/tickets/{id}  → {"state":"waiting","waited_ms","window","expires_at"}
//	                                      or {"state":"matched","room","url","seat","team"}
//	                                      or {"state":"cancelled"|"expired"}
//	DELETE /api/matchmake/tickets/{id}  → 204, the ticket leaves the pool
//
// A ticket is read by its account and its party's, each answered its own
// seat; it is cancelled by its account.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/matchmake/tickets", s.ServeCreate)
	mux.HandleFunc("GET /api/matchmake/tickets/{id}", s.serveTicket)
	mux.HandleFunc("DELETE /api/matchmake/tickets/{id}", s.serveCancel)
	return mux
}

// writeJSON answers v; answers are a player's own and change by the
// second, so nothing caches them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

// authenticate checks the request's bearer, answering 401 itself if it
// fails.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request) (accounts.Identity, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeError(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer ACCESS_TOKEN")
		return accounts.Identity{}, false
	}
	id, err := s.cfg.Authenticate(r.Context(), token)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "the access token is not valid: sign in again")
		return accounts.Identity{}, false
	}
	return id, true
}

// storeDown answers a request the store failed: the pool is out of reach.
func (s *Service) storeDown(w http.ResponseWriter, err error) {
	s.log.Warn("matchmaker: the store failed a request", "err", err)
	writeError(w, http.StatusServiceUnavailable, "unavailable", "the matchmaker cannot reach its store; retry shortly")
}

// ServeCreate answers POST /api/matchmake/tickets (and POST
// /api/matchmake with a bearer) with a new ticket.
func (s *Service) ServeCreate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	var req struct {
		Mode    string            `json:"mode"`
		Options map[string]string `json:"options"`
		Party   []string          `json:"party"`
	}
	const want = `send {"mode":"MODE","options":{"NAME":"VALUE"},"party":["ACCOUNT"]}`
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "bad_request", fmt.Sprintf("the body is limited to %d bytes", maxBody))
		return
	}
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		// Unknown fields are refused, not ignored: a client that sends
		// its own "rating" must learn that it is not used.
		if err = strictjson.CheckKeys(body); err == nil {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			err = dec.Decode(&req)
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", want)
		return
	}
	t, err := s.CreateTicket(r.Context(), id, req.Mode, req.Options, req.Party)
	switch {
	case errors.Is(err, ErrUnknownMode):
		writeError(w, http.StatusNotFound, "no_mode", err.Error())
	case errors.Is(err, ErrBadParty):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, store.ErrAlreadyQueued):
		writeError(w, http.StatusConflict, "already_queued", "you, or a player of your party, have a waiting ticket: cancel it first")
	case errors.Is(err, ErrBadOptions):
		writeError(w, http.StatusBadRequest, "bad_option", err.Error())
	case err != nil:
		s.storeDown(w, err)
	default:
		w.Header().Set("Location", "/api/matchmake/tickets/"+t.ID)
		writeJSON(w, http.StatusCreated, map[string]any{"ticket": t.ID, "expires_at": t.Expires.UTC().Format(time.RFC3339Nano)})
	}
}

// ticketOf reads the ticket of the request's path for id: its account's,
// or its party's. It answers the error itself.
func (s *Service) ticketOf(w http.ResponseWriter, r *http.Request, id accounts.Identity) (store.MatchTicket, bool) {
	t, err := s.db.Ticket(r.Context(), r.PathValue("id"))
	if err == nil && t.Account != id.Account && !contains(t.Party, id.Account) {
		err = store.ErrNotFound // another's ticket is none of this player's business
	}
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such ticket of yours")
		return t, false
	}
	if err != nil {
		s.storeDown(w, err)
		return t, false
	}
	return t, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *Service) serveTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	t, ok := s.ticketOf(w, r, id)
	if !ok {
		return
	}
	now := s.cfg.Now()
	switch {
	case t.State == store.TicketWaiting && !now.Before(t.Expires):
		// Expired, though no matcher has marked it yet.
		writeJSON(w, http.StatusOK, map[string]any{"state": store.TicketExpired})
	case t.State == store.TicketWaiting:
		wait := now.Sub(t.Created)
		writeJSON(w, http.StatusOK, map[string]any{"state": t.State, "waited_ms": wait.Milliseconds(),
			"window": math.Round(s.window(t.Mode, wait)*100) / 100, "expires_at": t.Expires.UTC().Format(time.RFC3339Nano)})
	case t.State == store.TicketMatched:
		out := map[string]any{"state": t.State, "room": t.Room, "url": t.URL, "seat": t.Seats[id.Account], "mode": t.Mode}
		if t.Team > 0 {
			out["team"] = t.Team
		}
		writeJSON(w, http.StatusOK, out)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"state": t.State})
	}
}

func (s *Service) serveCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	err := s.db.CancelTicket(r.Context(), r.PathValue("id"), id.Account, s.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no waiting ticket of yours by that ID (matched tickets are not cancelled: leave the room)")
		return
	}
	if err != nil {
		s.storeDown(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
