package progress

// Player storage: the HTTP API of players' objects, the loads of a
// joining player's (Load, for the server's join path) and the writer of
// games' saves (Save, for the rooms). See game/storage.go for what a game
// sees, and docs/storage.md for the API.

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

	"github.com/arena-server/arena/accounts"
	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/strictjson"
	"github.com/arena-server/arena/store"
)

// The bounds of player storage.
const (
	// MaxObjectBytes bounds one object's value, compacted JSON: a save's
	// worth (an inventory, a loadout), small enough that loading a
	// player's few collections on join stays quick.
	MaxObjectBytes = 16 << 10
	// MaxAccountBytes bounds all of one account's objects together, so
	// that no account (or game bug) fills the database.
	MaxAccountBytes = 1 << 20
	// storageBody bounds a PUT's body: a value at its largest, with room
	// for the whitespace compaction takes out and the envelope.
	storageBody = 4 * MaxObjectBytes
	// storagePage is the most objects a listing returns at once, and its
	// default.
	storagePage = 100
	// maxQueuedSaves bounds the games' saves waiting for the writer: a
	// store that falls behind fails the excess at once (the game hears
	// so) rather than hold the rooms' memory without end.
	maxQueuedSaves = 4096
	// saveTimeout bounds one save's write: a store that does not answer
	// fails it, and the next one is tried.
	saveTimeout = 5 * time.Second
	// loadTimeout bounds a joining player's load, within the join's own
	// deadline.
	loadTimeout = 3 * time.Second
	// savesCloseWait is how long Close waits for the saves still queued.
	savesCloseWait = 5 * time.Second
)

var (
	errStorageNoBearer   = &apiError{http.StatusUnauthorized, "unauthorized", "sign in first: send Authorization: Bearer ACCESS_TOKEN"}
	errStorageNotFound   = &apiError{http.StatusNotFound, "not_found", "no such object"}
	errStorageStale      = &apiError{http.StatusPreconditionFailed, "version_mismatch", "the object's version is not the one in If-Match (or it exists, for If-None-Match: *): read it again"}
	errStorageServerOnly = &apiError{http.StatusForbidden, "server_only", "only the server writes this object"}
	errStorageFull       = &apiError{http.StatusRequestEntityTooLarge, "storage_full", fmt.Sprintf("the account's objects would be over %d bytes together", MaxAccountBytes)}
	errStorageTooLarge   = &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("a value is at most %d bytes of compact JSON", MaxObjectBytes)}
	errStorageNoVersion  = &apiError{http.StatusPreconditionRequired, "precondition_required",
		`say which version this replaces: If-Match: "VERSION" (from the object's ETag), or If-None-Match: * to create it`}
	errStorageDown = &apiError{http.StatusServiceUnavailable, "unavailable", "player storage is unavailable right now; play goes on; try again shortly"}
)

// storageRoutes adds the storage API to mux.
func (s *Service) storageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/storage/{collection}", s.storageAPI(s.handleStorageList))
	mux.HandleFunc("GET /api/storage/{collection}/{key}", s.storageAPI(s.handleStorageGet))
	mux.HandleFunc("PUT /api/storage/{collection}/{key}", s.storageAPI(s.handleStoragePut))
	mux.HandleFunc("DELETE /api/storage/{collection}/{key}", s.storageAPI(s.handleStorageDelete))
}

// storageAPI adapts a handler that returns its failure, and answers it.
func (s *Service) storageAPI(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.storageFail(w, r, err)
		}
	}
}

// storageFail answers err: the API's own refusals as they are, the
// store's as theirs, and anything else as the store being unavailable
// (logged, never with a body or a token).
func (s *Service) storageFail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	var ban *accounts.BanError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &ban):
		e = &apiError{http.StatusForbidden, "banned", ban.Error()}
	case errors.Is(err, accounts.ErrExpiredToken):
		e = &apiError{http.StatusUnauthorized, "token_expired", "the access token has expired; refresh it"}
	case errors.Is(err, accounts.ErrInvalidToken):
		e = &apiError{http.StatusUnauthorized, "unauthorized", "the token is not valid"}
	case errors.Is(err, store.ErrVersionMismatch):
		e = errStorageStale
	case errors.Is(err, store.ErrServerOnly):
		e = errStorageServerOnly
	case errors.Is(err, store.ErrAccountFull):
		e = errStorageFull
	case errors.Is(err, store.ErrNotFound):
		e = errStorageNotFound
	default:
		// accounts.ErrUnavailable, a store that fails, a deadline: the
		// client tries again.
		s.log.Warn("storage: unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		e = errStorageDown
		w.Header().Set("Retry-After", "5")
	}
	writeError(w, e.status, e.code, e.msg)
}

