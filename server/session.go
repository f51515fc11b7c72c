package server

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// Close codes arena sends besides the standard ones.
const (
	// CloseTakenOver: another connection resumed this player. Clients
	// should not reconnect automatically after it.
	CloseTakenOver = 4001
	// CloseBanned: the player's account is banned. Final.
	CloseBanned = 4003
	// CloseSignedOut: the player's account signed out everywhere, or was
	// deleted. Final: sign in again.
	CloseSignedOut = 4004
)

// maxCloseText is the most text arena puts in a close frame, which holds
// 123 bytes of it.
const maxCloseText = 120

// closeGrace is how long a closing connection waits for the peer's close
// frame before the socket is torn down.
const closeGrace = time.Second

// session is one WebSocket connection: a reader goroutine that decodes,
// validates, rate-limits and forwards to the room, and a write side with no
// goroutine of its own. Whoever has something to send (the room, for states
// and events) writes it straight into the socket without blocking: the
// kernel takes what it can, and if it cannot take it all, a flusher
// goroutine starts and writes the rest, blocking, within WriteTimeout.
// Until it is done nothing more is written: the outbox keeps the newest
// state and the events. A writer goroutine per connection, woken 20 times
// a second, was a fifth of the server's CPU and a fifth of a player's
// memory; a flusher runs only for a socket that does not keep up.
type session struct {
	// What the session uses of its server: its settings, where it
	// counts, and its cluster. Read only, shared by every session.
	cfg     *Config
	metrics *metrics
	traffic *traffic
	cluster Cluster

	ws      *websocket.Conn
	raw     syscall.RawConn // nil for TLS, whose writes can only block
	deflate bool            // the client negotiated permessage-deflate
	codec   codec
	// The session's logger is built when something is logged, not kept:
	// thousands of sessions each holding loggers of their own were 600
	// bytes a player. mu guards who once joined.
	log *slog.Logger // the server's
	who []any        // conn, ip and protocol; then player and room

	// What a seed client's relay to another node of a cluster needs
	// (relay.go), unread by a server alone: the query it connected with,
	// its address, and the token of its resume message if it sent one;
	// and the node that relays this connection, if one does. A relay
	// keeps the relayed player's id and latest token (noteInit), to
	// follow its room.
	relayQuery, relayIP, relayedBy string
	relayPlayer, relayToken        string
	// relayAccess is the access token of the client's auth message, kept
	// from the auth message until a relay hands it on to the room's node,
	// which checks it itself, or the join ends.
	relayAccess string
	// account is the account the client signed in as (?auth=1), which
	// the server's index of sessions by account (CloseAccount) holds it
	// under; set before the join, under the server's mu.
	account string

	ctx    context.Context // canceled when the session is closing
	cancel context.CancelFunc

	room   *room.Room
	player game.PlayerID
	// watching: the client joined as a spectator (?spectate=1), and
	// plays no part.
	watching bool

	// flood is the client's message rate. Its frameConn charges it a
	// token a frame: a message of n frames costs n, and ping, pong and
	// close frames cost one each.
	flood *rate.Limiter
	// readBuf holds the client's latest message. It starts empty and
	// grows only as large as the client's messages: most send inputs of a
	// few bytes, and thousands of idle 4 KiB buffers are memory a box can
	// use for players.
	readBuf bytes.Buffer
	limited io.LimitedReader
	// game messages from the client, one limiter per message type of the
	// room's mode; set once joined, before the read loop starts
	gameMsgs []*rate.Limiter
	answers  *rate.Limiter // error answers to the client

	// self is what the timers hold, cleared as the session ends: the
	// runtime may keep a stopped timer until the time it was set for, and
	// a session holds its room. It is allocated apart: a pointer into the
	// session would hold all of it.
	self *sessionRef
	// flusher is the goroutine writing what the kernel did not take.
	flusher sync.WaitGroup

	mu       sync.Mutex // the write side, all below
	out      *outbox
	b        batch
	sink     sink
	delay    *delayLine
	frame    []byte // the frame being written
	pending  []byte // bytes the kernel has not taken yet, for the flusher
	flushing bool   // the flusher runs: nothing is written inline
	nextPing time.Time
	// pinger pings when no states flow to carry the pings; set once the
	// player has joined, when pings begin.
	pinger    *time.Timer
	closing   bool // a reason is set; only the close frame may follow
	closeSent bool
	reason    closeReason
}

