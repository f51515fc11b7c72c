package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// Probe timing, as in the Colyseus anchor's driver: a move every 300–700 ms,
// given up as lost after 2 s without a state that shows it.
const (
	probeMinGap  = 300 * time.Millisecond
	probeGapSpan = 400 * time.Millisecond
	probeLostAge = 2 * time.Second
)

// joinTimeout bounds how long a player waits for its join message after the
// handshake.
const joinTimeout = 30 * time.Second

// writeTimeout bounds a move's write. It is long: a gorilla connection whose
// write times out is broken for good (its next pong fails too), so it must
// mean that the server stopped reading, not that this process was
// descheduled for a moment on a busy machine.
const writeTimeout = 10 * time.Second

// readBufSize is the size of the pooled buffers players drain messages
// into. Reads this large go straight from the socket into the buffer.
const readBufSize = 64 << 10

// player is one simulated player. Its reader goroutine owns the read side
// of conn; its sender (a schedule slot, or its own goroutine for a probe)
// owns the write side.
type player struct {
	idx    int
	room   string
	probe  bool
	moving bool      // not idle: one of Config.Moving of the players
	dir    Direction // Hold and Walk: the key held; owned by the sender
	seq    uint32    // a Stateful protocol's last input number; owned by the sender
	ticks  int       // a Stateful player's ticks since it started moving; owned by the sender

	conn   atomic.Pointer[websocket.Conn]
	joined atomic.Bool
	closed atomic.Bool
	states atomic.Uint64 // state messages received
	bytes  atomic.Uint64 // payload bytes received, all messages

	// A probe's measurement, shared by its reader and its sender.
	mu      sync.Mutex
	self    Self
	havePos bool
	x, y    int
	pending bool
	pendDir Direction
	pendAt  time.Time
	lat     []time.Duration
	lost    int
	buf     []byte // the whole current message
}

type slot struct {
	mu      sync.Mutex
	players []*player
}

type runner struct {
	cfg      Config
	proto    Protocol
	stateful Stateful // proto, if it holds keys as state; else nil
	start    time.Time

	dialer websocket.Dialer
	moves  [4]*websocket.PreparedMessage
	pool   sync.Pool

	players []*player
	slots   []*slot

	measuring atomic.Bool
	stopping  atomic.Bool

	joined     atomic.Int64
	connErrors atomic.Int64
	closes     atomic.Int64
	lateSends  atomic.Uint64

	mu         sync.Mutex
	reasons    map[string]int // unexpected closes by reason
	errReasons map[string]int // connection errors by reason
}

