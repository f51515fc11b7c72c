package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// Gorilla reads a message's frames inside its own Read: empty
// continuation frames, and ping and pong frames, never surface to the
// session. A client that sent a text frame without FIN, then empty
// continuation frames flat out, kept a core busy (242 million frames in
// 8 s) and counted as no message at all. So the session counts frames
// below gorilla, in the bytes it reads from the socket: a frameConn
// follows the client's frame headers as they pass and charges each frame
// to the session's message rate, and bounds how long one message may take
// to arrive and how many bytes it may take on the wire.

// Why a frameConn ends the read, each mapped to a close reason in
// session.readFailed. They reach the session unwrapped: bufio and gorilla
// (v1.5.3, which wraps only temporary net.Errors) return a reader's errors
// as they are.
var (
	errFlooded     = errors.New("too many messages")
	errFrameFlood  = errors.New("too many frames")
	errSlowMessage = errors.New("message not finished in time")
	errWireTooBig  = errors.New("message too big on the wire")
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
)

// frameParser follows the frames a client sends (RFC 6455, section 5.2)
// without copying or allocating: a 2-byte header, a 16- or 64-bit extended
// length, a 4-byte mask key, the payload. Reads split headers anywhere, so
// a header that a read cuts in two is gathered in hdr. It does not check
// what gorilla checks (reserved bits, opcodes, masks), only where frames
// begin and end; a malformed frame is gorilla's to refuse.
type frameParser struct {
	remaining uint64   // payload bytes of the current frame still to pass
	msgBytes  uint64   // payload bytes of the current data message's frames
	hdr       [14]byte // the header being gathered, when a read cut it
	have      uint8    // bytes of it gathered
	opcode    byte     // the opcode of the last complete header
	endsMsg   bool     // the current frame is the last of a data message
	open      bool     // a data message has begun and not all of it passed
}

// headerLen is the length of a client frame header whose second byte is b1.
func headerLen(b1 byte) int {
	n := 2
	if b1&0x80 != 0 {
		n += 4 // mask key
	}
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	return n
}

// next passes p up to the end of the next complete frame header, or all of
// it, and returns how much it passed and whether a header completed; the
// header's opcode is then f.opcode.
func (f *frameParser) next(p []byte) (n int, header bool) {
	if f.remaining > 0 {
		if uint64(len(p)) < f.remaining {
			f.remaining -= uint64(len(p))
			return len(p), false
		}
		n = int(f.remaining)
		f.remaining = 0
		if f.endsMsg {
			f.open = false
		}
		return n, false
	}
	if f.have == 0 && len(p) >= 2 {
		// The common case: the whole header is in p.
		if hl := headerLen(p[1]); len(p) >= hl {
			f.header(p[:hl])
			return hl, true
		}
	}
	for n < len(p) {
		f.hdr[f.have] = p[n]
		f.have++
		n++
		if f.have >= 2 && int(f.have) == headerLen(f.hdr[1]) {
			f.header(f.hdr[:f.have])
			f.have = 0
			return n, true
		}
	}
	return n, false
}

// header takes in a complete header h.
func (f *frameParser) header(h []byte) {
	f.opcode = h[0] & 0x0f
	fin := h[0]&0x80 != 0
	switch length := uint64(h[1] & 0x7f); length {
	case 126:
		f.remaining = uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		f.remaining = binary.BigEndian.Uint64(h[2:])
	default:
		f.remaining = length
	}
	f.endsMsg = false
	switch f.opcode {
	case opText, opBinary:
		f.open = true
		f.endsMsg = fin
		f.msgBytes = f.remaining
	case opContinuation:
		f.endsMsg = fin
		f.msgBytes += min(f.remaining, math.MaxUint64-f.msgBytes) // a 64-bit length must not wrap it
	}
	if f.endsMsg && f.remaining == 0 {
		f.open = false
	}
}

// frameConn is a client's connection as gorilla reads it: it counts the
// client's frames toward the session's message rate, a message of n frames
// costing n and a control frame one, and gives a message that has begun
// maxMessageTime to arrive whole. Gorilla reads it on one goroutine at a
// time (the session's reader); the deadlines may be set from any.
type frameConn struct {
	net.Conn

	// flood is the session's message rate, set before the first read;
	// nil counts nothing.
	flood *rate.Limiter
	// maxMessageTime bounds a message from its first frame's header to
	// its last payload byte.
	maxMessageTime time.Duration
	// maxWireBytes bounds a message's payload as sent, summed over its
	// frames; 0 is no bound. The session bounds a message's size once
	// inflated (MaxMessageBytes); this bounds what it costs to inflate:
	// empty deflate blocks inflate to nothing, however many there are.
	maxWireBytes uint64

	p     frameParser
	armed bool // the message deadline is set; the reader's own

	mu           sync.Mutex
	readDeadline time.Time // the session's
	msgDeadline  time.Time // the open message's, zero if none
}

