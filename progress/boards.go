package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/strictjson"
	"github.com/arena-server/arena/room"
	"github.com/arena-server/arena/store"
)

// Leaderboards: a mode's boards (game.Mode.Boards) are declared in the
// store when the Service starts, the admin creates others, results feed
// them (SubmitScores) and a game's own scores come through Submit. Reading
// a board needs no bearer: boards are public, shown to guests too.

// boardState is the Service's part for leaderboards.
type boardState struct {
	// now is the clock submissions and "the current season" are taken
	// from: tests set it.
	now func() time.Time
	// byMode are the boards each mode's results feed, as declared.
	byMode map[string][]game.Board
	mu     sync.Mutex
	resets map[string]game.Reset // parsed schedules, by the text
}

// startBoards declares the modes' boards in the store. A board ID that
// two modes declare, or that the admin created, stops the start: results
// would go to a board not theirs.
func (s *Service) startBoards(ctx context.Context) error {
	s.boards = boardState{now: time.Now, byMode: map[string][]game.Board{}, resets: map[string]game.Reset{}}
	owner := map[string]string{}
	for _, m := range s.cfg.Modes {
		for _, b := range m.Boards {
			if err := b.Check(); err != nil {
				return fmt.Errorf("progress: mode %s: %w", m.Name, err)
			}
			b = b.Normalized()
			if o, ok := owner[b.ID]; ok {
				return fmt.Errorf("progress: modes %s and %s both declare board %s", o, m.Name, b.ID)
			}
			owner[b.ID] = m.Name
			err := s.db.EnsureBoard(ctx, store.Board{ID: b.ID, Order: b.Order, Operator: b.Operator, Reset: b.Reset, CreatedAt: s.boards.now()})
			if err != nil {
				return fmt.Errorf("progress: mode %s: %w", m.Name, err)
			}
			s.boards.byMode[m.Name] = append(s.boards.byMode[m.Name], b)
		}
	}
	return nil
}

// reset returns a schedule parsed, from a cache: the store holds the text.
func (s *Service) reset(spec string) (game.Reset, error) {
	s.boards.mu.Lock()
	defer s.boards.mu.Unlock()
	if r, ok := s.boards.resets[spec]; ok {
		return r, nil
	}
	r, err := game.ParseReset(spec)
	if err != nil {
		return r, err
	}
	s.boards.resets[spec] = r
	return r, nil
}

// Submit submits an account's score to a board by the board's operator,
// in the season of at, the time the score was made: a score made just
// before a reset counts in the season it was made in, however late it is
// written. An unknown board or account is store.ErrNotFound.
func (s *Service) Submit(ctx context.Context, board, account string, score int64, at time.Time) error {
	b, err := s.db.BoardByID(ctx, board)
	if err != nil {
		return err
	}
	return s.submit(ctx, b, account, score, at)
}

func (s *Service) submit(ctx context.Context, b store.Board, account string, score int64, at time.Time) error {
	r, err := s.reset(b.Reset)
	if err != nil {
		return fmt.Errorf("progress: board %s: %w", b.ID, err)
	}
	return s.db.Submit(ctx, b, r.Season(at).UnixMicro(), account, score, at)
}

// SubmitScores feeds a finished game's standings to its mode's boards,
// at the time at (the game's end), in one transaction: for each board
// and each player with an account, the board's Stat of the player's
// standing. "win" is 1 for the first place — the first standing, those
// tied with it on Score, and, with teams, its team — and 0 for the
// others, so that an incr board counts wins and every player has an
// entry. A Stats key a standing lacks submits nothing for it.
//
// All or nothing, so a failed call may be retried; but a call that
// succeeded must not be made again for the same result (its Key), or an
// incr board counts it twice: the results writer calls it once a key.
func (s *Service) SubmitScores(ctx context.Context, rep room.Report, at time.Time) error {
	subs, err := s.boardScores(rep, at)
	if err != nil {
		return err
	}
	return s.db.SubmitAll(ctx, subs)
}

