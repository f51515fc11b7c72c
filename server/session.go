package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
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
)

// closeReason is why a connection ends: the close frame's code and text, and
// a short label for logs and metrics. A zero code sends no close frame (the
// socket is already broken, or the peer closed first).
type closeReason struct {
	code  int
	text  string
	label string
}

var (
	reasonShutdown   = closeReason{websocket.CloseGoingAway, "server shutting down", "shutdown"}
	reasonRoomClosed = closeReason{websocket.CloseGoingAway, "room closed", "room_closed"}
	reasonCrashed    = closeReason{websocket.CloseInternalServerErr, "room stopped after an internal error", "room_crashed"}
	reasonTakenOver  = closeReason{CloseTakenOver, "another connection resumed this player", "taken_over"}
	reasonGameOver   = closeReason{websocket.CloseNormalClosure, "the game is over", "game_over"}
	reasonFlood      = closeReason{websocket.ClosePolicyViolation, "too many messages", "flood"}
	reasonSlow       = closeReason{websocket.ClosePolicyViolation, "client too slow to keep up", "slow"}
	reasonNoPong     = closeReason{websocket.ClosePolicyViolation, "no answer to ping", "no_pong"}
	reasonRoomFull   = closeReason{websocket.CloseTryAgainLater, "room is full", "room_full"}
	reasonSeats      = closeReason{websocket.ClosePolicyViolation, "too many players from your address", "seats_per_ip"}
	reasonMaxRooms   = closeReason{websocket.CloseTryAgainLater, "the server holds as many rooms as it may", "max_rooms"}
	reasonCreateRate = closeReason{websocket.ClosePolicyViolation, "rooms created too fast from your address", "room_create_rate"}
	reasonLeft       = closeReason{websocket.CloseNormalClosure, "", "left"}
	reasonPeerClosed = closeReason{websocket.CloseNormalClosure, "", "client_closed"} // the echo of the peer's close
	reasonNetwork    = closeReason{label: "network"}
)

// reasonFor maps a room's reason for ending a connection to the wire.
func reasonFor(err error) closeReason {
	switch {
	case errors.Is(err, room.ErrShutdown):
		return reasonShutdown
	case errors.Is(err, room.ErrRoomCrashed):
		return reasonCrashed
	case errors.Is(err, room.ErrTakenOver):
		return reasonTakenOver
	case errors.Is(err, room.ErrGameOver):
		return reasonGameOver
	case errors.Is(err, room.ErrRoomFull):
		return reasonRoomFull
	case errors.Is(err, room.ErrTooManySeats):
		return reasonSeats
	case errors.Is(err, room.ErrTooManyRooms):
		return reasonMaxRooms
	case errors.Is(err, room.ErrCreateRate):
		return reasonCreateRate
	case errors.Is(err, room.ErrRoomClosed):
		return reasonRoomClosed
	}
	return closeReason{websocket.CloseInternalServerErr, "internal error", "internal"}
}

// closeGrace is how long a closing connection waits for the peer's close
// frame before the socket is torn down.
const closeGrace = time.Second

// session is one WebSocket connection: a reader (the HTTP handler's
// goroutine) that decodes, validates, rate-limits and forwards to the room,
// and a writer that drains the outbox. The room never touches the socket.
type session struct {
	// What the session uses of its server: its settings and where it
	// counts. Read only, shared by every session.
	cfg     *Config
	metrics *metrics
	traffic *traffic

	ws    *websocket.Conn
	codec codec
	out   *outbox
	log   *slog.Logger

	ctx    context.Context // canceled when the session is closing
	cancel context.CancelFunc

	room   *room.Room
	player game.PlayerID

	flood *rate.Limiter // messages from the client
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

	closing   atomic.Bool
	closeOnce sync.Once
	reason    closeReason
}

var _ room.Client = (*session)(nil)

func newSession(srv *Server, ws *websocket.Conn, c codec, log *slog.Logger) *session {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := &srv.cfg
	s := &session{
		cfg:     cfg,
		metrics: srv.metrics,
		traffic: &srv.traffic,
		ws:      ws,
		codec:   c,
		out:     newOutbox(cfg.MaxQueuedEvents),
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		flood:   rate.NewLimiter(rate.Limit(cfg.MessageRate), cfg.MessageBurst),
		answers: rate.NewLimiter(rate.Limit(cfg.ErrorRate), cfg.ErrorBurst),
	}
	s.handleControlFrames()
	return s
}