// storageBearer returns the account of a request's Authorization: Bearer
// token.
func (s *Service) storageBearer(r *http.Request) (string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", errStorageNoBearer
	}
	id, err := s.cfg.Accounts.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return "", err
	}
	return id.Account, nil
}

// storagePath returns the request's collection and key ("" for a
// listing), checked.
func storagePath(r *http.Request, withKey bool) (collection, key string, err error) {
	collection = r.PathValue("collection")
	if !game.StorageName(collection) {
		return "", "", badRequest("a collection's name is 1 to 64 of A-Z a-z 0-9 _ . -")
	}
	if withKey {
		key = r.PathValue("key")
		if !game.StorageName(key) {
			return "", "", badRequest("a key is 1 to 64 of A-Z a-z 0-9 _ . -")
		}
	}
	return collection, key, nil
}

// whose returns the account whose objects a read is of, and whether the
// reader is its owner: its own, or ?account=ID's, whose public objects
// only it sees.
func whose(r *http.Request, self string) (string, bool, error) {
	q := r.URL.Query()
	if !q.Has("account") {
		return self, true, nil
	}
	other := q.Get("account")
	if other == "" || len(other) > 256 {
		return "", false, badRequest("account is an account's ID")
	}
	return other, other == self, nil
}

// storageObject is an object as the API shows it.
type storageObject struct {
	Account    string          `json:"account"`
	Collection string          `json:"collection"`
	Key        string          `json:"key"`
	Value      json.RawMessage `json:"value"`
	Version    int64           `json:"version"`
	Read       string          `json:"read"`
	Write      string          `json:"write"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

func storageView(o store.Object) storageObject {
	return storageObject{Account: o.Account, Collection: o.Collection, Key: o.Key, Value: o.Value,
		Version: o.Version, Read: o.Read, Write: o.Write, UpdatedAt: o.UpdatedAt}
}

// etag is a version as ETag and If-Match carry it: a strong tag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// expected is the version a write expects, from its preconditions:
// If-Match: "N" (N, or * for a deletion: any), or If-None-Match: * (none,
// for a PUT). Without one a write is refused (428): a write that replaces
// whatever is there would undo another device's without anyone knowing.
func expected(r *http.Request, create bool) (int64, error) {
	match, none := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case match != "" && none != "":
		return 0, badRequest("send If-Match or If-None-Match, not both")
	case create && strings.TrimSpace(none) == "*":
		return store.VersionAbsent, nil
	case none != "":
		return 0, badRequest(`If-None-Match takes * only, on a PUT: create the object if it does not exist`)
	case match == "":
		return 0, errStorageNoVersion
	case !create && strings.TrimSpace(match) == "*":
		return store.VersionAny, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(match), `"`), 10, 64)
	if err != nil || v <= 0 || !strings.HasPrefix(strings.TrimSpace(match), `"`) {
		return 0, badRequest(`If-Match is one version, as the ETag gave it: "VERSION"`)
	}
	return v, nil
}

func (s *Service) handleStorageList(w http.ResponseWriter, r *http.Request) error {
	self, err := s.storageBearer(r)
	if err != nil {
		return err
	}
	collection, _, err := storagePath(r, false)
	if err != nil {
		return err
	}
	account, owner, err := whose(r, self)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := storagePage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storagePage {
			return badRequest("limit is 1 to %d", storagePage)
		}
		limit = n
	}
	after := q.Get("after")
	if after != "" && !game.StorageName(after) {
		return badRequest("after is a key, the last of the page before")
	}
	// One more than asked says whether there is a next page.
	os, err := s.db.ListObjects(r.Context(), account, collection, after, !owner, limit+1)
	if err != nil {
		return err
	}
	page := struct {
		Objects []storageObject `json:"objects"`
		Next    string          `json:"next,omitempty"`
	}{Objects: []storageObject{}}
	for i, o := range os {
		if i == limit {
			page.Next = os[limit-1].Key
			break
		}
		page.Objects = append(page.Objects, storageView(o))
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Service) handleStorageGet(w http.ResponseWriter, r *http.Request) error {
	self, err := s.storageBearer(r)
	if err != nil {
		return err
	}
	collection, key, err := storagePath(r, true)
	if err != nil {
		return err
	}
	account, owner, err := whose(r, self)
	if err != nil {
		return err
	}
	o, err := s.db.GetObject(r.Context(), account, collection, key)
	if err != nil {
		return err
	}
	if !owner && o.Read != store.ReadPublic {
		// As if it were not there: another account's private objects are
		// not even known to exist.
		return errStorageNotFound
	}
	w.Header().Set("ETag", etag(o.Version))
	writeJSON(w, http.StatusOK, storageView(o))
	return nil
}