var _ room.Client = (*session)(nil)

// sessionRef points to a session until it ends.
type sessionRef struct{ atomic.Pointer[session] }

// do returns a func that calls f on the session, if it has not ended.
func (r *sessionRef) do(f func(*session)) func() {
	return func() {
		if s := r.Load(); s != nil {
			f(s)
		}
	}
}

func newSession(srv *Server, ws *websocket.Conn, c codec, who []any, deflate bool) *session {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := &srv.cfg
	s := &session{
		cfg:     cfg,
		metrics: srv.metrics,
		traffic: &srv.traffic,
		cluster: srv.cluster,
		ws:      ws,
		deflate: deflate,
		codec:   c,
		out:     newOutbox(cfg.MaxQueuedEvents),
		log:     srv.log,
		who:     who,
		ctx:     ctx,
		cancel:  cancel,
		flood:   rate.NewLimiter(rate.Limit(cfg.MessageRate), cfg.MessageBurst),
		answers: rate.NewLimiter(rate.Limit(cfg.ErrorRate), cfg.ErrorBurst),
		self:    new(sessionRef),
	}
	s.self.Store(s)
	if fc, ok := ws.NetConn().(*frameConn); ok {
		fc.flood = s.flood
	}
	if sc, ok := ws.NetConn().(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw = raw
		}
	}
	s.sink = frameSink{s}
	if cfg.SendDelay > 0 || cfg.SendJitter > 0 {
		s.delay = newDelayLine(s, cfg.SendDelay, cfg.SendJitter)
		s.sink = s.delay
	}
	s.handleControlFrames()
	return s
}

// State implements room.Client.
func (s *session) State(st room.State) {
	s.mu.Lock()
	s.out.offerState(st)
	s.flushLocked()
	s.mu.Unlock()
}

// Event implements room.Client.
func (s *session) Event(e room.Event) { s.send(e) }

// send queues an event and writes what it can.
func (s *session) send(e any) {
	s.mu.Lock()
	if !s.out.push(e) {
		s.closeLocked(reasonSlow.wire())
	} else {
		s.flushLocked()
	}
	s.mu.Unlock()
}

// Close implements room.Client.
func (s *session) Close(reason error) {
	var moved *room.ElsewhereError
	if errors.As(reason, &moved) {
		s.moveTo(moved)
		return
	}
	s.close(reasonFor(reason))
}

// moveTo tells the client that its room now runs on another node: where,
// if its protocol can follow (the client resumes there with its token);
// else a service restart, after which it reconnects as a new player.
func (s *session) moveTo(to *room.ElsewhereError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	if !s.codec.redirects() {
		// A connection another node relays is told where the room went,
		// for that node to resume the player there (relay.go).
		if s.relayedBy != "" && to.Node != "" && len(to.Node) <= maxCloseText {
			s.closeLocked(closeReason{reasonMoved, closeRelayMoved, to.Node})
		} else {
			s.closeLocked(reasonMoved.wire())
		}
		return
	}
	_, _ = s.codec.writeEvent(s.sink, redirectTo{url: to.URL, room: to.Room})
	// After a redirect, which the client follows: a normal close.
	s.closeLocked(closeReason{reasonMoved, websocket.CloseNormalClosure, "the room moved to another node"})
}

// close starts closing the connection; the first reason wins. It sends the
// close frame, after anything still unsent, and gives the peer closeGrace
// to answer. It never blocks: the room calls it from its own goroutine (a
// takeover, a room closing), and Shutdown for every session at once.
func (s *session) close(r closeReason) {
	s.mu.Lock()
	s.closeLocked(r)
	s.mu.Unlock()
}

func (s *session) closeLocked(r closeReason) {
	if s.closing {
		return
	}
	s.closing, s.reason = true, r
	s.cancel()
	if s.pinger != nil {
		s.pinger.Stop()
	}
	deadline := time.Now().Add(closeGrace)
	// On the net.Conn, not gorilla's Conn: both are safe from any
	// goroutine there, and this one also cuts a flusher's write short.
	_ = s.ws.NetConn().SetWriteDeadline(deadline)
	_ = s.ws.SetReadDeadline(deadline)
	if r.code == 0 || (r.why == reasonSlow && s.flushing) {
		// Nothing to say, or no way to say it: the socket is broken,
		// or full. The reader sees it closed.
		_ = s.ws.NetConn().Close()
		return
	}
	s.flushFinalLocked()
	s.sendCloseLocked()
}

