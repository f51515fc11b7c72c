package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/password"
)

// FormatVersion is the version of the document Export writes. Restore
// refuses any newer one: a process that reads a newer document it does not
// understand must not guess at it. It reads version 1 too, whose members
// carry their tokens in plaintext, as a node of an older release writes
// them during a rolling upgrade: it hashes them as it reads them.
//
// Version 3 added Private and PasswordHash. Export writes it only for a
// room that has either, and version 2 for the others: an older node, which
// would drop them unread, refuses a private room's document rather than
// run it open, and still takes every other room.
const FormatVersion = 3

// privateFormat is the first version that carries Private and
// PasswordHash.
const privateFormat = 3

// oldestFormat is the oldest version Restore reads.
const oldestFormat = 1

// ErrNotPersistent is returned by Export for a game mode that does not
// implement game.Persistent, and so cannot be moved.
var ErrNotPersistent = errors.New("room: the game mode cannot save its state (not game.Persistent)")

// ErrBadDocument wraps every reason Restore refuses a document.
var ErrBadDocument = errors.New("room: bad room document")

// Document is a room's whole state as Export writes it, in JSON: what
// another process needs to go on with the room where it stopped.
type Document struct {
	Version  int    `json:"version"`
	Room     string `json:"room"`
	Mode     string `json:"mode"`
	TickRate int    `json:"tick_rate"`
	// Tick is the last tick the room ran; the restored room runs Tick+1
	// next.
	Tick uint64 `json:"tick"`
	// Rand is the game's random source (math/rand/v2.PCG.MarshalBinary).
	Rand []byte `json:"rand"`
	// Options are the room's options (Mode.RoomOptions), defaults
	// included, which the restored game is created with.
	Options map[string]string `json:"options,omitempty"`
	// Private keeps the room out of lists and matchmaking (version 3).
	Private bool `json:"private,omitempty"`
	// PasswordHash is the argon2id hash of the room's password
	// (internal/password), never the password (version 3).
	PasswordHash string `json:"password_hash,omitempty"`
	// Game is what the game's Export returned.
	Game    []byte        `json:"game"`
	Members []SavedMember `json:"members"`
	// GameNumber numbers the room's game (game.Result.Game): 1, or
	// absent, for the first; one more for each rematch.
	GameNumber int `json:"game_number,omitempty"`
	// RematchTick, between two games (game.Mode.Rematch), is the tick the
	// next game starts on: Game is that game, its players seated, not
	// yet stepped, and the last game's result has been reported.
	RematchTick uint64 `json:"rematch_tick,omitempty"`
	// ID is the room's Report.RoomID, which a result's key holds: the
	// restored room reports its game under the same key. Absent (a
	// document of an older release): the restored room makes a new one.
	ID string `json:"id,omitempty"`
	// Left are the players who left the room during its game, for its
	// result (Report.Players).
	Left []ReportPlayer `json:"left,omitempty"`
	// Started is when the room's game began, in Unix microseconds, for
	// its result (Report.Started). Absent (an older release's): unknown.
	Started int64 `json:"started,omitempty"`
}

// SavedMember is a player of a saved room.
type SavedMember struct {
	ID   game.PlayerID `json:"id"`
	Name string        `json:"name"`
	Addr string        `json:"addr,omitempty"`
	// TokenHash is HashToken of the member's resume token. A document
	// holds nothing a client could present to resume: whoever reads the
	// stored checkpoints cannot take players over.
	TokenHash string `json:"token_hash,omitempty"`
	// Token is the plaintext token of a version 1 document, which Restore
	// hashes; Export never writes it.
	Token string `json:"token,omitempty"`
	Away  bool   `json:"away,omitempty"`
	// Options are the member's join options (game.Mode.JoinOptions),
	// which it joins each rematch's game with.
	Options map[string]string `json:"options,omitempty"`
	// Account is the player's game.Player.Account, if it has one.
	Account string `json:"account,omitempty"`
	// Storage is the player's storage (game.Player.Storage) as it joins
	// the next game, in a mode that rematches and loads some: a restored
	// room cannot read it again without waiting on the store.
	Storage Storage `json:"storage,omitempty"`
}

type exportResult struct {
	doc []byte
	err error
}

// Export returns the room's whole state as a Document in JSON. The room's
// goroutine writes it between two ticks, so it is one consistent moment of
// the game. Inputs queued for later ticks are not part of it: players that
// move with the room resume, and a resume starts with an empty queue.
func (r *Room) Export(ctx context.Context) ([]byte, error) {
	reply := make(chan exportResult, 1)
	res, err := ask(ctx, r, command{kind: cmdExport, export: reply}, reply)
	if err != nil {
		return nil, err
	}
	return res.doc, res.err
}