// Run connects cfg.Players players, lets them play through the ramp and the
// warm-up, measures for cfg.Duration, disconnects them and reports. It
// returns early, with an error, if ctx is done first.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	r := &runner{
		cfg:   cfg,
		proto: cfg.Protocol,
		dialer: websocket.Dialer{
			HandshakeTimeout: joinTimeout,
			ReadBufferSize:   4096,
			WriteBufferSize:  512,
			// No Proxy: load stays on the address given.
			EnableCompression: cfg.Compress,
		},
		reasons:    map[string]int{},
		errReasons: map[string]int{},
	}
	if cfg.LocalAddr != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(cfg.LocalAddr)}}
		r.dialer.NetDialContext = d.DialContext
	}
	if st, ok := cfg.Protocol.(Stateful); ok {
		r.stateful = st
		r.dialer.Subprotocols = st.Subprotocols()
	}
	r.pool.New = func() any { b := make([]byte, readBufSize); return &b }
	for d := range r.moves {
		typ, payload := r.proto.Move(Direction(d))
		pm, err := websocket.NewPreparedMessage(typ, payload)
		if err != nil {
			return nil, fmt.Errorf("loadgen: prepare move: %w", err)
		}
		r.moves[d] = pm
	}
	return r.run(ctx)
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	cfg := &r.cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d))

	// One schedule slot per millisecond of the move interval: a holding
	// player sends at start + phase + k·interval, and players that share
	// a phase share a goroutine and a timer.
	nslots := max(1, min(cfg.Players, int(cfg.MoveInterval/time.Millisecond)))
	r.slots = make([]*slot, nslots)
	for i := range r.slots {
		r.slots[i] = &slot{}
	}
	r.players = make([]*player, cfg.Players)
	for i := range r.players {
		r.players[i] = &player{
			idx:    i,
			room:   cfg.roomName(i),
			probe:  i < cfg.Probes,
			moving: rng.Float64() < cfg.Moving,
			dir:    Direction(rng.IntN(4)),
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.start = time.Now()

	var senders sync.WaitGroup
	if cfg.Behaviour != Idle {
		for i, s := range r.slots {
			phase := cfg.MoveInterval * time.Duration(i) / time.Duration(nslots)
			seed := rng.Uint64()
			senders.Go(func() { r.sendLoop(ctx, s, phase, seed) })
		}
	}
	var readers sync.WaitGroup
	for i, p := range r.players {
		at := r.start.Add(cfg.Ramp * time.Duration(i) / time.Duration(cfg.Players))
		slotIdx := rng.IntN(nslots)
		seed := rng.Uint64()
		readers.Go(func() { r.playerLoop(ctx, p, at, r.slots[slotIdx], seed, &senders) })
	}

	progressDone := make(chan struct{})
	var res *Result
	var err error
	go func() {
		defer close(progressDone)
		res, err = r.measure(ctx)
	}()
	<-progressDone

	// Stop: no more moves, then a close frame to every connection, a moment
	// for the servers' answers, and the sockets closed.
	r.stopping.Store(true)
	cancel()
	senders.Wait()
	deadline := time.Now().Add(time.Second)
	for _, p := range r.players {
		if c := p.conn.Load(); c != nil {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "load test done"), deadline)
		}
	}
	if !waitTimeout(&readers, 2*time.Second) {
		for _, p := range r.players {
			if c := p.conn.Load(); c != nil {
				_ = c.NetConn().Close()
			}
		}
		readers.Wait()
	}
	return res, err
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// playerLoop connects p at time at, then reads until the connection ends.
func (r *runner) playerLoop(ctx context.Context, p *player, at time.Time, s *slot, seed uint64, senders *sync.WaitGroup) {
	if !sleepUntil(ctx, at) {
		return
	}
	url, err := r.proto.URL(r.cfg.URL, p.room)
	if err != nil {
		r.connError(err)
		return
	}
	conn, resp, err := r.dialer.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if !r.stopping.Load() {
			r.connError(err)
		}
		return
	}
	p.conn.Store(conn)
	if r.stopping.Load() { // raced with the end of the run
		_ = conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(joinTimeout))
	err = r.readLoop(p, func() {
		_ = conn.SetReadDeadline(time.Time{})
		r.joined.Add(1)
		switch {
		case p.probe:
			senders.Go(func() { r.probeLoop(ctx, p, seed) })
		case r.cfg.Behaviour != Idle && p.moving:
			s.mu.Lock()
			s.players = append(s.players, p)
			s.mu.Unlock()
		}
	})
	p.closed.Store(true)
	switch {
	case r.stopping.Load():
	case !p.joined.Load():
		r.connError(err)
	default:
		r.closes.Add(1)
		r.count(r.reasons, closeReason(err))
	}
	_ = conn.Close()
}

func (r *runner) connError(err error) {
	r.connErrors.Add(1)
	r.count(r.errReasons, closeReason(err))
}

func (r *runner) count(m map[string]int, reason string) {
	r.mu.Lock()
	m[reason]++
	r.mu.Unlock()
}