// sendCloseLocked writes the close frame of the session's reason, once.
func (s *session) sendCloseLocked() {
	if s.closeSent || s.reason.code == 0 {
		return
	}
	s.closeSent = true
	payload := make([]byte, 2, 2+len(s.reason.text))
	payload[0], payload[1] = byte(s.reason.code>>8), byte(s.reason.code)
	payload = append(payload, s.reason.text...)
	if err := s.writeFrame(websocket.CloseMessage, payload); err != nil {
		_ = s.ws.NetConn().Close()
	}
}

// handleControlFrames answers pings as every message is written: without
// blocking the reader on a client that does not read. Only the newest
// unanswered ping needs an answer (RFC 6455). Control frames count toward
// the message rate in the frameConn, like every frame.
func (s *session) handleControlFrames() {
	s.ws.SetPingHandler(func(data string) error {
		s.mu.Lock()
		s.out.answerPing(data)
		s.flushLocked()
		s.mu.Unlock()
		return nil
	})
	// Gorilla's close handler echoes the peer's close frame itself;
	// readFailed leaves that to the session's close.
	s.ws.SetCloseHandler(func(int, string) error { return nil })
	s.ws.SetPongHandler(func(string) error {
		s.mu.Lock()
		if !s.closing {
			_ = s.ws.SetReadDeadline(time.Now().Add(s.cfg.PongTimeout))
		}
		s.mu.Unlock()
		return nil
	})
}

// join seats the player in a room, and reports whether it did; play then
// runs the session. req is the join as the query and the first message
// made it.
func (s *session) join(join func(room.JoinRequest) (*room.Room, room.Joined, error), req room.JoinRequest) (*room.Room, room.Joined, bool) {
	// The access token goes no further than a relay, which is decided by
	// now: the join has been made elsewhere, or it is made here.
	defer func() { s.relayAccess = "" }()
	if s.isClosing() {
		return nil, room.Joined{}, false // closed while it signed in (CloseAccount): no seat to take
	}
	req.Client = s
	r, joined, err := join(req)
	if err != nil {
		s.refuse(err)
		return nil, room.Joined{}, false
	}
	s.room, s.player = r, joined.Player
	for _, t := range r.Messages() {
		_, perSecond, burst := t.Limits()
		s.gameMsgs = append(s.gameMsgs, rate.NewLimiter(rate.Limit(perSecond), burst))
	}
	s.mu.Lock()
	if s.watching {
		s.who = append(s.who, "spectator", true, "room", r.Name())
	} else {
		s.who = append(s.who, "player", joined.Player, "room", r.Name())
	}
	s.logLocked(slog.LevelDebug, "joined", "resumed", joined.Resumed)
	if !s.closing {
		s.nextPing = time.Now().Add(s.cfg.PingInterval)
		s.pinger = time.AfterFunc(s.pingFallback(), s.self.do((*session).pingIdle))
	}
	s.mu.Unlock()
	return r, joined, true
}

// play reads the player's messages until the connection ends, and takes
// the player out of its room. It runs on a goroutine of its own, started
// after the join: a player spends its whole connection parked in play's
// read, and a goroutine that never went deeper than that keeps a small
// stack, where the one that upgraded and joined kept 8 KiB.
func (s *session) play(r *room.Room, joined room.Joined) {
	s.readLoop()
	s.close(reasonNetwork.wire())
	// A player who left, or whose account was banned or signed out,
	// leaves for good: no resume.
	why := s.reason.why
	r.Leave(joined.Player, s, why == reasonLeft || why == reasonBanned || why == reasonSignedOut)
	s.metrics.disconnects.WithLabelValues(s.reason.label()).Inc()
	s.mu.Lock()
	s.logLocked(slog.LevelDebug, "disconnected", "reason", s.reason.label, "code", s.reason.code)
	s.mu.Unlock()
}

// end waits for what the session started and lets go of it, once the
// reader is done.
func (s *session) end() {
	s.cancel()
	// The reader is done: wait out the peer's answer to our close frame
	// (closeGrace at most), then close, which also stops a flusher.
	s.mu.Lock()
	sent := s.closeSent
	s.mu.Unlock()
	if sent {
		s.drain()
	}
	// A flusher still writing (the close frame, say) is cut short by
	// close's deadline.
	s.flusher.Wait()
	_ = s.ws.NetConn().Close()
	if s.pinger != nil {
		s.pinger.Stop()
	}
	if s.delay != nil {
		s.delay.stop()
	}
	s.self.Store(nil)
}