// State implements room.Client.
func (s *session) State(st room.State) { s.out.offerState(st) }

// Event implements room.Client.
func (s *session) Event(e room.Event) { s.out.push(e) }

// Close implements room.Client.
func (s *session) Close(reason error) { s.close(reasonFor(reason)) }

// close starts closing the connection; the first reason wins. It only
// records the reason and signals, so it never blocks: the room calls it
// from its own goroutine (a takeover, a room closing), and Shutdown for
// every session at once. The writer sends the close frame once its
// current write ends (sendClose); a write stuck on a client that does not
// read is cut short after closeGrace, and the reader gets closeGrace to
// see the peer's answer.
func (s *session) close(r closeReason) {
	s.closeOnce.Do(func() {
		s.reason = r
		s.closing.Store(true)
		deadline := time.Now().Add(closeGrace)
		// On the net.Conn, not gorilla's Conn: both are safe from any
		// goroutine there, and this one also shortens a write in progress.
		_ = s.ws.NetConn().SetWriteDeadline(deadline)
		_ = s.ws.SetReadDeadline(deadline)
		s.cancel()
	})
}

// sendClose writes the close frame of the session's reason. Only the
// goroutine that writes to the socket calls it, after close: the writer as
// it stops, or the session's own goroutine while no writer runs.
func (s *session) sendClose() {
	if r := s.reason; r.code != 0 {
		_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(r.code, r.text), time.Now().Add(closeGrace))
	}
}

// closeNow closes from a goroutine that may write: no writer runs yet.
func (s *session) closeNow(r closeReason) {
	s.close(r)
	s.sendClose()
}

// errControlFlood ends the read loop of a client flooding control frames.
var errControlFlood = errors.New("too many control frames")

// handleControlFrames makes ping and pong frames count toward the message
// rate like any message, and has the writer answer pings. Gorilla's default
// ping handler answers from the reader goroutine with WriteControl, which
// waits for the write lock a writer stuck on a slow client holds, and
// answered every ping at once: four clients pinging as fast as they could
// cost the server 1.57 cores and other rooms 118 ms hiccups.
func (s *session) handleControlFrames() {
	s.ws.SetPingHandler(func(data string) error {
		if !s.flood.Allow() {
			s.close(reasonFlood)
			return errControlFlood
		}
		s.out.answerPing(data)
		return nil
	})
	// Gorilla's close handler echoes the peer's close frame from the
	// reader, as its ping handler does; readFailed leaves that to the
	// writer.
	s.ws.SetCloseHandler(func(int, string) error { return nil })
	s.ws.SetPongHandler(func(string) error {
		if !s.flood.Allow() {
			s.close(reasonFlood)
			return errControlFlood
		}
		if !s.closing.Load() {
			_ = s.ws.SetReadDeadline(time.Now().Add(s.cfg.PongTimeout))
		}
		return nil
	})
}

