package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lesismal/nbio"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	"github.com/lesismal/nbio/nbhttp/websocket"
)

// Probe timing, as in the Colyseus anchor's driver: a move every 300–700 ms,
// given up as lost after 2 s without a state that shows it.
const (
	probeMinGap  = 300 * time.Millisecond
	probeGapSpan = 400 * time.Millisecond
	probeLostAge = 2 * time.Second
)

// joinTimeout bounds each of the two waits of a player that connects: for
// the answer to its handshake, and then for its join message.
const joinTimeout = 30 * time.Second

var (
	errHandshakeTimeout = fmt.Errorf("no handshake answer in %v: %w", joinTimeout, os.ErrDeadlineExceeded)
	errJoinTimeout      = fmt.Errorf("no join message in %v: %w", joinTimeout, os.ErrDeadlineExceeded)
)

// Close codes of RFC 6455, 7.4.1.
const (
	closeNormal   = 1000
	closeNoStatus = 1005 // stands for a close frame without a code
	closeAbnormal = 1006 // stands for a close without a close frame
)

// writeBufferLimit bounds what a connection may have written that its
// socket has not taken yet. Writes never block: what the socket does not
// take waits in nbio's buffer, and a server that stopped reading would let
// that grow without end. Past this much (at 20 moves a second, many
// minutes' worth) the connection is closed: "write overflow".
const writeBufferLimit = 1 << 20

func init() {
	// nbio logs to stdout, where arena-bench writes its results, and
	// tells of every engine it starts. Only its errors are news.
	logging.Output = os.Stderr
	logging.SetLevel(logging.LevelError)
}

// player is one simulated player. Its connection's callbacks (on one of
// the engine's pollers) read; its sender (a schedule slot, or its own
// goroutine for a probe) writes.
type player struct {
	idx    int
	room   string
	probe  bool
	moving bool      // not idle: one of Config.Moving of the players
	dir    Direction // Hold and Walk: the key held; owned by the sender
	seq    uint32    // a Stateful protocol's last input number; owned by the sender
	ticks  int       // a Stateful player's ticks since it started moving; owned by the sender
	slot   *slot     // the schedule slot it sends in once it has joined
	seed   uint64    // a probe's random timing

	cli    atomic.Pointer[nbhttp.ClientConn] // until the handshake is answered
	conn   atomic.Pointer[websocket.Conn]    // once it is
	timer  *time.Timer                       // the handshake's, then the join's timeout
	joined atomic.Bool
	closed atomic.Bool
	states atomic.Uint64 // state messages received
	bytes  atomic.Uint64 // payload bytes received, all messages

	sentClose  atomic.Bool                          // the generator's closing handshake has begun
	closeFrame atomic.Pointer[websocket.CloseError] // the server's close frame, if one came

	// A probe's measurement, shared by its callbacks and its sender.
	mu      sync.Mutex
	self    Self
	havePos bool
	x, y    int
	pending bool
	pendDir Direction
	pendAt  time.Time
	lat     []time.Duration
	lost    int
}

type slot struct {
	mu      sync.Mutex
	players []*player
}

type move struct {
	typ     websocket.MessageType
	payload []byte
}