// drain reads until the peer answers the close frame or closeGrace ends.
func (s *session) drain() {
	for {
		if _, _, err := s.ws.NextReader(); err != nil {
			return
		}
	}
}

// Pings ride along with states: once one is due, it goes out with the
// next state, in the same wakeup. A ping on a timer of its own woke the
// process at a random moment twice a second per 4 clients (the ping, then
// its pong) and cost 500 players about 3.5% of a core, more than a sixth of
// all the server did. The timer stays as a fallback for when no states
// flow.
func (s *session) pingFallback() time.Duration {
	return s.cfg.PingInterval + s.cfg.PingInterval/4
}

func (s *session) pingIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	if wait := time.Until(s.nextPing); wait > 0 {
		// A state carried the ping while this timer fired.
		s.pinger.Reset(wait + s.cfg.PingInterval/4)
		return
	}
	s.flushLocked()
}

// gameMessage checks a game message against the room's mode and its
// type's rate, and queues it for the game.
func (s *session) gameMessage(msg *protocol.ClientMessage) {
	types := s.room.Messages()
	i, perr := protocol.CheckMessage(msg, types)
	if perr == nil && !s.gameMsgs[i].Allow() {
		perr = &protocol.Error{Code: protocol.CodeRateLimited, Message: fmt.Sprintf("%s messages are limited to %g a second", types[i].Name, s.gameMsgs[i].Limit())}
	}
	if perr != nil {
		s.reject(perr)
		return
	}
	s.room.Message(s.player, s, game.Message{Type: types[i].Name, Data: msg.Data})
}

// refuse answers a join that failed, then closes.
func (s *session) refuse(err error) {
	var elsewhere *room.ElsewhereError
	if errors.As(err, &elsewhere) && !s.codec.redirects() && elsewhere.URL != "" && s.relay(elsewhere) {
		return // the client has played, relayed, in its room on that node
	}
	why, known := wsReason(err)
	text := ""
	var perr *protocol.Error
	var refused *room.RefusedError
	var redirect *redirectTo
	switch {
	case errors.As(err, &perr):
		why, text = reasonBadRequest, perr.Message
	case errors.As(err, &elsewhere) && s.codec.redirects() && elsewhere.URL != "":
		redirect = &redirectTo{url: elsewhere.URL, room: elsewhere.Room}
		if !s.watching { // a spectator takes no seat there either
			redirect.seat = s.cluster.reserve(s.ctx, elsewhere, s.relayIP)
		}
		why, text = reasonRedirect, "the room runs on another node: "+elsewhere.URL
	case errors.As(err, &elsewhere):
		why, text = reasonElsewhere, fmt.Sprintf("room %q runs on another node of this cluster, at %s: connect there", elsewhere.Room, cmp.Or(elsewhere.URL, "an address not yet known"))
	case errors.As(err, &refused) && errors.Is(err, game.ErrFull):
		// The game's own text: it knows why (its teams are full, say).
		why, text = reasonRoomFull, refused.Error()
	case errors.As(err, &refused) && !errors.Is(err, game.ErrBadOption):
		why, text = reasonGameRefused, refused.Error()
	case isHook(err):
		why, text = refuseHook(err)
	case why == reasonResumeTimeout:
		text = fmt.Sprintf("no resume message within %v", s.cfg.HandshakeTimeout)
	case why == reasonAuthTimeout:
		text = fmt.Sprintf("no auth message within %v", s.cfg.HandshakeTimeout)
	case why == reasonBanned:
		text = err.Error() // the ban's reason and end, as the accounts say them
	case known && why.info().text == "":
		text = err.Error() // a bad request's detail, a bad option's
	case known:
	default:
		s.mu.Lock()
		s.logLocked(slog.LevelError, "join failed", "err", err)
		s.mu.Unlock()
		text = "could not join a room"
	}
	reason := why.withText(text)
	if perr == nil {
		perr = &protocol.Error{Code: why.info().code, Message: reason.text}
	}
	if len(reason.text) > maxCloseText {
		reason.text = reason.text[:maxCloseText]
	}
	s.mu.Lock()
	if !s.closing {
		if redirect != nil {
			_, _ = s.codec.writeEvent(s.sink, *redirect)
		} else {
			_, _ = s.codec.writeEvent(s.sink, perr)
		}
		s.metrics.refused.WithLabelValues(reason.label()).Inc()
		s.logLocked(slog.LevelDebug, "join refused", "reason", reason.label, "err", err)
	}
	s.closeLocked(reason)
	s.mu.Unlock()
}