// serve joins the player to a room and runs the session until the
// connection ends.
//
// With resumeFirst (?resume=1) the join waits for the client's first
// message, which must be resume with its token: tokens stay out of URLs.
func (s *session) serve(join func(room.JoinRequest) (*room.Room, room.Joined, error), name, token string, resumeFirst bool) {
	defer s.cancel()
	if resumeFirst {
		var ok bool
		if token, ok = s.awaitResume(); !ok {
			return
		}
	}

	r, joined, err := join(room.JoinRequest{Client: s, Name: name, Token: token})
	if err != nil {
		s.refuse(err)
		return
	}
	s.room, s.player = r, joined.Player
	for _, t := range r.Messages() {
		_, perSecond, burst := t.Limits()
		s.gameMsgs = append(s.gameMsgs, rate.NewLimiter(rate.Limit(perSecond), burst))
	}
	s.log = s.log.With("player", joined.Player, "room", r.Name())
	s.log.Debug("joined", "resumed", joined.Resumed)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop()
		s.sendClose()
	}()
	s.readLoop()
	s.close(reasonNetwork)
	r.Leave(joined.Player, s, s.reason == reasonLeft)
	<-writerDone
	s.metrics.disconnects.WithLabelValues(s.reason.label).Inc()
	s.log.Debug("disconnected", "reason", s.reason.label, "code", s.reason.code)
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
	reason := reasonFor(err)
	code := protocol.CodeServerError
	var perr *protocol.Error
	switch {
	case errors.As(err, &perr):
		reason = closeReason{websocket.ClosePolicyViolation, perr.Message, "bad_request"}
	case errors.Is(err, room.ErrRoomFull):
		code = protocol.CodeRoomFull
	case errors.Is(err, room.ErrTooManySeats):
		code = protocol.CodeTooManySeats
	case errors.Is(err, room.ErrTooManyRooms):
		code = protocol.CodeTooManyRooms
	case errors.Is(err, room.ErrCreateRate):
		code = protocol.CodeRateLimited
	case errors.Is(err, room.ErrBadRoomName), errors.Is(err, room.ErrUnknownMode), errors.Is(err, room.ErrWrongMode):
		code = protocol.CodeBadRequest
		reason = closeReason{websocket.ClosePolicyViolation, err.Error(), "bad_request"}
	case errors.Is(err, game.ErrBadOption):
		code = protocol.CodeBadOption
		reason = closeReason{websocket.ClosePolicyViolation, err.Error(), "bad_option"}
	case errors.Is(err, errNoResume):
		code = protocol.CodeBadRequest
		reason = closeReason{websocket.ClosePolicyViolation, fmt.Sprintf("no resume message within %v", s.cfg.HandshakeTimeout), "resume_timeout"}
	case errors.Is(err, room.ErrShutdown):
	default:
		s.log.Error("join failed", "err", err)
		reason = closeReason{websocket.CloseInternalServerErr, "could not join a room", "internal"}
	}
	if perr == nil {
		perr = &protocol.Error{Code: code, Message: reason.text}
	}
	_, _ = s.codec.writeEvent(newWSSink(s.ws, s.cfg.WriteTimeout), perr)
	if len(reason.text) > 120 {
		reason.text = reason.text[:120] // a close frame holds at most 123 bytes of text
	}
	s.closeNow(reason)
	s.metrics.refused.WithLabelValues(reason.label).Inc()
	s.log.Debug("join refused", "reason", reason.label, "err", err)
	// Read until the peer answers the close frame or closeGrace ends.
	for {
		if _, _, err := s.ws.NextReader(); err != nil {
			return
		}
	}
}

// readLoop reads client messages until the connection ends.
func (s *session) readLoop() {
	cfg := s.cfg
	if !s.closing.Load() { // else close has set a shorter deadline
		_ = s.ws.SetReadDeadline(time.Now().Add(cfg.PongTimeout))
	}

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
			if !s.out.push(pong{clientTime: msg.Time}) {
				s.close(reasonSlow)
				return
			}
		case protocol.MsgResync:
			s.codec.requestFull()
		case protocol.MsgLeave:
			s.close(reasonLeft)
			return
		case protocol.MsgResume:
			s.reject(&protocol.Error{Code: protocol.CodeUnexpectedResume, Message: "resume must be the first message, on a connection opened with ?resume=1"})
		}
	}
}

// Why nextMessage gave up, once it has closed the session itself.
var (
	errTooBig  = errors.New("message too big")
	errFlooded = errors.New("too many messages")
)

// nextMessage reads one client message into s.readBuf, valid until the
// next call, counting it and charging the message rate. An error ends the
// session: a read error, or one of the above.
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
		s.close(closeReason{websocket.CloseMessageTooBig, fmt.Sprintf("message larger than %d bytes", cfg.MaxMessageBytes), "too_big"})
		return 0, nil, errTooBig
	}
	buf := s.readBuf.Bytes()
	s.traffic.messagesIn.Add(1)
	s.traffic.bytesIn.Add(uint64(len(buf)))
	if !s.flood.Allow() {
		s.close(reasonFlood)
		return 0, nil, errFlooded
	}
	return msgType, buf, nil
}

// errNoResume refuses a connection opened with ?resume=1 that sent no
// resume message in time.
var errNoResume = errors.New("no resume message in time")