// boardScores are SubmitScores's submissions: the results writer has them
// written in the match's own transaction (store.Match.Submissions).
func (s *Service) boardScores(rep room.Report, at time.Time) ([]store.Submission, error) {
	boards := s.boards.byMode[rep.Mode]
	if len(boards) == 0 || len(rep.Result.Standings) == 0 {
		return nil, nil
	}
	accounts := make(map[game.PlayerID]string, len(rep.Players))
	for _, p := range rep.Players {
		if p.Account != "" {
			accounts[p.ID] = p.Account
		}
	}
	first := rep.Result.Standings[0]
	var subs []store.Submission
	for _, b := range boards {
		r, err := s.reset(b.Reset)
		if err != nil {
			return nil, fmt.Errorf("progress: board %s: %w", b.ID, err)
		}
		sb := store.Board{ID: b.ID, Order: b.Order, Operator: b.Operator, Reset: b.Reset}
		season := r.Season(at).UnixMicro()
		for _, st := range rep.Result.Standings {
			account, ok := accounts[st.Player]
			if !ok {
				continue
			}
			var v int64
			switch b.Stat {
			case "score":
				v = st.Score
			case "win":
				if st.Score == first.Score || (first.Team != 0 && st.Team == first.Team) {
					v = 1
				}
			default:
				if v, ok = st.Stats[b.Stat]; !ok {
					continue
				}
			}
			subs = append(subs, store.Submission{Board: sb, Season: season, Account: account, Score: v, At: at})
		}
	}
	return subs, nil
}

// boardRoutes registers the leaderboards' API.
func (s *Service) boardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/leaderboards", s.boardsHandler(s.listBoards))
	mux.HandleFunc("GET /api/leaderboards/{id}", s.boardsHandler(s.boardPage))
	mux.HandleFunc("GET /api/leaderboards/{id}/accounts/{account}", s.boardsHandler(s.boardRank))
}

// AdminHandler serves the admin's API for leaderboards, POST
// /admin/api/leaderboards, to be mounted behind the admin's token.
func (s *Service) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/api/leaderboards", s.boardsHandler(s.createBoard))
	return mux
}