func (s *Service) handleStoragePut(w http.ResponseWriter, r *http.Request) error {
	self, err := s.storageBearer(r)
	if err != nil {
		return err
	}
	collection, key, err := storagePath(r, true)
	if err != nil {
		return err
	}
	expect, err := expected(r, true)
	if err != nil {
		return err
	}
	var req struct {
		Value json.RawMessage `json:"value"`
		Read  string          `json:"read"`
	}
	if err := storageDecode(w, r, &req); err != nil {
		return err
	}
	value, err := storageValue(req.Value)
	if err != nil {
		return err
	}
	read := store.ReadOwner
	switch req.Read {
	case "", store.ReadOwner:
	case store.ReadPublic:
		read = store.ReadPublic
	default:
		return badRequest(`read is "owner" or "public"`)
	}
	o := store.Object{Account: self, Collection: collection, Key: key, Value: value, Read: read, Write: store.WriteOwner}
	now := time.Now()
	version, err := s.db.PutObject(r.Context(), o, expect, false, MaxAccountBytes, now)
	if err != nil {
		return err
	}
	o.Version, o.UpdatedAt = version, now.Truncate(time.Microsecond).UTC()
	status := http.StatusOK
	if expect == store.VersionAbsent {
		status = http.StatusCreated
	}
	w.Header().Set("ETag", etag(version))
	writeJSON(w, status, storageView(o))
	return nil
}