// closeReason names why a connection ended, briefly.
func closeReason(err error) string {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case err == nil:
		return "closed"
	case errors.As(err, &ce):
		s := "close " + strconv.Itoa(ce.Code)
		if ce.Text != "" {
			s += " " + ce.Text
		}
		return s
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "EOF without close frame"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		// Answering a ping on a connection the server had already dropped.
		return "broken pipe"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, websocket.ErrBadHandshake):
		return "bad handshake"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err // without the addresses, so that reasons add up
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// readLoop reads messages until the connection fails. joined runs once, on
// the player's join message.
func (r *runner) readLoop(p *player, joined func()) error {
	conn := p.conn.Load()
	peek := r.proto.PeekLen()
	for {
		_, rd, err := conn.NextReader()
		if err != nil {
			return err
		}
		var kind Kind
		var n int
		if p.probe || (r.stateful != nil && !p.havePosition()) {
			// Probes keep the whole message to find themselves in it, and
			// so do the players of a stateful protocol until their first
			// state has told them where they are.
			p.buf, err = readAll(rd, p.buf)
			n = len(p.buf)
			kind = r.proto.Classify(p.buf[:min(n, peek)])
		} else {
			n, kind, err = r.drain(rd, peek)
		}
		if err != nil {
			return err
		}
		p.bytes.Add(uint64(n))
		switch kind {
		case KindState:
			p.states.Add(1)
			if p.probe && p.joined.Load() {
				r.probeSaw(p, p.buf, time.Now())
			} else if r.stateful != nil && p.joined.Load() && !p.havePosition() {
				p.mu.Lock()
				if p.self != nil {
					p.x, p.y, p.havePos = p.self.Position(p.buf)
				}
				p.mu.Unlock()
			}
		case KindJoined:
			if p.joined.Load() {
				continue
			}
			if p.probe || r.stateful != nil {
				self, err := r.proto.Joined(p.buf)
				if err != nil {
					return err
				}
				p.mu.Lock()
				p.self = self
				p.mu.Unlock()
			}
			p.joined.Store(true)
			joined()
		}
	}
}

// drain reads one message into a pooled buffer, classifying it from its
// first bytes and counting the rest.
func (r *runner) drain(rd io.Reader, peek int) (n int, kind Kind, err error) {
	bp := r.pool.Get().(*[]byte)
	defer r.pool.Put(bp)
	buf := *bp
	n, err = io.ReadAtLeast(rd, buf, peek)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF: // shorter than peek
		return n, r.proto.Classify(buf[:n]), nil
	case err != nil:
		return n, KindOther, err
	}
	kind = r.proto.Classify(buf[:peek])
	for {
		m, err := rd.Read(buf)
		n += m
		if err == io.EOF {
			return n, kind, nil
		}
		if err != nil {
			return n, kind, err
		}
	}
}

// readAll reads a message into buf, growing it as needed.
func readAll(rd io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, max(4096, cap(buf)))
		}
		m, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (p *player) havePosition() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.havePos
}

// probeSaw records a probe's position in a state that arrived at now, and
// the latency of its pending move if this state is the first to show it.
func (r *runner) probeSaw(p *player, state []byte, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.self == nil {
		return
	}
	x, y, ok := p.self.Position(state)
	if !ok {
		return
	}
	if p.pending && p.havePos && (x != p.x || y != p.y) {
		if p.pendDir.Moved(p.x, p.y, x, y) && r.measuring.Load() {
			p.lat = append(p.lat, now.Sub(p.pendAt))
		}
		p.pending = false
	}
	p.x, p.y, p.havePos = x, y, true
}

// probeDirection picks a move that cannot push into a wall from anywhere a
// probe can be: probes start in [50, 450] and drift towards the middle.
// This is the Colyseus anchor driver's rule.
func probeDirection(x, y int) Direction {
	switch {
	case x > 300:
		return Left
	case y > 300:
		return Up
	case y < 200:
		return Down
	}
	return Right
}