// awaitResume reads the first message of a connection opened with
// ?resume=1, which must be resume, within the handshake timeout. It
// reports false, having refused or closed, if not.
func (s *session) awaitResume() (token string, ok bool) {
	_ = s.ws.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	msgType, data, err := s.nextMessage()
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && s.closing.Load():
		s.sendClose() // the deadline was close's: a shutdown, say
		return "", false
	case errors.As(err, &ne) && ne.Timeout():
		s.refuse(errNoResume)
		return "", false
	case err != nil:
		s.readFailed(err)
		s.closeNow(reasonNetwork) // sends the frame of readFailed's reason, if any
		return "", false
	}
	msg, perr := s.codec.decode(msgType, data)
	if perr == nil && msg.Kind != protocol.MsgResume {
		perr = &protocol.Error{Code: protocol.CodeBadRequest, Message: "a connection opened with ?resume=1 must send resume first"}
	}
	if perr != nil {
		s.refuse(perr)
		return "", false
	}
	return msg.Token, true
}

// readFailed classifies the error that ended the read loop.
func (s *session) readFailed(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		if ce.Code == websocket.CloseNormalClosure {
			s.close(reasonLeft) // a 1000 from the client means it left on purpose
		} else {
			s.close(reasonPeerClosed)
		}
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.close(reasonNoPong) // no effect if we were closing already
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
	if !s.out.push(perr) {
		s.close(reasonSlow)
	}
}

// writeLoop sends what the outbox holds until the session closes.
//
// Pings ride along with states: once one is due, it goes out with the next
// state, in the same wakeup. A ping on a timer of its own woke the process
// at a random moment twice a second per 4 clients (the ping, then its pong)
// and cost 500 players about 3.5% of a core, more than a sixth of all the
// server did. The timer stays as a fallback for when no states flow.
func (s *session) writeLoop() {
	cfg := s.cfg
	traffic := s.traffic
	pingFallback := cfg.PingInterval + cfg.PingInterval/4
	nextPing := time.Now().Add(cfg.PingInterval)
	fallback := time.NewTimer(pingFallback)
	defer fallback.Stop()
	sendPing := func() error {
		now := time.Now()
		nextPing = now.Add(cfg.PingInterval)
		fallback.Reset(pingFallback)
		return s.ws.WriteControl(websocket.PingMessage, nil, now.Add(cfg.WriteTimeout))
	}
	var out sink = newWSSink(s.ws, cfg.WriteTimeout)
	if cfg.SendDelay > 0 || cfg.SendJitter > 0 {
		dl := newDelayLine(s, cfg.SendDelay, cfg.SendJitter)
		defer dl.wait()
		out = dl
	}
	var b batch
	for {
		select {
		case <-s.ctx.Done():
			s.flushFinal(out, &b)
			return
		case <-fallback.C:
			if err := sendPing(); err != nil {
				s.writeFailed(err)
				return
			}
			continue
		case <-s.out.wake:
			if s.ctx.Err() != nil {
				s.flushFinal(out, &b) // closing: the wakeup lost the race to ctx
				return
			}
		}
		s.out.take(&b)
		if b.coalesced > 0 {
			s.metrics.statesCoalesced.Add(float64(b.coalesced))
		}
		if b.overflow {
			s.close(reasonSlow)
			return
		}
		sent, bytes := 0, 0
		var err error
		if b.hasPing {
			err = s.ws.WriteControl(websocket.PongMessage, b.ping, time.Now().Add(cfg.WriteTimeout))
		}
		for _, e := range b.events {
			if err != nil {
				break
			}
			var n int
			if n, err = s.codec.writeEvent(out, e); err != nil {
				break
			}
			sent, bytes = sent+1, bytes+n
		}
		if err == nil && b.hasState {
			var n int
			if n, err = s.codec.writeState(out, b.state); err == nil {
				sent, bytes = sent+1, bytes+n
			}
			if err == nil && !time.Now().Before(nextPing) {
				err = sendPing()
			}
		}
		traffic.messagesOut.Add(uint64(sent))
		traffic.bytesOut.Add(uint64(bytes))
		if err != nil {
			s.writeFailed(err)
			return
		}
	}
}

// flushFinal writes the events still queued when the room ended the game:
// the room_over event is its last word, and must precede the close frame.
// Other closes drop what is queued, as before.
func (s *session) flushFinal(out sink, b *batch) {
	if s.reason != reasonGameOver {
		return
	}
	s.out.take(b)
	for _, e := range b.events {
		if _, err := s.codec.writeEvent(out, e); err != nil {
			return
		}
	}
}

func (s *session) writeFailed(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.close(reasonSlow)
		return
	}
	s.log.Debug("write failed", "err", err)
	s.close(reasonNetwork)
}
