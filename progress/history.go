package progress

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/arena-server/arena/rating"
	"github.com/arena-server/arena/store"
)

// The match history and the profile: public, read-only, no bearer. They
// say what a player's opponents, a leaderboard's viewers and a spectator
// see anyway (names, places, scores, ratings), and nothing private (no
// email, no storage, no sign-in); an account is named by its ID, which is
// random, so they cannot be walked. What bounds them is strictness: known
// query parameters only, each once, an ID of the account alphabet, a page
// of at most store.MaxMatchPage.

// Bounds of the history's requests.
const (
	matchPage    = 20 // a page of /api/matches when ?limit is absent
	maxCursor    = 512
	historyRetry = 5 // seconds, in Retry-After when the store fails
)

// accountID is what an account ID may be: accounts.NewID's alphabet and
// more, bounded.
var accountID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// resultRoutes adds the match history and profile routes.
func (s *Service) resultRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/matches", s.handleMatches)
	mux.HandleFunc("GET /api/accounts/{id}", s.handleProfile)
}

// matchJSON is a match in /api/matches.
type matchJSON struct {
	Key     string       `json:"key"`
	Mode    string       `json:"mode"`
	Room    string       `json:"room"`
	Game    int          `json:"game"`
	Started *time.Time   `json:"started_at,omitempty"`
	Ended   time.Time    `json:"ended_at"`
	Summary string       `json:"summary"`
	Guests  int          `json:"guests"`
	Players []playerJSON `json:"players"`
}

type playerJSON struct {
	Account  string           `json:"account"`
	Player   uint32           `json:"player"`
	Name     string           `json:"name"`
	Standing int              `json:"standing"`
	Score    int64            `json:"score"`
	Team     int              `json:"team,omitempty"`
	Stats    map[string]int64 `json:"stats,omitempty"`
}

// ratingJSON is a rating on the profile: Ordinal (mu - 3 sigma) is what
// boards and the page show, a conservative estimate that rises as a
// player's games make the system surer.
type ratingJSON struct {
	Mode    string    `json:"mode"`
	Mu      float64   `json:"mu"`
	Sigma   float64   `json:"sigma"`
	Ordinal float64   `json:"ordinal"`
	Games   int       `json:"games"`
	Updated time.Time `json:"updated_at"`
}

type profileJSON struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Created time.Time    `json:"created_at"`
	Ratings []ratingJSON `json:"ratings"`
}

// handleMatches is GET /api/matches?account=ID&before=CURSOR&limit=N: an
// account's matches, newest first, and the cursor of the next page
// ("next", absent on the last).
func (s *Service) handleMatches(w http.ResponseWriter, r *http.Request) {
	q, err := strictQuery(r, "account", "before", "limit")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	acct := q["account"]
	if !accountID.MatchString(acct) {
		writeError(w, http.StatusBadRequest, "bad_request", "?account= must be an account ID")
		return
	}
	limit := matchPage
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxMatchPage {
			writeError(w, http.StatusBadRequest, "bad_request", "?limit= must be a whole number from 1 to "+strconv.Itoa(store.MaxMatchPage))
			return
		}
		limit = n
	}
	var before store.MatchCursor
	if v, ok := q["before"]; ok {
		if before, err = decodeCursor(v); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "?before= must be a cursor from an earlier page's \"next\"")
			return
		}
	}
	if _, err := s.db.AccountByID(r.Context(), acct); err != nil {
		s.historyStoreError(w, r, err)
		return
	}
	ms, next, err := s.db.MatchesOf(r.Context(), acct, before, limit)
	if err != nil {
		s.historyStoreError(w, r, err)
		return
	}
	out := struct {
		Matches []matchJSON `json:"matches"`
		Next    string      `json:"next,omitempty"`
	}{Matches: make([]matchJSON, 0, len(ms)), Next: encodeCursor(next)}
	for _, m := range ms {
		mj := matchJSON{Key: m.Key, Mode: m.Mode, Room: m.Room, Game: m.Game, Ended: m.Ended, Summary: m.Summary,
			Guests: m.Guests, Players: make([]playerJSON, 0, len(m.Players))}
		if !m.Started.IsZero() {
			mj.Started = &m.Started
		}
		for _, p := range m.Players {
			mj.Players = append(mj.Players, playerJSON{Account: p.Account, Player: p.Player, Name: p.Name,
				Standing: p.Standing, Score: p.Score, Team: p.Team, Stats: p.Stats})
		}
		out.Matches = append(out.Matches, mj)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleProfile is GET /api/accounts/{id}: an account's public profile,
// its name, when it was made and its rating in each mode it has played.
func (s *Service) handleProfile(w http.ResponseWriter, r *http.Request) {
	if _, err := strictQuery(r); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	id := r.PathValue("id")
	if !accountID.MatchString(id) {
		writeError(w, http.StatusNotFound, "not_found", "no such account")
		return
	}
	a, err := s.db.AccountByID(r.Context(), id)
	if err != nil {
		s.historyStoreError(w, r, err)
		return
	}
	rs, err := s.db.Ratings(r.Context(), id)
	if err != nil {
		s.historyStoreError(w, r, err)
		return
	}
	out := profileJSON{ID: a.ID, Name: a.Name, Created: a.CreatedAt, Ratings: make([]ratingJSON, 0, len(rs))}
	for _, r := range rs {
		out.Ratings = append(out.Ratings, ratingJSON{Mode: r.Mode, Mu: r.Mu, Sigma: r.Sigma,
			Ordinal: rating.Rating{Mu: r.Mu, Sigma: r.Sigma}.Ordinal(), Games: r.Games, Updated: r.Updated})
	}
	writeJSON(w, http.StatusOK, out)
}

// strictQuery returns a request's query parameters, refusing any not
// allowed and any given twice, so that a typo is an error rather than
// silently ignored.
func strictQuery(r *http.Request, allowed ...string) (map[string]string, error) {
	vs, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errors.New("the query string is malformed")
	}
	out := make(map[string]string, len(vs))
	for k, v := range vs {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		switch {
		case !ok:
			return nil, errors.New("unknown query parameter ?" + k + "=")
		case len(v) != 1:
			return nil, errors.New("?" + k + "= is given more than once")
		}
		out[k] = v[0]
	}
	return out, nil
}

// encodeCursor makes a page's end opaque: the client hands it back and
// reads nothing in it, so its form may change.
func encodeCursor(c store.MatchCursor) string {
	if c == (store.MatchCursor{}) {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Ended.UnixMicro(), 10) + "/" + c.Key))
}

func decodeCursor(s string) (store.MatchCursor, error) {
	bad := errors.New("bad cursor")
	if len(s) > maxCursor {
		return store.MatchCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.MatchCursor{}, bad
	}
	us, key, ok := strings.Cut(string(b), "/")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || n <= 0 || key == "" {
		return store.MatchCursor{}, bad
	}
	return store.MatchCursor{Ended: time.UnixMicro(n).UTC(), Key: key}, nil
}

// historyStoreError answers a store's failure: 404 for a missing account,
// else 503, the store being down (logged; the request's data is not).
func (s *Service) historyStoreError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no such account")
		return
	}
	if r.Context().Err() != nil {
		return // the client went
	}
	s.log.Warn("progress: history: store unavailable", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", strconv.Itoa(historyRetry))
	writeError(w, http.StatusServiceUnavailable, "unavailable", "match history is unavailable right now; play goes on; try again shortly")
}