// probeLoop sends a probe's moves, one every 300–700 ms, each once the
// previous one has shown (or been given up as lost).
func (r *runner) probeLoop(ctx context.Context, p *player, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(p.idx)))
	conn := p.conn.Load()
	for {
		gap := probeMinGap + time.Duration(rng.Int64N(int64(probeGapSpan)))
		if !sleepUntil(ctx, time.Now().Add(gap)) || p.closed.Load() {
			return
		}
		p.mu.Lock()
		if !p.havePos {
			p.mu.Unlock()
			continue
		}
		if p.pending {
			if time.Since(p.pendAt) <= probeLostAge {
				p.mu.Unlock()
				continue
			}
			if r.measuring.Load() {
				p.lost++
			}
		}
		d := probeDirection(p.x, p.y)
		p.pending, p.pendDir, p.pendAt = true, d, time.Now()
		p.mu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if r.stateful != nil {
			// A tap: press and release, applied on consecutive ticks.
			if r.sendInput(p, d, true) != nil || r.sendInput(p, d, false) != nil {
				return
			}
			continue
		}
		if err := conn.WritePreparedMessage(r.moves[d]); err != nil {
			return // the reader sees the connection end
		}
	}
}

// sendLoop sends the moves of the players in slot s at start + phase +
// k·MoveInterval.
func (r *runner) sendLoop(ctx context.Context, s *slot, phase time.Duration, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	interval := r.cfg.MoveInterval
	next := r.start.Add(phase)
	for {
		if !sleepUntil(ctx, next) {
			return
		}
		s.mu.Lock()
		players := s.players[:len(s.players):len(s.players)]
		s.mu.Unlock()
		for _, p := range players {
			if p.closed.Load() {
				continue
			}
			if r.stateful != nil {
				r.holdTick(p)
				continue
			}
			if r.cfg.Behaviour == Walk && rng.IntN(20) == 0 {
				p.dir = Direction(rng.IntN(4))
			}
			conn := p.conn.Load()
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := conn.WritePreparedMessage(r.moves[p.dir]); err != nil {
				p.closed.Store(true) // the reader sees the connection end
			}
		}
		next = next.Add(interval)
		if now := time.Now(); now.After(next) {
			// Fell behind: skip the sends that are already late rather
			// than bunch them up.
			late := now.Sub(next)/interval + 1
			r.lateSends.Add(uint64(late))
			next = next.Add(late * interval)
		}
	}
}

// turnTicks is how long a player of a stateful protocol holds a direction
// before it turns back: 10 ticks of 10 px, so a player that starts from its
// spawn point (in [50, 450]) towards the middle never reaches a wall.
const turnTicks = 10

// holdTick is one tick of a holding player of a stateful protocol: it
// presses a key once it knows where it is, and turns back every turnTicks
// ticks. In between it sends nothing: the server holds the key for it.
func (r *runner) holdTick(p *player) {
	if !p.havePosition() {
		return
	}
	switch {
	case p.ticks == 0:
		p.mu.Lock()
		p.dir = Right
		if p.x > 250 {
			p.dir = Left
		}
		p.mu.Unlock()
	case p.ticks%turnTicks == 0:
		p.dir ^= 1 // Left⇄Right, Up⇄Down
	default:
		p.ticks++
		return
	}
	p.ticks++
	if err := r.sendInput(p, p.dir, true); err != nil {
		p.closed.Store(true) // the reader sees the connection end
	}
}

// firing is a protocol whose players can hold fire and aim (Config.Fire).
type firing interface {
	FireInput(seq uint32, d Direction, aim int32) (messageType int, payload []byte)
}

// sendInput sends p's next numbered input.
func (r *runner) sendInput(p *player, d Direction, pressed bool) error {
	p.seq++
	typ, payload := r.stateful.Input(p.seq, d, pressed)
	if f, ok := r.stateful.(firing); ok && r.cfg.Fire && pressed && !p.probe {
		// A new aim at each turn, spread over the circle by a prime step.
		typ, payload = f.FireInput(p.seq, d, int32((p.seq*1151+uint32(p.idx)*577)%6283)-3141)
	}
	conn := p.conn.Load()
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return conn.WriteMessage(typ, payload)
}

// sleepUntil waits until t or ctx is done; it reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