// readLoop reads client messages until the connection ends.
func (s *session) readLoop() {
	s.mu.Lock()
	if !s.closing { // else close has set a shorter deadline
		_ = s.ws.SetReadDeadline(time.Now().Add(s.cfg.PongTimeout))
	}
	s.mu.Unlock()

	for {
		msgType, data, err := s.nextMessage()
		if err != nil {
			s.readFailed(err)
			return
		}
		msg, perr := s.codec.decode(msgType, data)
		if perr != nil {
			s.reject(perr)
			continue
		}
		if s.watching && (msg.Kind == protocol.MsgInput || msg.Kind == protocol.MsgGame) {
			s.reject(errSpectating)
			continue
		}
		switch msg.Kind {
		case protocol.MsgInput:
			if perr := protocol.CheckAxes(&msg, s.room.Axes()); perr != nil {
				s.reject(perr)
				continue
			}
			s.room.Input(s.player, s, room.ClientInput{Seq: msg.Seq, Buttons: msg.Buttons, Axes: msg.Axes, Once: msg.Once, Tick: msg.Tick, Lag: msg.Lag})
		case protocol.MsgGame:
			s.gameMessage(&msg)
		case protocol.MsgPing:
			s.send(pong{clientTime: msg.Time})
		case protocol.MsgResync:
			s.codec.requestFull()
		case protocol.MsgLeave:
			s.close(reasonLeft.wire())
			return
		case protocol.MsgResume:
			s.reject(&protocol.Error{Code: protocol.CodeUnexpectedResume, Message: "resume must be the first message, on a connection opened with ?resume=1"})
		case protocol.MsgAuth:
			s.reject(&protocol.Error{Code: protocol.CodeUnexpectedAuth, Message: "auth must be the first message, on a connection opened with ?auth=1"})
		}
	}
}

// errTooBig: nextMessage gave up on a message too big, and has closed
// the session.
var errTooBig = errors.New("message too big")

// nextMessage reads one client message into s.readBuf, valid until the
// next call, and counts it; its frames were charged to the message rate as
// they were read (frameConn). An error ends the session: a read error, one
// of frameConn's, or errTooBig.
func (s *session) nextMessage() (msgType int, data []byte, err error) {
	cfg := s.cfg
	msgType, rd, err := s.ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	s.readBuf.Reset()
	// Reading the limit and one byte more means too big.
	s.limited = io.LimitedReader{R: rd, N: int64(cfg.MaxMessageBytes) + 1} // reused: no allocation a message
	if _, err := s.readBuf.ReadFrom(&s.limited); err != nil {
		return 0, nil, err
	}
	if s.readBuf.Len() > cfg.MaxMessageBytes {
		s.close(s.reasonTooBig())
		return 0, nil, errTooBig
	}
	buf := s.readBuf.Bytes()
	s.traffic.messagesIn.Add(1)
	s.traffic.bytesIn.Add(uint64(len(buf)))
	return msgType, buf, nil
}

// errNoResume refuses a connection opened with ?resume=1 that sent no
// resume message in time.
var errNoResume = errors.New("no resume message in time")

// firstMessages are the messages a connection's query may announce as its
// first (?resume=1, ?auth=1): they carry tokens, which stay out of URLs.
// Each names itself in refusals, and has the error of its absence.
var firstMessages = map[protocol.MessageKind]struct {
	name  string
	late  error
	query string
}{
	protocol.MsgResume: {"resume", errNoResume, "?resume=1"},
	protocol.MsgAuth:   {"auth", errNoAuth, "?auth=1"},
}