type runner struct {
	cfg      Config
	proto    Protocol
	stateful Stateful // proto, if it holds keys as state; else nil
	peek     int      // proto.PeekLen()
	start    time.Time

	// One engine, its pollers reading every connection: no goroutine per
	// player.
	engine       *nbhttp.Engine
	ws           *websocket.Options
	netDialer    net.Dialer
	subprotocols []string
	moves        [4]move

	players []*player
	slots   []*slot

	// live counts the players from the start of their connection attempt
	// until it failed or their connection is gone.
	live sync.WaitGroup

	// senders are the schedule slots and the probes' goroutines. Once
	// sendersDone, no more start.
	sendersMu   sync.Mutex
	sendersDone bool
	senders     sync.WaitGroup

	// ctx is done when the run stops; callbacks start probes' senders
	// with it.
	ctx       context.Context
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
		cfg:        cfg,
		proto:      cfg.Protocol,
		peek:       cfg.Protocol.PeekLen(),
		netDialer:  net.Dialer{Timeout: joinTimeout},
		reasons:    map[string]int{},
		errReasons: map[string]int{},
	}
	if cfg.LocalAddr != "" {
		r.netDialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(cfg.LocalAddr)}
	}
	if st, ok := cfg.Protocol.(Stateful); ok {
		r.stateful = st
		r.subprotocols = st.Subprotocols()
	}
	for d := range r.moves {
		typ, payload := r.proto.Move(Direction(d))
		r.moves[d] = move{websocket.MessageType(typ), payload}
	}

	inline := func(f func()) { f() }
	r.engine = nbhttp.NewEngine(nbhttp.Config{
		Name: "arena-bench",
		// A poller sleeps in epoll_wait whenever it has caught up, and
		// each wakeup costs more than the reads it brings: on the 2-core
		// box, for 2,000 native players, one poller used about 14% less
		// CPU per update than a goroutine per player did, and two used
		// about 7% more. Half the CPUs, then: the other half is the
		// server's, which shares the machine.
		NPoller: max(1, runtime.GOMAXPROCS(0)/2),
		// Callbacks run on the poller that read the message, in order;
		// they are short and never block, so a goroutine pool between
		// would only add hand-offs.
		ServerExecutor:     inline,
		ClientExecutor:     inline,
		MaxWriteBufferSize: writeBufferLimit,
	})
	// Players do not look inside text beyond their own entry; checking
	// that every state is valid UTF-8 would be a pass over every byte.
	r.engine.CheckUtf8 = func([]byte) bool { return true }
	r.ws = websocket.NewOptions()
	r.ws.Engine = r.engine
	r.ws.KeepaliveTime = 0      // no read deadline once joined, as before
	r.ws.MessageLengthLimit = 0 // no limit on what the server sends
	r.ws.EnableCompression(cfg.Compress)
	r.ws.OnMessagePtr(r.onMessage)
	r.ws.SetCloseHandler(r.onCloseFrame)
	r.ws.OnClose(r.onClose)
	if err := r.engine.Start(); err != nil {
		return nil, fmt.Errorf("loadgen: start engine: %w", err)
	}
	defer r.engine.Stop()
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
	r.ctx = ctx
	r.start = time.Now()

	if cfg.Behaviour != Idle {
		for i, s := range r.slots {
			phase := cfg.MoveInterval * time.Duration(i) / time.Duration(nslots)
			seed := rng.Uint64()
			r.senders.Go(func() { r.sendLoop(ctx, s, phase, seed) })
		}
	}
	for _, p := range r.players {
		p.slot = r.slots[rng.IntN(nslots)]
		p.seed = rng.Uint64()
	}
	// One goroutine starts the connections on the ramp's schedule; each
	// dial has a goroutine only until its request is sent.
	rampDone := make(chan struct{})
	go func() {
		defer close(rampDone)
		for i, p := range r.players {
			if !sleepUntil(ctx, r.start.Add(cfg.Ramp*time.Duration(i)/time.Duration(cfg.Players))) {
				return
			}
			r.live.Add(1)
			go r.connect(ctx, p)
		}
	}()

	res, err := r.measure(ctx)

	// Stop: no more connections or moves, then a close frame to every
	// connection, a moment for the servers' answers, and the sockets
	// closed.
	r.stopping.Store(true)
	cancel()
	<-rampDone
	r.sendersMu.Lock()
	r.sendersDone = true
	r.sendersMu.Unlock()
	r.senders.Wait()
	for _, p := range r.players {
		if c := p.conn.Load(); c != nil {
			p.sentClose.Store(true)
			_ = c.WriteClose(closeNormal, "load test done")
		}
	}
	if !waitTimeout(&r.live, 2*time.Second) {
		for _, p := range r.players {
			if c := p.conn.Load(); c != nil {
				_ = c.Close()
			} else if cli := p.cli.Load(); cli != nil {
				cli.CloseWithError(net.ErrClosed)
			}
		}
		r.live.Wait()
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

// connect sends p's handshake. It returns once the request is sent; the
// answer, and everything after it, comes to the engine's callbacks.
func (r *runner) connect(ctx context.Context, p *player) {
	url, err := r.proto.URL(r.cfg.URL, p.room)
	if err != nil {
		r.connError(err)
		r.live.Done()
		return
	}
	req, key, err := upgradeRequest(url, r.subprotocols, r.cfg.Compress)
	if err != nil {
		r.connError(err)
		r.live.Done()
		return
	}
	cli := &nbhttp.ClientConn{
		Engine: r.engine,
		Dial: func(network, addr string) (net.Conn, error) {
			return r.netDialer.DialContext(ctx, network, addr)
		},
	}
	p.cli.Store(cli)
	p.timer = time.AfterFunc(joinTimeout, func() { r.timedOut(p) })
	// The handler runs once: with the server's answer, or with why there
	// is none.
	cli.Do(req, func(res *http.Response, conn net.Conn, err error) {
		if !p.timer.Stop() && err == nil {
			err = errHandshakeTimeout // the timer is closing the connection
		}
		if err == nil && r.stopping.Load() {
			err = net.ErrClosed // too late: the run is over
		}
		var ws *websocket.Conn
		if err == nil {
			ws, err = upgrade(r.ws, key, res, conn, p)
		}
		if err != nil {
			if conn != nil {
				abandon(conn)
			}
			if !r.stopping.Load() {
				r.connError(err)
			}
			r.live.Done()
			return
		}
		p.conn.Store(ws)
		p.timer.Reset(joinTimeout)
	})
}

// timedOut ends p's connection attempt when its handshake or its join
// takes too long.
func (r *runner) timedOut(p *player) {
	if c := p.conn.Load(); c != nil {
		c.CloseWithError(errJoinTimeout)
		return
	}
	p.cli.Load().CloseWithError(errHandshakeTimeout)
}

// onMessage handles a message from the server, on the poller that read it.
func (r *runner) onMessage(c *websocket.Conn, _ websocket.MessageType, pmsg *[]byte) {
	// The engine does not recycle a client's message buffers itself.
	defer r.engine.BodyAllocator.Free(pmsg)
	p := c.Session().(*player)
	msg := *pmsg
	p.bytes.Add(uint64(len(msg)))
	switch r.proto.Classify(msg[:min(len(msg), r.peek)]) {
	case KindState:
		p.states.Add(1)
		switch {
		case !p.joined.Load():
		case p.probe:
			r.probeSaw(p, msg, time.Now())
		case r.stateful != nil && !p.havePosition():
			// A stateful protocol's player decodes states until the first
			// has told it where it is.
			p.mu.Lock()
			if p.self != nil {
				p.x, p.y, p.havePos = p.self.Position(msg)
			}
			p.mu.Unlock()
		}
	case KindJoined:
		if p.joined.Load() {
			return
		}
		if p.probe || r.stateful != nil {
			self, err := r.proto.Joined(msg)
			if err != nil {
				c.CloseWithError(err)
				return
			}
			p.mu.Lock()
			p.self = self
			p.mu.Unlock()
		}
		if !p.timer.Stop() {
			return // too late: the timer is closing the connection
		}
		p.joined.Store(true)
		r.joined.Add(1)
		r.sendersMu.Lock()
		defer r.sendersMu.Unlock()
		switch {
		case r.sendersDone:
		case p.probe:
			r.senders.Go(func() { r.probeLoop(r.ctx, p) })
		case r.cfg.Behaviour != Idle && p.moving:
			p.slot.mu.Lock()
			p.slot.players = append(p.slot.players, p)
			p.slot.mu.Unlock()
		}
	}
}

// onCloseFrame notes the server's close frame and answers it, unless it is
// the answer to the generator's own.
func (r *runner) onCloseFrame(c *websocket.Conn, code int, text string) {
	p := c.Session().(*player)
	p.closeFrame.Store(&websocket.CloseError{Code: code, Reason: text})
	if p.sentClose.Load() {
		return
	}
	var payload []byte
	if code != closeNoStatus {
		payload = binary.BigEndian.AppendUint16(nil, uint16(code))
	}
	_ = c.WriteMessage(websocket.CloseMessage, payload)
}

// onClose counts why p's connection ended.
func (r *runner) onClose(c *websocket.Conn, err error) {
	p := c.Session().(*player)
	p.timer.Stop()
	if ce := p.closeFrame.Load(); ce != nil {
		err = ce
	} else if errors.Is(err, io.EOF) {
		// Closed without a close frame: RFC 6455's 1006, as gorilla's
		// clients reported it, so that results compare.
		err = &websocket.CloseError{Code: closeAbnormal, Reason: io.ErrUnexpectedEOF.Error()}
	}
	p.closed.Store(true)
	switch {
	case r.stopping.Load():
	case !p.joined.Load():
		r.connError(err)
	default:
		r.closes.Add(1)
		r.count(r.reasons, closeReason(err))
	}
	r.live.Done()
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
		if ce.Reason != "" {
			s += " " + ce.Reason
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
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, nbio.ErrReadTimeout), errors.Is(err, nbio.ErrWriteTimeout):
		return "timeout"
	case errors.Is(err, websocket.ErrBadHandshake):
		return "bad handshake"
	case errors.Is(err, websocket.ErrInvalidCloseCode):
		// nbio v1.6.8 refuses the registered codes 1012 to 1014 (service
		// restart, try again later, bad gateway) and keeps neither code
		// nor text. arena closes with 1013 when a room or the box is full.
		return "close 1012-1014 (nbio keeps no code)"
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
func (r *runner) probeLoop(ctx context.Context, p *player) {
	rng := rand.New(rand.NewPCG(p.seed, uint64(p.idx)))
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
		if r.stateful != nil {
			// A tap: press and release, applied on consecutive ticks.
			if r.sendInput(p, d, true) != nil || r.sendInput(p, d, false) != nil {
				return
			}
			continue
		}
		if err := conn.WriteMessage(r.moves[d].typ, r.moves[d].payload); err != nil {
			return // the connection closes and its callback counts why
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
			m := r.moves[p.dir]
			if err := p.conn.Load().WriteMessage(m.typ, m.payload); err != nil {
				p.closed.Store(true) // the connection closes and its callback counts why
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
		p.closed.Store(true) // the connection closes and its callback counts why
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
	return p.conn.Load().WriteMessage(websocket.MessageType(typ), payload)
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