// SyscallConn lets the session write to a plain TCP socket without
// blocking (session.writeLocked), as it did before the frameConn wrapped
// it; a TLS connection has no descriptor to write to.
func (c *frameConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// Read reads from the socket and follows the frames read. Past the
// message rate, or past a message's time, it returns one of the errors
// above and no bytes: the session closes.
func (c *frameConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		if ferr := c.follow(b[:n]); ferr != nil {
			return 0, ferr
		}
	}
	if err != nil && c.armed {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && c.messageLate() {
			return n, errSlowMessage
		}
	}
	return n, err
}

// follow parses b, charges each frame header in it, and sets or clears
// the message deadline as a message begins or ends.
func (c *frameConn) follow(b []byte) error {
	var now time.Time
	began := false
	for len(b) > 0 {
		k, header := c.p.next(b)
		b = b[k:]
		if !header {
			continue
		}
		if now.IsZero() {
			now = time.Now()
		}
		starts := c.p.opcode == opText || c.p.opcode == opBinary
		began = began || starts
		if c.flood != nil && !c.flood.AllowN(now, 1) {
			if starts {
				return errFlooded
			}
			return errFrameFlood
		}
		if c.maxWireBytes > 0 && c.p.msgBytes > c.maxWireBytes && (starts || c.p.opcode == opContinuation) {
			return errWireTooBig
		}
	}
	switch {
	case c.p.open && (began || !c.armed):
		// A message began in this read and did not end in it: the
		// common message, a few bytes in one read, never gets here.
		if now.IsZero() {
			now = time.Now()
		}
		c.setMessageDeadline(now.Add(c.maxMessageTime))
	case !c.p.open && c.armed:
		c.setMessageDeadline(time.Time{})
	}
	return nil
}

func (c *frameConn) setMessageDeadline(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = !t.IsZero()
	c.msgDeadline = t
	_ = c.Conn.SetReadDeadline(c.deadlineLocked())
}

// deadlineLocked is the earlier of the session's deadline and the
// message's; zero is none.
func (c *frameConn) deadlineLocked() time.Time {
	if c.msgDeadline.IsZero() || (!c.readDeadline.IsZero() && c.readDeadline.Before(c.msgDeadline)) {
		return c.readDeadline
	}
	return c.msgDeadline
}

// messageLate reports whether the read timed out because of the message
// deadline, not the session's.
func (c *frameConn) messageLate() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.msgDeadline.IsZero() && !time.Now().Before(c.msgDeadline) &&
		(c.readDeadline.IsZero() || c.msgDeadline.Before(c.readDeadline))
}

// SetReadDeadline sets the session's read deadline; a message's, if
// earlier, still applies.
func (c *frameConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDeadline = t
	return c.Conn.SetReadDeadline(c.deadlineLocked())
}

// SetDeadline sets both deadlines, as net.Conn's does.
func (c *frameConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// frameCounting is the http.ResponseWriter a WebSocket upgrade gets: its
// Hijack hands gorilla's Upgrader the connection as a frameConn. Gorilla
// (v1.5.3) asserts http.Hijacker on the writer it is given, and with a
// ReadBufferSize of its own reads the hijacked conn through a bufio.Reader
// it makes over it; net/http's buffered reader, which reads the socket
// directly, is only checked to be empty. So every byte the client sends
// after its handshake passes frameConn.Read. For TLS, net/http hijacks the
// *tls.Conn: the frames counted are the decrypted ones.
type frameCounting struct {
	http.ResponseWriter
	maxMessageTime time.Duration
	maxWireBytes   uint64
}

// Hijack implements http.Hijacker.
func (w frameCounting) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &frameConn{Conn: conn, maxMessageTime: w.maxMessageTime, maxWireBytes: w.maxWireBytes}, brw, nil
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w frameCounting) Unwrap() http.ResponseWriter { return w.ResponseWriter }