// ask hands c to the room's goroutine and waits for its answer on reply:
// ErrRoomClosed if the room ends first, ctx's error if ctx does.
func ask[T any](ctx context.Context, r *Room, c command, reply <-chan T) (T, error) {
	var zero T
	select {
	case r.inbox <- c:
	case <-r.done:
		return zero, ErrRoomClosed
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case res := <-reply:
		return res, nil
	case <-r.done:
		return zero, ErrRoomClosed
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// export runs on the room's goroutine.
func (r *Room) export() exportResult {
	p, ok := r.game.(game.Persistent)
	if !ok {
		return exportResult{err: fmt.Errorf("%w: mode %q", ErrNotPersistent, r.cfg.Mode.Name)}
	}
	state, err := p.Export()
	if err != nil {
		return exportResult{err: fmt.Errorf("room: export game: %w", err)}
	}
	source, err := r.pcg.MarshalBinary()
	if err != nil {
		return exportResult{err: fmt.Errorf("room: export random source: %w", err)}
	}
	version := 2
	if r.cfg.Private || r.cfg.PasswordHash != "" {
		version = privateFormat
	}
	d := Document{
		Version:     version,
		Room:        r.cfg.Name,
		Mode:        r.cfg.Mode.Name,
		TickRate:    r.cfg.TickRate,
		Tick:        r.tick,
		Rand:        source,
		Options:     r.cfg.Options.Map(),
		Private:     r.cfg.Private,
		Game:        state,
		Members:     make([]SavedMember, len(r.members)),
		GameNumber:  r.number,
		RematchTick: r.rematchAt,
		ID:          r.id,
		Left:        r.left,
	}
	if !r.started.IsZero() {
		d.Started = r.started.UnixMicro()
	}
	d.PasswordHash = r.cfg.PasswordHash
	for i, m := range r.members {
		d.Members[i] = SavedMember{ID: m.id, Name: m.name, Account: m.account, Addr: m.addr, TokenHash: m.tokenHash, Away: m.client == nil}
		if len(r.cfg.Mode.JoinOptions) > 0 {
			d.Members[i].Options = m.opts.Map()
		}
		if r.cfg.Mode.Rematch > 0 && len(r.cfg.Mode.Loads) > 0 {
			d.Members[i].Storage = m.storage
		}
	}
	doc, err := json.Marshal(d)
	return exportResult{doc: doc, err: err}
}

// moveCall is a Move, as the inbox carries it.
type moveCall struct {
	to    func(doc []byte) (*ElsewhereError, error)
	reply chan error
}

// Move hands the room to another process. Between two ticks, on the room's
// goroutine, it exports the room and calls to with the document, and the
// room stands still meanwhile: nothing a player does is lost in between,
// only delayed. If to succeeds, the room has gone where its answer says:
// it ends (Run returns that *ElsewhereError), and closes its clients with
// it, which tells them where to reconnect; their players are not removed
// from the game, which goes on elsewhere. If to fails, the room goes on
// here as before, and Move returns the error.
func (r *Room) Move(ctx context.Context, to func(doc []byte) (*ElsewhereError, error)) error {
	call := &moveCall{to: to, reply: make(chan error, 1)}
	select {
	case r.inbox <- command{kind: cmdMove, move: call}:
	case <-r.done:
		return ErrRoomClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once the room has the call it finishes it, whatever ctx says: its
	// answer decides whether the room still runs here.
	select {
	case err := <-call.reply:
		if err == nil {
			// Its clients have been told where it went once it is done:
			// whatever the caller closes next must not get there first.
			<-r.done
		}
		return err
	case <-r.done:
		// The room answers before it stops: a move that stopped it has
		// its answer waiting, which select may not have picked.
		select {
		case err := <-call.reply:
			return err
		default:
			return ErrRoomClosed
		}
	}
}

// move runs on the room's goroutine.
func (r *Room) move(to func(doc []byte) (*ElsewhereError, error)) error {
	res := r.export()
	if res.err != nil {
		return res.err
	}
	where, err := to(res.doc)
	if err != nil {
		return err
	}
	if where == nil {
		return errors.New("room: a move that says nowhere")
	}
	r.moved = where
	return nil
}

// maxSavedString bounds the names, addresses and (version 1) tokens of a
// document.
const maxSavedString = 256

// maxTickRate bounds a document's tick rate.
const maxTickRate = 1000

// maxRematchTicks bounds how far ahead a document's next game starts: an
// hour at the highest tick rate.
const maxRematchTicks = 3600 * maxTickRate

// Restore creates a room from a document Export wrote, to Run in place of
// the original. cfg is as for New, but the document decides the tick rate
// (cfg.TickRate must be 0 or equal) and its name and mode must be cfg's
// (an empty cfg.Name takes the document's). cfg.Seed is ignored: the
// random source is the document's.
//
// Every member starts away, with its token (its hash, as Export keeps it;
// a version 1 document's plaintext token is hashed), for cfg.ResumeGrace
// from now:
// one that resumes gets its id, position and score back; one that does
// not is removed (Leave) as any other. Run announces the tokens through
// cfg.Host.Token and the seats through Host.Seat before the first tick. The
// room-local ID counter starts past the restored IDs; with
// a cfg.Host, keeping them from being handed out again is the
// caller's business (Manager.Import moves its counter past them).
//
// A document that is not valid JSON, of another version, mode or room, or
// that the game's Import refuses, is refused with an error wrapping
// ErrBadDocument, and nothing is left behind.
func Restore(cfg Config, doc []byte) (*Room, error) {
	return restoreForward(cfg, doc, nil)
}

// restoreForward is Restore, with each member's token hash replaced by
// forward's value for it, if it has one: the token a resume since the
// document was written rotated it to.
func restoreForward(cfg Config, doc []byte, forward map[string]string) (*Room, error) {
	d, err := decodeDocument(doc)
	if err != nil {
		return nil, err
	}
	if err := d.check(cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	for i, m := range d.Members {
		if next, ok := forward[m.TokenHash]; ok && ValidTokenHash(next) {
			d.Members[i].TokenHash = next
		}
	}
	if err := checkMembers(d.Members); err != nil { // forward may repeat a hash
		return nil, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	cfg.Name, cfg.TickRate = d.Room, d.TickRate
	cfg.Private, cfg.PasswordHash = d.Private, d.PasswordHash
	opts, err := game.ParseOptions(cfg.Mode.RoomOptions, d.Options)
	if err != nil {
		return nil, fmt.Errorf("%w: room options: %w", ErrBadDocument, err)
	}
	cfg.Options = opts
	r := New(cfg)
	if err := r.restore(d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	return r, nil
}

// decodeDocument decodes doc, and brings a version 1 document's members
// to the current form: their tokens hashed.
func decodeDocument(doc []byte) (*Document, error) {
	var d Document
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("%w: decode: %w", ErrBadDocument, err)
	}
	for i, m := range d.Members {
		switch {
		case d.Version == 1 && m.TokenHash == "" && m.Token != "" && len(m.Token) <= maxSavedString:
			d.Members[i].TokenHash, d.Members[i].Token = HashToken(m.Token), ""
		case d.Version == 1 || m.Token != "":
			// A version 1 member with a hash or without a token, or a
			// later version's with a plaintext token: no release of
			// arena writes either.
			return nil, fmt.Errorf("%w: member %d: a version %d document has a token or hash out of place", ErrBadDocument, m.ID, d.Version)
		}
	}
	return &d, nil
}

// TokenHashes returns the token hashes of the members of doc, a document
// Export wrote (or a version 1 one, whose tokens it hashes).
func TokenHashes(doc []byte) ([]string, error) {
	d, err := decodeDocument(doc)
	if err != nil {
		return nil, err
	}
	hashes := make([]string, 0, len(d.Members))
	for _, m := range d.Members {
		if ValidTokenHash(m.TokenHash) {
			hashes = append(hashes, m.TokenHash)
		}
	}
	return hashes, nil
}

// check validates what the room itself keeps of a document.
func (d *Document) check(cfg Config) error {
	switch {
	case d.Version < oldestFormat || d.Version > FormatVersion:
		return fmt.Errorf("version %d; this server reads versions %d to %d", d.Version, oldestFormat, FormatVersion)
	case d.Mode != cfg.Mode.Name:
		return fmt.Errorf("%w: the document is of mode %q, not %q", ErrWrongMode, d.Mode, cfg.Mode.Name)
	case !ValidName(d.Room):
		return fmt.Errorf("room %q: %w", d.Room, ErrBadRoomName)
	case cfg.Name != "" && cfg.Name != d.Room:
		return fmt.Errorf("the document is of room %q, not %q", d.Room, cfg.Name)
	case d.TickRate <= 0 || d.TickRate > maxTickRate:
		return fmt.Errorf("tick rate %d out of range 1..%d", d.TickRate, maxTickRate)
	case cfg.TickRate != 0 && cfg.TickRate != d.TickRate:
		return fmt.Errorf("tick rate %d; the room is configured for %d", d.TickRate, cfg.TickRate)
	case d.Tick > math.MaxInt64:
		return fmt.Errorf("tick %d out of range", d.Tick)
	case d.GameNumber < 0:
		return fmt.Errorf("game number %d out of range", d.GameNumber)
	case d.RematchTick != 0 && (d.RematchTick <= d.Tick || d.RematchTick-d.Tick > maxRematchTicks):
		return fmt.Errorf("rematch tick %d out of range after tick %d", d.RematchTick, d.Tick)
	case d.Version < privateFormat && (d.Private || d.PasswordHash != ""):
		return fmt.Errorf("a version %d document cannot be private", d.Version)
	case d.PasswordHash != "" && !password.Valid(d.PasswordHash):
		return errors.New("malformed password hash")
	case len(d.ID) > maxSavedString:
		return fmt.Errorf("room ID of %d bytes, over %d", len(d.ID), maxSavedString)
	case len(d.Left) > maxLeft:
		return fmt.Errorf("%d players who left; at most %d", len(d.Left), maxLeft)
	}
	for _, p := range d.Left {
		if p.ID == 0 || len(p.Name) > maxSavedString || len(p.Account) > maxSavedString {
			return fmt.Errorf("a player who left, %d, has no ID, or a name or account over %d bytes", p.ID, maxSavedString)
		}
	}
	return checkMembers(d.Members)
}

// checkMembers refuses members out of order, repeated, or with token
// hashes that are malformed or shared: any of them would confuse resumes.
func checkMembers(members []SavedMember) error {
	hashes := make(map[string]bool, len(members))
	for i, m := range members {
		switch {
		case m.ID == 0 || (i > 0 && m.ID <= members[i-1].ID):
			return fmt.Errorf("member %d out of order, repeated or 0", m.ID)
		case !ValidTokenHash(m.TokenHash) || hashes[m.TokenHash]:
			return fmt.Errorf("member %d has a malformed or repeated token hash", m.ID)
		case len(m.Name) > maxSavedString || len(m.Addr) > maxSavedString || len(m.Account) > maxSavedString:
			return fmt.Errorf("member %d has a name, account or address over %d bytes", m.ID, maxSavedString)
		}
		hashes[m.TokenHash] = true
	}
	return nil
}

// restore loads a checked document into a room that has not run yet.
func (r *Room) restore(d *Document) error {
	p, ok := r.game.(game.Persistent)
	if !ok {
		return fmt.Errorf("mode %q: %w", d.Mode, ErrNotPersistent)
	}
	if err := r.pcg.UnmarshalBinary(d.Rand); err != nil {
		return fmt.Errorf("random source: %w", err)
	}
	if err := p.Import(d.Game); err != nil {
		return fmt.Errorf("game state: %w", err)
	}
	if err := r.restoreMembers(d.Members); err != nil {
		return err
	}
	r.tick = d.Tick
	r.number = max(d.GameNumber, 1)
	r.rematchAt = d.RematchTick
	if d.ID != "" {
		r.id = d.ID
	}
	r.started = time.Time{}
	if d.Started > 0 {
		r.started = time.UnixMicro(d.Started)
	}
	r.left = d.Left
	for i := range r.left {
		r.left[i].Left = true
	}
	return nil
}

// restoreMembers seats the document's members, all away. Every player the
// game shows must be one of them, or it would stay in the game for ever
// with nobody to play it or leave it.
func (r *Room) restoreMembers(saved []SavedMember) error {
	now := time.Now()
	members := make([]*member, len(saved))
	for i, s := range saved {
		opts, err := game.ParseOptions(r.cfg.Mode.JoinOptions, s.Options)
		if err != nil {
			return fmt.Errorf("member %d: join options: %w", s.ID, err)
		}
		members[i] = &member{id: s.ID, name: s.Name, opts: opts, account: s.Account, addr: s.Addr, tokenHash: s.TokenHash, awaySince: now, storage: s.Storage}
	}
	r.members = members
	for _, e := range r.game.AppendEntities(nil) {
		if e.Kind == game.KindPlayer && r.member(game.PlayerID(e.ID)) == nil {
			r.members = nil
			return fmt.Errorf("the game has player %d, who is no member", e.ID)
		}
	}
	for _, m := range members {
		if m.addr != "" {
			r.seats[m.addr]++
		}
		r.nextID = max(r.nextID, m.id)
	}
	r.restored = members
	r.stats.players.Store(int64(len(members)))
	return nil
}

// announceRestored tells Host.Token and Host.Seat of the restored members, from
// the room's goroutine as for any other member. A seat the shared count
// refuses is not counted against its address at all, so that freeing it
// later does not free another's.
func (r *Room) announceRestored() {
	for _, m := range r.restored {
		r.cfg.Host.Token(m.tokenHash, true)
		if m.addr != "" && !r.cfg.Host.Seat(m.addr, true) {
			if r.seats[m.addr]--; r.seats[m.addr] <= 0 {
				delete(r.seats, m.addr)
			}
			m.addr = ""
		}
	}
	r.restored = nil
}

// ErrRoomExists is returned by Manager.Import for a room name already live.
var ErrRoomExists = errors.New("room: a room of that name is already live")

// ErrNoRoom is returned by Manager.Export for a room that is not live.
var ErrNoRoom = errors.New("room: no such room")

// Export returns the document of the live room name (see Room.Export).
// The room goes on running: whoever moves it stops it once the copy runs.
func (m *Manager) Export(ctx context.Context, name string) ([]byte, error) {
	r, err := m.live(name)
	if err != nil {
		return nil, err
	}
	return r.Export(ctx)
}

// Move moves the live room name elsewhere (see Room.Move).
func (m *Manager) Move(ctx context.Context, name string, to func(doc []byte) (*ElsewhereError, error)) error {
	r, err := m.live(name)
	if err != nil {
		return err
	}
	return r.Move(ctx, to)
}

// live returns the live room name, or ErrNoRoom.
func (m *Manager) live(name string) (*Room, error) {
	m.mu.Lock()
	r, ok := m.rooms[name]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoRoom, name)
	}
	return r, nil
}

// Import restores a room Export wrote (see Restore) under the manager, with
// the manager's settings, and runs it. Its members' tokens resume through
// Join at once, by room name or by token alone. The manager's player-ID
// counter moves past the restored IDs, so that no new player gets one; a
// player of another room of this manager may already hold one of them,
// which nothing in a room or session relies on, as players are found by
// room and ID. A live name is refused (ErrRoomExists), as is a new room
// beyond MaxRooms.
func (m *Manager) Import(doc []byte) (*Room, error) {
	name, mode, err := m.docHead(doc)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return nil, ErrShutdown
	}
	if _, ok := m.rooms[name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrRoomExists, name)
	}
	if err := m.mayCreate(name, "", true); err != nil {
		return nil, err
	}
	// A moved room's document is the room as it stood when it moved, not
	// an older checkpoint: no recorded resume is newer than its tokens.
	return m.restoreMode(name, mode, doc, nil)
}

// docHead reads which room and mode a document is of.
func (m *Manager) docHead(doc []byte) (string, game.Mode, error) {
	var head struct {
		Room string `json:"room"`
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return "", game.Mode{}, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	if head.Mode == "" {
		return "", game.Mode{}, fmt.Errorf("%w: no mode", ErrBadDocument)
	}
	mode, err := m.Mode(head.Mode)
	if err != nil {
		return "", game.Mode{}, fmt.Errorf("%w: %w", ErrBadDocument, err)
	}
	return head.Room, mode, nil
}

// restore runs the room name from doc, a checkpoint, of the mode the
// document says, its members' token hashes moved forward (see
// Manager.followResumes). The caller holds m.mu and has checked that no
// room of that name is live.
func (m *Manager) restore(name string, doc []byte, forward map[string]string) (*Room, error) {
	_, mode, err := m.docHead(doc)
	if err != nil {
		return nil, err
	}
	return m.restoreMode(name, mode, doc, forward)
}

func (m *Manager) restoreMode(name string, mode game.Mode, doc []byte, forward map[string]string) (*Room, error) {
	h := &roomHost{m: m}
	cfg := m.roomConfig(name, mode, game.Options{}, h)
	cfg.TickRate = 0 // the document's
	r, err := restoreForward(cfg, doc, forward)
	if err != nil {
		return nil, err
	}
	h.r = r
	for _, mb := range r.members {
		m.tokens[mb.tokenHash] = r
		raise(&m.nextID, uint32(mb.id))
	}
	m.start(r)
	m.cfg.Logger.Info("room restored", "room", r.Name(), "mode", mode.Name, "members", len(r.members))
	return r, nil
}

// raise sets c to v if v is larger, without losing a concurrent Add.
func raise(c *atomic.Uint32, v uint32) {
	for cur := c.Load(); v > cur && !c.CompareAndSwap(cur, v); cur = c.Load() {
	}
}
