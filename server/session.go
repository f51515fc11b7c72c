package server

import (
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
	// CloseTakenOver: another connection resumed this player.
	CloseTakenOver = 4001
)

// closeReason is why a connection ends, as it goes on the wire. A zero code
// sends no close frame (the socket is already broken).
type closeReason struct {
	code int
	text string
}

var (
	reasonShutdown   = closeReason{websocket.CloseGoingAway, "server shutting down"}
	reasonRoomClosed = closeReason{websocket.CloseGoingAway, "room closed"}
	reasonCrashed    = closeReason{websocket.CloseInternalServerErr, "room stopped after an internal error"}
	reasonTakenOver  = closeReason{CloseTakenOver, "another connection resumed this player"}
	reasonFlood      = closeReason{websocket.ClosePolicyViolation, "too many messages"}
	reasonSlow       = closeReason{websocket.ClosePolicyViolation, "client too slow to keep up"}
	reasonNoPong     = closeReason{websocket.ClosePolicyViolation, "no answer to ping"}
	reasonRoomFull   = closeReason{websocket.CloseTryAgainLater, "room is full"}
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
	case errors.Is(err, room.ErrRoomFull):
		return reasonRoomFull
	case errors.Is(err, room.ErrRoomClosed):
		return reasonRoomClosed
	}
	return closeReason{websocket.CloseInternalServerErr, "internal error"}
}

// closeGrace is how long a closing connection waits for the peer's close
// frame before the socket is torn down.
const closeGrace = time.Second

// session is one WebSocket connection: a reader (this handler's goroutine)
// that decodes, validates, rate-limits and forwards to the room, and a writer
// that drains the outbox. The room never touches the socket.
type session struct {
	srv   *Server
	ws    *websocket.Conn
	codec codec
	out   *outbox
	log   *slog.Logger

	ctx    context.Context // canceled when the session is closing
	cancel context.CancelFunc

	room   *room.Room
	player game.PlayerID

	flood   *rate.Limiter // messages from the client
	answers *rate.Limiter // error answers to the client

	closing   atomic.Bool
	closeOnce sync.Once
	reason    closeReason
}

var _ room.Client = (*session)(nil)

func newSession(srv *Server, ws *websocket.Conn, c codec, log *slog.Logger) *session {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := &srv.cfg
	return &session{
		srv:     srv,
		ws:      ws,
		codec:   c,
		out:     newOutbox(cfg.MaxQueuedEvents),
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		flood:   rate.NewLimiter(rate.Limit(cfg.MessageRate), cfg.MessageBurst),
		answers: rate.NewLimiter(rate.Limit(cfg.ErrorRate), cfg.ErrorBurst),
	}
}

// State implements room.Client.
func (s *session) State(st room.State) { s.out.offerState(st) }

// Event implements room.Client.
func (s *session) Event(e room.Event) { s.out.push(e) }

// Close implements room.Client.
func (s *session) Close(reason error) { s.close(reasonFor(reason)) }

// close starts closing the connection: it sends the close frame, stops the
// writer and gives the reader closeGrace to see the peer's answer. The first
// reason wins.
func (s *session) close(r closeReason) {
	s.closeOnce.Do(func() {
		s.reason = r
		s.closing.Store(true)
		deadline := time.Now().Add(closeGrace)
		if r.code != 0 {
			_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(r.code, r.text), deadline)
		}
		_ = s.ws.SetReadDeadline(deadline)
		s.cancel()
	})
}

// serve runs the session until the connection ends.
func (s *session) serve(roomName, mode, name, token string) {
	defer s.ws.Close()
	defer s.cancel()

	r, joined, err := s.srv.rooms.Join(s.ctx, roomName, mode, room.JoinRequest{Client: s, Name: name, Token: token})
	if err != nil {
		s.refuse(err)
		return
	}
	s.room, s.player = r, joined.Player
	s.log = s.log.With("player", joined.Player, "room", r.Name())
	s.log.Debug("joined", "resumed", joined.Resumed)

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop()
	}()
	onPurpose := s.readLoop()
	s.close(closeReason{websocket.CloseNormalClosure, ""})
	r.Leave(joined.Player, s, onPurpose)
	<-writerDone
	s.log.Debug("left", "code", s.reason.code, "reason", s.reason.text, "on_purpose", onPurpose)
}