// boardJSON is a board in the API.
type boardJSON struct {
	ID        string    `json:"id"`
	Order     string    `json:"order"`
	Operator  string    `json:"operator"`
	Reset     string    `json:"reset"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Season names the current season: its start in microseconds since
	// the Unix epoch, 0 for a board that never resets; ?season= takes
	// it, or a time in it.
	Season      int64      `json:"season"`
	SeasonStart time.Time  `json:"season_start"`
	NextReset   *time.Time `json:"next_reset,omitempty"`
}

func (s *Service) boardOf(b store.Board) (boardJSON, error) {
	r, err := s.reset(b.Reset)
	if err != nil {
		return boardJSON{}, fmt.Errorf("progress: board %s: %w", b.ID, err)
	}
	now := s.boards.now()
	start := r.Season(now)
	j := boardJSON{ID: b.ID, Order: b.Order, Operator: b.Operator, Reset: b.Reset, CreatedBy: b.CreatedBy,
		CreatedAt: b.CreatedAt, Season: start.UnixMicro(), SeasonStart: start}
	if next := r.Next(now); !next.IsZero() {
		j.NextReset = &next
	}
	return j, nil
}

func (s *Service) listBoards(w http.ResponseWriter, r *http.Request) error {
	bs, err := s.db.Boards(r.Context())
	if err != nil {
		return err
	}
	out := make([]boardJSON, 0, len(bs))
	for _, b := range bs {
		j, err := s.boardOf(b)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"leaderboards": out})
	return nil
}

// entryJSON is an entry in the API.
type entryJSON struct {
	Rank      int64     `json:"rank"`
	Account   string    `json:"account"`
	Name      string    `json:"name"`
	Score     int64     `json:"score"`
	UpdatedAt time.Time `json:"updated_at"`
}

func entriesJSON(es []store.Entry) []entryJSON {
	out := make([]entryJSON, len(es))
	for i, e := range es {
		out[i] = entryJSON{Rank: e.Rank, Account: e.Account, Name: e.Name, Score: e.Score, UpdatedAt: e.UpdatedAt}
	}
	return out
}

// Page sizes: a page is at most maxBoardPage entries.
const (
	defaultBoardPage = 20
	maxBoardPage     = 100
)

// boardSeason reads a request's board and ?season=: the season's start in
// microseconds, taken as it is (a season of a schedule since changed
// stays readable), or a time (RFC 3339) in it by the board's schedule;
// the current season if absent.
func (s *Service) boardSeason(r *http.Request) (store.Board, time.Time, error) {
	b, err := s.db.BoardByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return b, time.Time{}, err
	}
	rs, err := s.reset(b.Reset)
	if err != nil {
		return b, time.Time{}, err
	}
	at := s.boards.now()
	if q := r.URL.Query().Get("season"); q != "" {
		if us, err := strconv.ParseInt(q, 10, 64); err == nil {
			return b, time.UnixMicro(us).UTC(), nil
		} else if t, err := time.Parse(time.RFC3339Nano, q); err == nil {
			at = t
		} else {
			return b, time.Time{}, badRequest("season %q is neither microseconds since 1970 nor an RFC 3339 time", q)
		}
	}
	return b, rs.Season(at), nil
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	q := r.URL.Query().Get(name)
	if q == "" {
		return def, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be a number from %d to %d", name, lo, hi)
	}
	return n, nil
}

func (s *Service) boardPage(w http.ResponseWriter, r *http.Request) error {
	b, season, err := s.boardSeason(r)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", defaultBoardPage, 1, maxBoardPage)
	if err != nil {
		return err
	}
	var es []store.Entry
	if around := r.URL.Query().Get("around"); around != "" {
		if r.URL.Query().Has("offset") {
			return badRequest("around and offset do not go together")
		}
		es, err = s.db.Around(r.Context(), b.ID, season.UnixMicro(), around, limit)
		if errors.Is(err, store.ErrNotFound) {
			return &apiError{status: http.StatusNotFound, code: "no_entry", msg: "that account has no entry on this board in this season"}
		}
	} else {
		offset, perr := intParam(r, "offset", 0, 0, 1<<30)
		if perr != nil {
			return perr
		}
		es, err = s.db.Top(r.Context(), b.ID, season.UnixMicro(), limit, offset)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": b.ID, "season": season.UnixMicro(), "season_start": season, "entries": entriesJSON(es)})
	return nil
}

func (s *Service) boardRank(w http.ResponseWriter, r *http.Request) error {
	b, season, err := s.boardSeason(r)
	if err != nil {
		return err
	}
	e, err := s.db.Rank(r.Context(), b.ID, season.UnixMicro(), r.PathValue("account"))
	if errors.Is(err, store.ErrNotFound) {
		return &apiError{status: http.StatusNotFound, code: "no_entry", msg: "that account has no entry on this board in this season"}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": b.ID, "season": season.UnixMicro(), "season_start": season, "entry": entriesJSON([]store.Entry{e})[0]})
	return nil
}

// maxBoardBody bounds the admin's request body.
const maxBoardBody = 4 << 10

func (s *Service) createBoard(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBoardBody))
	if err != nil {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: fmt.Sprintf("the body is over %d bytes", maxBoardBody)}
	}
	var req struct {
		ID       string `json:"id"`
		Order    string `json:"order"`
		Operator string `json:"operator"`
		Reset    string `json:"reset"`
	}
	if err := strictjson.CheckKeys(body); err != nil {
		return badRequest("the body is not valid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("the body is not the JSON object expected: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("the body holds more than one JSON value")
	}
	gb := game.Board{ID: req.ID, Order: req.Order, Operator: req.Operator, Reset: req.Reset}
	if err := gb.Check(); err != nil {
		return badRequest("%v", err)
	}
	gb = gb.Normalized()
	b := store.Board{ID: gb.ID, Order: gb.Order, Operator: gb.Operator, Reset: gb.Reset, CreatedBy: "admin", CreatedAt: s.boards.now().UTC().Truncate(time.Microsecond)}
	if err := s.db.CreateBoard(r.Context(), b); err != nil {
		if errors.Is(err, store.ErrBoardExists) {
			return &apiError{status: http.StatusConflict, code: "exists", msg: "a leaderboard with that ID exists"}
		}
		return err
	}
	s.log.Info("progress: leaderboard created by the admin", "board", b.ID)
	j, err := s.boardOf(b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, j)
	return nil
}

// boardsHandler answers a handler's error: the client's own errors as
// they are, an unknown board 404, and the store's failures 503, logged.
func (s *Service) boardsHandler(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var e *apiError
		switch {
		case errors.As(err, &e):
		case errors.Is(err, store.ErrNotFound):
			e = &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such leaderboard"}
		default:
			s.log.Warn("progress: leaderboards: store unavailable", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", "5")
			e = &apiError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "the leaderboards are unavailable; try again shortly"}
		}
		writeJSON(w, e.status, map[string]string{"code": e.code, "message": e.msg})
	}
}