func (s *Service) handleStorageDelete(w http.ResponseWriter, r *http.Request) error {
	self, err := s.storageBearer(r)
	if err != nil {
		return err
	}
	collection, key, err := storagePath(r, true)
	if err != nil {
		return err
	}
	expect, err := expected(r, false)
	if err != nil {
		return err
	}
	if err := s.db.DeleteObject(r.Context(), self, collection, key, expect, false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// storageDecode reads a JSON object of at most storageBody bytes into v,
// strictly: no unknown field, no key twice (in any case, the value's
// included: a game's encoding/json would read such a value otherwise than
// another reader), nothing after it.
func storageDecode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, storageBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &apiError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", storageBody)}
	} else if err != nil {
		return badRequest("cannot read the body")
	}
	if err := strictjson.CheckKeys(body); err != nil {
		return badRequest("the body is not valid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(`the body is not {"value": JSON, "read": "owner" or "public"}: %v`, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}

// storageValue returns a value as stored: compact JSON, within
// MaxObjectBytes. JSON null is no value: deletion is DELETE's.
func storageValue(v json.RawMessage) (json.RawMessage, error) {
	if len(v) == 0 || string(v) == "null" {
		return nil, badRequest("value is missing: any JSON but null")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return nil, badRequest("value is not JSON: %v", err)
	}
	if b.Len() > MaxObjectBytes {
		return nil, errStorageTooLarge
	}
	return b.Bytes(), nil
}

// Load returns the account's objects of the collections named, by
// collection and key: what a mode loads for a joining player
// (game.Mode.Loads). The server's join path calls it on the connection's
// goroutine, before the join reaches the room.
func (s *Service) Load(ctx context.Context, account string, collections []string) (map[string]map[string]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	os, err := s.db.LoadObjects(ctx, account, collections)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", game.ErrStorageUnavailable, err)
	}
	loaded := make(map[string]map[string]json.RawMessage)
	for _, o := range os {
		c := loaded[o.Collection]
		if c == nil {
			c = make(map[string]json.RawMessage)
			loaded[o.Collection] = c
		}
		c[o.Key] = o.Value
	}
	return loaded, nil
}

// Save queues a game's write for the writer and returns at once: a room
// calls it on its goroutine (through room.Host). done is given the
// outcome, on the writer's goroutine, or at once when the write is
// refused before it is queued (the queue is full, the Service closed).
func (s *Service) Save(sv game.Save, done func(game.SaveResult)) {
	s.saves.offer(s, sv, done)
}

// Score queues a score a game submits to a leaderboard for the writer
// and returns at once: a room calls it on its goroutine (through
// room.Host). One the queue has no room for is logged and dropped.
func (s *Service) Score(sub game.Submission) {
	s.saves.offerScore(s, sub)
}

// writeScore writes a game's score, in the season of now.
func (s *Service) writeScore(sub game.Submission) error {
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	return s.Submit(ctx, sub.Board, sub.Account, sub.Score, time.Now())
}

// saveWriter writes games' saves in the order they come, on a goroutine
// of its own that runs while there are saves to write, so that a Service
// whose games never save holds none.
type saveWriter struct {
	mu      sync.Mutex
	queue   []pendingSave
	running chan struct{} // closed when the running writer stops; nil: none runs
	closed  bool
}

type pendingSave struct {
	save game.Save
	done func(game.SaveResult)
	// score, if set, is a game's submission to a leaderboard instead
	// (Score), written in turn with the saves.
	score *game.Submission
}

// errSavesClosed refuses the saves of a Service that is closing.
var errSavesClosed = fmt.Errorf("%w: the server is shutting down", game.ErrStorageUnavailable)

func (q *saveWriter) offer(s *Service, sv game.Save, done func(game.SaveResult)) {
	q.mu.Lock()
	var refuse error
	switch {
	case q.closed:
		refuse = errSavesClosed
	case len(q.queue) >= maxQueuedSaves:
		refuse = fmt.Errorf("%w: %d saves wait already", game.ErrStorageUnavailable, maxQueuedSaves)
	default:
		q.queue = append(q.queue, pendingSave{save: sv, done: done})
		if q.running == nil {
			q.running = make(chan struct{})
			go q.run(s, q.running)
		}
	}
	q.mu.Unlock()
	if refuse != nil {
		s.log.Warn("storage: a game's save refused", "account", sv.Account, "collection", sv.Collection, "err", refuse)
		done(game.SaveResult{Save: sv, Err: refuse})
	}
}

func (q *saveWriter) offerScore(s *Service, sub game.Submission) {
	q.mu.Lock()
	ok := !q.closed && len(q.queue) < maxQueuedSaves
	if ok {
		q.queue = append(q.queue, pendingSave{score: &sub})
		if q.running == nil {
			q.running = make(chan struct{})
			go q.run(s, q.running)
		}
	}
	q.mu.Unlock()
	if !ok {
		s.log.Warn("leaderboards: a game's score dropped: the writer is closed or full", "account", sub.Account, "board", sub.Board)
	}
}

func (q *saveWriter) run(s *Service, running chan struct{}) {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = nil
			close(running)
			q.mu.Unlock()
			return
		}
		p := q.queue[0]
		q.queue[0] = pendingSave{}
		q.queue = q.queue[1:]
		q.mu.Unlock()
		if p.score != nil {
			if err := s.writeScore(*p.score); err != nil {
				s.log.Warn("leaderboards: a game's score failed", "account", p.score.Account, "board", p.score.Board, "err", err)
			}
			continue
		}
		version, err := s.writeSave(p.save)
		if err != nil {
			s.log.Warn("storage: a game's save failed", "account", p.save.Account, "collection", p.save.Collection, "key", p.save.Key, "err", err)
		}
		p.done(game.SaveResult{Save: p.save, Version: version, Err: err})
	}
}

// close refuses saves from now on, and waits up to savesCloseWait for
// those queued to be written.
func (q *saveWriter) close() {
	q.mu.Lock()
	q.closed = true
	running := q.running
	q.mu.Unlock()
	if running == nil {
		return
	}
	select {
	case <-running:
	case <-time.After(savesCloseWait):
	}
}

// writeSave writes one game's save: the server's write, over whatever
// version is there.
func (s *Service) writeSave(sv game.Save) (int64, error) {
	switch {
	case sv.Account == "":
		return 0, errors.New("a save needs the player's account")
	case !game.StorageName(sv.Collection) || !game.StorageName(sv.Key):
		return 0, fmt.Errorf("save %q/%q: a collection or key is 1 to 64 of A-Z a-z 0-9 _ . -", sv.Collection, sv.Key)
	}
	value, err := storageValue(sv.Value)
	if err != nil {
		return 0, fmt.Errorf("save %s/%s: %w", sv.Collection, sv.Key, err)
	}
	o := store.Object{Account: sv.Account, Collection: sv.Collection, Key: sv.Key, Value: value, Read: store.ReadOwner, Write: store.WriteOwner}
	if sv.Public {
		o.Read = store.ReadPublic
	}
	if sv.ServerOnly {
		o.Write = store.WriteServer
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
	defer cancel()
	version, err := s.db.PutObject(ctx, o, store.VersionAny, true, MaxAccountBytes, time.Now())
	switch {
	case err == nil:
		return version, nil
	case errors.Is(err, store.ErrAccountFull), errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	return 0, fmt.Errorf("%w: %w", game.ErrStorageUnavailable, err)
}