// refuse answers a join that failed and closes.
func (s *session) refuse(err error) {
	var reason closeReason
	var perr *protocol.Error
	switch {
	case errors.As(err, &perr):
		reason = closeReason{websocket.ClosePolicyViolation, perr.Message}
	case errors.Is(err, room.ErrRoomFull):
		reason = reasonRoomFull
		perr = &protocol.Error{Code: protocol.CodeRoomFull, Message: err.Error()}
	case errors.Is(err, room.ErrShutdown):
		reason = reasonShutdown
	case errors.Is(err, room.ErrBadRoomName), errors.Is(err, room.ErrUnknownMode), errors.Is(err, room.ErrWrongMode):
		reason = closeReason{websocket.ClosePolicyViolation, err.Error()}
		perr = &protocol.Error{Code: protocol.CodeBadRequest, Message: err.Error()}
	default:
		s.log.Error("join failed", "err", err)
		reason = closeReason{websocket.CloseInternalServerErr, "could not join"}
		perr = &protocol.Error{Code: protocol.CodeServerError, Message: "could not join"}
	}
	if perr != nil {
		_ = s.ws.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
		_ = s.codec.writeEvent(s.ws, perr)
	}
	if len(reason.text) > 120 {
		reason.text = reason.text[:120] // a close frame's payload is at most 125 bytes
	}
	s.close(reason)
	s.awaitClose()
}

// awaitClose reads until the peer answers our close frame or closeGrace ends.
func (s *session) awaitClose() {
	for {
		if _, _, err := s.ws.NextReader(); err != nil {
			return
		}
	}
}

// readLoop reads client messages until the connection ends. It reports
// whether the client left on purpose (a close with 1000).
func (s *session) readLoop() (onPurpose bool) {
	cfg := &s.srv.cfg
	s.ws.SetPongHandler(func(string) error {
		if !s.closing.Load() {
			_ = s.ws.SetReadDeadline(time.Now().Add(cfg.PongTimeout))
		}
		return nil
	})
	_ = s.ws.SetReadDeadline(time.Now().Add(cfg.PongTimeout))

	buf := make([]byte, cfg.MaxMessageBytes+1)
	for {
		msgType, rd, err := s.ws.NextReader()
		if err != nil {
			return s.readFailed(err)
		}
		n, err := io.ReadFull(rd, buf)
		switch {
		case err == nil: // read limit+1 bytes: too big
			s.close(closeReason{websocket.CloseMessageTooBig, fmt.Sprintf("message larger than %d bytes", cfg.MaxMessageBytes)})
			return false
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		default:
			return s.readFailed(err)
		}
		if !s.flood.Allow() {
			s.close(reasonFlood)
			return false
		}
		msg, perr := s.codec.decode(msgType, buf[:n])
		if perr != nil {
			s.reject(perr)
			continue
		}
		switch msg.kind {
		case msgInput:
			s.room.Input(s.player, s, msg.input)
		}
	}
}

// readFailed classifies the error that ended the read loop.
func (s *session) readFailed(err error) (onPurpose bool) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code == websocket.CloseNormalClosure
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !s.closing.Load() {
		s.close(reasonNoPong)
	}
	return false
}

// reject answers bad input with an error message, at a limited rate: the
// connection stays open and nobody else is affected.
func (s *session) reject(perr *protocol.Error) {
	if s.answers.Allow() {
		if !s.out.push(perr) {
			s.close(reasonSlow)
		}
	}
}

// writeLoop sends what the outbox holds until the session closes.
func (s *session) writeLoop() {
	cfg := &s.srv.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	var b batch
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-ping.C:
			if err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				s.writeFailed(err)
				return
			}
			continue
		case <-s.out.wake:
		}
		s.out.take(&b)
		if b.overflow {
			s.close(reasonSlow)
			return
		}
		_ = s.ws.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
		for _, e := range b.events {
			if err := s.codec.writeEvent(s.ws, e); err != nil {
				s.writeFailed(err)
				return
			}
		}
		if b.hasState {
			if err := s.codec.writeState(s.ws, b.state); err != nil {
				s.writeFailed(err)
				return
			}
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
	s.close(closeReason{}) // the socket is broken: no close frame to send
}