// awaitFirst reads the first message of a connection whose query announced
// one (firstMessages), which must be of kind want, within the handshake
// timeout. It reports false, having refused or closed, if not.
func (s *session) awaitFirst(want protocol.MessageKind) (protocol.ClientMessage, bool) {
	first := firstMessages[want]
	_ = s.ws.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	msgType, data, err := s.nextMessage()
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && s.isClosing():
		return protocol.ClientMessage{}, false // the deadline was close's: a shutdown, say
	case errors.As(err, &ne) && ne.Timeout():
		s.refuse(first.late)
		return protocol.ClientMessage{}, false
	case err != nil:
		if r, ok := s.abuseReason(err); ok {
			s.metrics.refused.WithLabelValues(r.label()).Inc()
		}
		s.readFailed(err)
		s.close(reasonNetwork.wire()) // sends the frame of readFailed's reason, if any
		return protocol.ClientMessage{}, false
	}
	msg, perr := s.codec.decode(msgType, data)
	if perr == nil && msg.Kind != want {
		perr = &protocol.Error{Code: protocol.CodeBadRequest, Message: fmt.Sprintf("a connection opened with %s must send %s first", first.query, first.name)}
	}
	if perr != nil {
		s.refuse(perr)
		return protocol.ClientMessage{}, false
	}
	return msg, true
}

// closeFor ends the connection for reason r, having told the client why in
// an error message of its protocol first, as a refused join is told: the
// close frame's text is short, and some clients show only messages.
func (s *session) closeFor(r closeReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	_, _ = s.codec.writeEvent(s.sink, &protocol.Error{Code: r.why.info().code, Message: r.text})
	s.closeLocked(r)
}

// logf logs with what identifies the session, from any goroutine.
func (s *session) logf(level slog.Level, msg string, args ...any) {
	s.mu.Lock()
	s.logLocked(level, msg, args...)
	s.mu.Unlock()
}

func (s *session) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// reasonTooBig closes a client whose message is larger than it may be.
func (s *session) reasonTooBig() closeReason {
	return reasonTooBig.withText(fmt.Sprintf("message larger than %d bytes", s.cfg.MaxMessageBytes))
}

// abuseReason is the reason to close with for a read that frameConn
// ended, if it did.
func (s *session) abuseReason(err error) (closeReason, bool) {
	switch {
	case errors.Is(err, errWireTooBig):
		return s.reasonTooBig(), true
	case errors.Is(err, errFlooded):
		return reasonFlood.wire(), true
	case errors.Is(err, errFrameFlood):
		return reasonFrameFlood.wire(), true
	case errors.Is(err, errSlowMessage):
		return reasonSlowMessage.wire(), true
	}
	return closeReason{}, false
}

// readFailed classifies the error that ended the read loop.
func (s *session) readFailed(err error) {
	if r, ok := s.abuseReason(err); ok {
		s.close(r)
		return
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Code == websocket.CloseNormalClosure {
			s.close(reasonLeft.wire()) // a 1000 from the client means it left on purpose
		} else {
			s.close(reasonPeerClosed.wire())
		}
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.close(reasonNoPong.wire()) // no effect if we were closing already
	}
}

// reject answers bad input with an error message, at a limited rate: the
// connection stays open and nobody else is affected.
func (s *session) reject(perr *protocol.Error) {
	s.metrics.badMessages.WithLabelValues(perr.Code).Inc()
	if !s.answers.Allow() {
		s.metrics.answersDropped.Inc()
		return
	}
	s.send(perr)
}

// flushLocked writes what the outbox holds, unless the socket is still
// taking earlier bytes: events in order, then the newest state, then a ping
// if one is due.
func (s *session) flushLocked() {
	if s.closing || s.flushing {
		return
	}
	now := time.Now()
	if s.out.empty() && (s.pinger == nil || now.Before(s.nextPing)) {
		return
	}
	b := &s.b
	s.out.take(b)
	if b.coalesced > 0 {
		s.metrics.statesCoalesced.Add(float64(b.coalesced))
	}
	if b.overflow {
		s.closeLocked(reasonSlow.wire())
		return
	}
	sent, bytes := 0, 0
	var err error
	if b.hasPing {
		err = s.writeFrame(websocket.PongMessage, b.ping)
	}
	for _, e := range b.events {
		if err != nil {
			break
		}
		var n int
		if n, err = s.writeQueued(e); err != nil {
			break
		}
		sent, bytes = sent+1, bytes+n
	}
	clear(b.events)
	if err == nil && b.hasState {
		var n int
		if n, err = s.codec.writeState(s.sink, b.state); err == nil {
			sent, bytes = sent+1, bytes+n
		}
		b.state = room.State{}
	}
	if err == nil && s.pinger != nil && !now.Before(s.nextPing) {
		s.nextPing = now.Add(s.cfg.PingInterval)
		s.pinger.Reset(s.pingFallback())
		err = s.writeFrame(websocket.PingMessage, nil)
	}
	s.traffic.messagesOut.Add(uint64(sent))
	s.traffic.bytesOut.Add(uint64(bytes))
	if err != nil {
		s.logLocked(slog.LevelDebug, "write failed", "err", err)
		s.closeLocked(reasonNetwork.wire())
	}
}

// flushFinalLocked writes the events still queued when the room ended the
// game: the room_over event is its last word, and must precede the close
// frame. Other closes drop what is queued, as before.
func (s *session) flushFinalLocked() {
	if s.reason.why != reasonGameOver {
		return
	}
	s.out.take(&s.b)
	for _, e := range s.b.events {
		if _, err := s.writeQueued(e); err != nil {
			return
		}
	}
	clear(s.b.events)
}

// writeQueued writes one entry of the outbox's queue: an event, or the
// state an event that must follow it took into the queue (outbox.push).
func (s *session) writeQueued(e any) (int, error) {
	if st, ok := e.(room.State); ok {
		return s.codec.writeState(s.sink, st)
	}
	return s.codec.writeEvent(s.sink, e)
}

// writeFrame frames one message (RFC 6455, section 5.2: servers do not
// mask) and writes it; mu is held.
func (s *session) writeFrame(opcode int, data []byte) error {
	s.frame = appendFrameHeader(s.frame[:0], 0x80|byte(opcode), len(data))
	s.frame = append(s.frame, data...)
	return s.writeLocked(s.frame)
}

// writePrepared writes a message encoded once for many clients, compressed
// once for all if the client negotiated permessage-deflate.
func (s *session) writePrepared(p *prepared) error {
	frame, err := p.frame(s.deflate)
	if err != nil {
		return err
	}
	return s.writeLocked(frame)
}

// writeLocked writes b without blocking: what the kernel does not take now
// waits for the flusher. b may be reused once it returns.
func (s *session) writeLocked(b []byte) error {
	if s.flushing || s.raw == nil {
		s.pending = append(s.pending, b...)
		s.startFlusher()
		return nil
	}
	var n int
	var werr error
	err := s.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true // never wait: that is the flusher's job
			}
		}
	})
	switch {
	case err != nil:
		return err
	case werr == syscall.EAGAIN:
		n = 0
	case werr != nil:
		return werr
	}
	if n < len(b) {
		s.pending = append(s.pending, b[n:]...)
		s.startFlusher()
	}
	return nil
}

// startFlusher starts the goroutine that writes what is pending, blocking,
// each write within WriteTimeout: a client that cannot take a write in time
// is too slow to keep. Once all is written it writes what the outbox
// gathered meanwhile, the newest state, and stops.
func (s *session) startFlusher() {
	if s.flushing {
		return
	}
	s.flushing = true
	s.flusher.Add(1)
	go func() {
		defer s.flusher.Done()
		conn := s.ws.NetConn()
		var spare []byte
		s.mu.Lock()
		for len(s.pending) > 0 {
			buf := s.pending
			s.pending = spare
			closing := s.closing
			s.mu.Unlock()
			if !closing { // else close has set a shorter deadline
				_ = conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			}
			_, err := conn.Write(buf)
			s.mu.Lock()
			if err != nil {
				s.flushing = false
				s.pending = nil
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					s.closeLocked(reasonSlow.wire())
				} else {
					s.closeLocked(reasonNetwork.wire())
				}
				s.mu.Unlock()
				return
			}
			spare = buf[:0]
		}
		// All written: what the outbox gathered meanwhile goes inline
		// again, and if the kernel does not take that either, another
		// flusher takes over. The buffers go: most sockets never need
		// them again.
		s.flushing = false
		s.pending = nil
		s.flushLocked()
		s.mu.Unlock()
	}()
}

// logLocked logs with what identifies the session, if the level is on; mu
// is held.
func (s *session) logLocked(level slog.Level, msg string, args ...any) {
	if s.log.Enabled(context.Background(), level) {
		s.log.With(s.who...).Log(context.Background(), level, msg, args...)
	}
}

// frameSink writes a session's messages straight to its socket.
type frameSink struct{ s *session }

func (f frameSink) writeMessage(msgType int, data []byte) error {
	return f.s.writeFrame(msgType, data)
}

func (f frameSink) writePrepared(p *prepared) error { return f.s.writePrepared(p) }
