package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/arena-server/arena/game"
)

// The native protocol, version 1, in two encodings chosen by WebSocket
// subprotocol: compact binary (arena.v1.bin) and JSON (arena.v1.json) with
// the same messages and meaning. docs/protocol.md specifies both.
const (
	SubprotocolBinary = "arena.v1.bin"
	SubprotocolJSON   = "arena.v1.json"
	NativeVersion     = 1
)

// Binary message types. Client messages are below 0x80, server messages
// above, so a capture reads unambiguously.
const (
	BinInput   byte = 0x01
	BinPing    byte = 0x02
	BinResync  byte = 0x03
	BinLeave   byte = 0x04
	BinResume  byte = 0x05
	BinMessage byte = 0x06

	BinWelcome  byte = 0x81
	BinSnapshot byte = 0x82
	BinPong     byte = 0x83
	BinError    byte = 0x84
	BinNotice   byte = 0x85
	BinEvent    byte = 0x86
)

// Snapshot flags.
const (
	SnapFull byte = 1 << 0 // a keyframe: replace everything known
)

// Entity delta mask bits, in the low three bits of the first varint of a
// changed entity.
const (
	deltaX    = 1 << 0
	deltaY    = 1 << 1
	deltaMore = 1 << 2
)

// Bits of the "more" byte of a changed entity.
const (
	moreFlags = 1 << iota
	moreScore
	moreColor
	moreName
	moreKind
)

// Welcome is the first message of a native session.
type Welcome struct {
	Player   game.PlayerID
	TickRate int
	World    game.World
	Resumed  bool
	Room     string
	Mode     string
	Token    string
	// Axes are the mode's analog controls, which inputs carry values for.
	Axes []game.Axis
	// Messages are the message types the mode takes, by index.
	Messages []game.MessageType
}

// SnapshotHeader is the per-recipient part of a snapshot.
type SnapshotHeader struct {
	Full bool
	Tick uint64
	// Base is the tick of the state the delta applies to (0 when Full).
	Base uint64
	// Ack is the last input sequence number applied for the recipient.
	Ack uint32
}

// ParseBinary decodes one binary message from a native client.
func ParseBinary(data []byte) (ClientMessage, *Error) {
	if len(data) == 0 {
		return ClientMessage{}, errorf(CodeMalformed, "empty message")
	}
	r := reader{b: data[1:]}
	var m ClientMessage
	switch data[0] {
	case BinInput:
		m.Kind = MsgInput
		seq := r.uvarint()
		b := r.byte()
		m.Tick = r.uvarint()
		r.axes(&m)
		if r.err == nil && (seq == 0 || seq > 1<<32-1) {
			return ClientMessage{}, errorf(CodeMalformed, "input sequence numbers start at 1 and fit in 32 bits")
		}
		if r.err == nil && game.Buttons(b)&^game.ButtonMask != 0 {
			return ClientMessage{}, errorf(CodeBadButtons, "unknown buttons %#02x", b)
		}
		m.Seq, m.Buttons = uint32(seq), game.Buttons(b)
	case BinPing:
		m.Kind = MsgPing
		m.Time = r.uint32()
	case BinResync:
		m.Kind = MsgResync
	case BinLeave:
		m.Kind = MsgLeave
	case BinResume:
		m.Kind = MsgResume
		m.Token = r.string()
		if r.err == nil {
			if err := checkToken(m.Token); err != nil {
				return ClientMessage{}, err
			}
		}
	case BinMessage:
		m.Kind = MsgGame
		m.TypeIndex = int(min(r.uvarint(), 1<<16))
		m.Data = []byte(r.string())
	default:
		return ClientMessage{}, errorf(CodeUnknownType, "unknown message type %#02x", data[0])
	}
	if r.err != nil {
		return ClientMessage{}, errorf(CodeMalformed, "message type %#02x is truncated", data[0])
	}
	if len(r.b) != 0 {
		return ClientMessage{}, errorf(CodeMalformed, "%d unexpected bytes after message type %#02x", len(r.b), data[0])
	}
	return m, nil
}

// AppendBinaryInput appends a client's input message, with the values of
// the mode's analog axes, if it declares any.
func AppendBinaryInput(dst []byte, seq uint32, b game.Buttons, tick uint64, axes ...int32) []byte {
	dst = append(dst, BinInput)
	dst = binary.AppendUvarint(dst, uint64(seq))
	dst = append(dst, byte(b))
	dst = binary.AppendUvarint(dst, tick)
	for _, v := range axes {
		dst = appendZigzag(dst, int64(v))
	}
	return dst
}

// axes reads the analog values that end an input: up to game.MaxAxes
// zigzag varints, each fitting 32 bits. More is malformed, and is left
// unread for the caller's trailing-bytes check to say so.
func (r *reader) axes(m *ClientMessage) {
	for r.err == nil && len(r.b) > 0 && m.NAxes < game.MaxAxes {
		v := r.zigzag()
		if v < math.MinInt32 || v > math.MaxInt32 {
			r.fail()
			return
		}
		m.Axes[m.NAxes] = int32(v)
		m.NAxes++
	}
}

// AppendBinaryResume appends a client's resume message: the first message
// of a connection opened with ?resume=1.
func AppendBinaryResume(dst []byte, token string) []byte {
	return appendString(append(dst, BinResume), token)
}

// AppendBinaryMessage appends a client's game message: the index of its
// type in the welcome's list, and its data, a JSON value.
func AppendBinaryMessage(dst []byte, typeIndex int, data []byte) []byte {
	dst = binary.AppendUvarint(append(dst, BinMessage), uint64(typeIndex))
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	return append(dst, data...)
}

// AppendBinaryPing appends a client's ping.
func AppendBinaryPing(dst []byte, clientTime uint32) []byte {
	return binary.LittleEndian.AppendUint32(append(dst, BinPing), clientTime)
}

// AppendBinaryWelcome appends the welcome message.
func AppendBinaryWelcome(dst []byte, w Welcome) []byte {
	dst = append(dst, BinWelcome)
	dst = binary.AppendUvarint(dst, NativeVersion)
	dst = binary.AppendUvarint(dst, uint64(w.Player))
	dst = binary.AppendUvarint(dst, uint64(w.TickRate))
	dst = binary.AppendUvarint(dst, uint64(w.World.Width))
	dst = binary.AppendUvarint(dst, uint64(w.World.Height))
	var flags byte
	if w.Resumed {
		flags |= 1
	}
	dst = append(dst, flags)
	dst = appendString(dst, w.Room)
	dst = appendString(dst, w.Mode)
	dst = appendString(dst, w.Token)
	dst = binary.AppendUvarint(dst, uint64(len(w.Axes)))
	for _, a := range w.Axes {
		dst = appendString(dst, a.Name)
		dst = appendZigzag(dst, int64(a.Min))
		dst = appendZigzag(dst, int64(a.Max))
	}
	dst = binary.AppendUvarint(dst, uint64(len(w.Messages)))
	for _, t := range w.Messages {
		maxBytes, _, _ := t.Limits()
		dst = appendString(dst, t.Name)
		dst = binary.AppendUvarint(dst, uint64(maxBytes))
	}
	return dst
}

// AppendBinarySnapshotHeader appends the part of a snapshot that differs
// between recipients of the same body.
func AppendBinarySnapshotHeader(dst []byte, h SnapshotHeader) []byte {
	var flags byte
	var baseGap uint64
	if h.Full {
		flags |= SnapFull
	} else {
		baseGap = h.Tick - h.Base
	}
	dst = append(dst, BinSnapshot, flags)
	dst = binary.AppendUvarint(dst, h.Tick)
	dst = binary.AppendUvarint(dst, baseGap)
	return binary.AppendUvarint(dst, uint64(h.Ack))
}

// AppendBinaryDelta appends a snapshot body: removed, added and changed
// entities. It is shared by every recipient with the same base.
func AppendBinaryDelta(dst []byte, d *Delta) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(d.Removed)))
	prev := uint32(0)
	for _, id := range d.Removed {
		dst = binary.AppendUvarint(dst, uint64(id-prev))
		prev = id
	}
	dst = binary.AppendUvarint(dst, uint64(len(d.Added)))
	prev = 0
	for i := range d.Added {
		e := &d.Added[i]
		dst = binary.AppendUvarint(dst, uint64(e.ID-prev))
		prev = e.ID
		dst = append(dst, byte(e.Kind), byte(e.Flags))
		dst = appendZigzag(dst, int64(e.X))
		dst = appendZigzag(dst, int64(e.Y))
		dst = append(dst, byte(e.Color>>16), byte(e.Color>>8), byte(e.Color))
		dst = appendZigzag(dst, int64(e.Score))
		dst = appendString(dst, e.Name)
	}
	dst = binary.AppendUvarint(dst, uint64(len(d.Changed)))
	prev = 0
	for i := range d.Changed {
		c := &d.Changed[i]
		var mask uint64
		if c.Fields&FieldX != 0 {
			mask |= deltaX
		}
		if c.Fields&FieldY != 0 {
			mask |= deltaY
		}
		more := c.Fields &^ (FieldX | FieldY)
		if more != 0 {
			mask |= deltaMore
		}
		dst = binary.AppendUvarint(dst, uint64(c.Entity.ID-prev)<<3|mask)
		prev = c.Entity.ID
		if mask&deltaX != 0 {
			dst = appendZigzag(dst, int64(c.Entity.X)-int64(c.Old.X))
		}
		if mask&deltaY != 0 {
			dst = appendZigzag(dst, int64(c.Entity.Y)-int64(c.Old.Y))
		}
		if more == 0 {
			continue
		}
		var mb byte
		for _, f := range [...]struct {
			field Field
			bit   byte
		}{{FieldFlags, moreFlags}, {FieldScore, moreScore}, {FieldColor, moreColor}, {FieldName, moreName}, {FieldKind, moreKind}} {
			if more&f.field != 0 {
				mb |= f.bit
			}
		}
		dst = append(dst, mb)
		if mb&moreFlags != 0 {
			dst = append(dst, byte(c.Entity.Flags))
		}
		if mb&moreScore != 0 {
			dst = appendZigzag(dst, int64(c.Entity.Score))
		}
		if mb&moreColor != 0 {
			dst = append(dst, byte(c.Entity.Color>>16), byte(c.Entity.Color>>8), byte(c.Entity.Color))
		}
		if mb&moreName != 0 {
			dst = appendString(dst, c.Entity.Name)
		}
		if mb&moreKind != 0 {
			dst = append(dst, byte(c.Entity.Kind))
		}
	}
	return dst
}

// AppendBinaryPong answers a ping.
func AppendBinaryPong(dst []byte, clientTime uint32, tick uint64) []byte {
	dst = binary.LittleEndian.AppendUint32(append(dst, BinPong), clientTime)
	return binary.AppendUvarint(dst, tick)
}

// AppendBinaryError appends an error answer.
func AppendBinaryError(dst []byte, e *Error) []byte {
	return appendString(appendString(append(dst, BinError), e.Code), e.Message)
}

// AppendBinaryNotice appends a notice.
func AppendBinaryNotice(dst []byte, code, message string) []byte {
	return appendString(appendString(append(dst, BinNotice), code), message)
}

// MaxEventData bounds the data of a game event on the wire: a game's own
// events hold at most game.MaxEventData bytes, the room's room_over more.
const MaxEventData = 1 << 16

// AppendBinaryEvent appends a game event: the tick it was sent in, its type
// and its data (a JSON object), which is never truncated.
func AppendBinaryEvent(dst []byte, tick uint64, typ string, data []byte) []byte {
	dst = binary.AppendUvarint(append(dst, BinEvent), tick)
	dst = appendString(dst, typ)
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	return append(dst, data...)
}

// ServerMessage is a decoded server message of the binary protocol, for
// clients written in Go (the load generator, tests).
type ServerMessage struct {
	Type     byte
	Welcome  Welcome
	Snapshot SnapshotHeader
	Delta    Delta
	// Pong (Time, Tick) and game event (Tick, Event, Data)
	Time  uint32
	Tick  uint64
	Event string
	Data  []byte
	// Error and notice
	Code, Message string
}

// ErrMalformed is returned by ParseServerBinary for messages it cannot read.
var ErrMalformed = errors.New("malformed server message")

// ParseServerBinary decodes a binary server message into m, reusing m's
// storage.
func ParseServerBinary(m *ServerMessage, data []byte) error {
	if len(data) == 0 {
		return ErrMalformed
	}
	m.Type = data[0]
	r := reader{b: data[1:]}
	switch m.Type {
	case BinWelcome:
		if v := r.uvarint(); r.err == nil && v != NativeVersion {
			return fmt.Errorf("%w: protocol version %d", ErrMalformed, v)
		}
		m.Welcome = Welcome{
			Player:   game.PlayerID(r.uvarint()),
			TickRate: int(r.uvarint()),
			World:    game.World{Width: int32(r.uvarint()), Height: int32(r.uvarint())},
			Resumed:  r.byte()&1 != 0,
			Room:     r.string(),
			Mode:     r.string(),
			Token:    r.string(),
		}
		m.Welcome.Axes = nil
		for range r.count() {
			m.Welcome.Axes = append(m.Welcome.Axes, game.Axis{Name: r.string(), Min: int32(r.zigzag()), Max: int32(r.zigzag())})
		}
		m.Welcome.Messages = nil
		for range r.count() {
			m.Welcome.Messages = append(m.Welcome.Messages, game.MessageType{Name: r.string(), MaxBytes: int(min(r.uvarint(), 1<<20))})
		}
	case BinSnapshot:
		flags := r.byte()
		h := SnapshotHeader{Full: flags&SnapFull != 0, Tick: r.uvarint()}
		gap := r.uvarint()
		if !h.Full {
			h.Base = h.Tick - gap
		}
		h.Ack = uint32(r.uvarint())
		m.Snapshot = h
		r.delta(&m.Delta)
	case BinPong:
		m.Time = r.uint32()
		m.Tick = r.uvarint()
	case BinError, BinNotice:
		m.Code = r.string()
		m.Message = r.string()
	case BinEvent:
		m.Tick = r.uvarint()
		m.Event = r.string()
		m.Data = r.bytes(MaxEventData)
	default:
		return fmt.Errorf("%w: type %#02x", ErrMalformed, m.Type)
	}
	if r.err != nil || len(r.b) != 0 {
		return fmt.Errorf("%w: type %#02x", ErrMalformed, m.Type)
	}
	return nil
}

func (r *reader) delta(d *Delta) {
	d.Reset()
	n := r.count()
	prev := uint64(0)
	for range n {
		prev += r.uvarint()
		d.Removed = append(d.Removed, uint32(prev))
	}
	n = r.count()
	prev = 0
	for range n {
		prev += r.uvarint()
		e := game.Entity{ID: uint32(prev), Kind: game.Kind(r.byte()), Flags: game.Flags(r.byte())}
		e.X, e.Y = int32(r.zigzag()), int32(r.zigzag())
		e.Color = r.color()
		e.Score = int32(r.zigzag())
		e.Name = r.string()
		d.Added = append(d.Added, e)
	}
	n = r.count()
	prev = 0
	for range n {
		v := r.uvarint()
		prev += v >> 3
		c := Change{Entity: game.Entity{ID: uint32(prev)}}
		// A decoder without the old state records deltas in X and Y.
		if v&deltaX != 0 {
			c.Fields |= FieldX
			c.Entity.X = int32(r.zigzag())
		}
		if v&deltaY != 0 {
			c.Fields |= FieldY
			c.Entity.Y = int32(r.zigzag())
		}
		if v&deltaMore != 0 {
			mb := r.byte()
			if mb&moreFlags != 0 {
				c.Fields |= FieldFlags
				c.Entity.Flags = game.Flags(r.byte())
			}
			if mb&moreScore != 0 {
				c.Fields |= FieldScore
				c.Entity.Score = int32(r.zigzag())
			}
			if mb&moreColor != 0 {
				c.Fields |= FieldColor
				c.Entity.Color = r.color()
			}
			if mb&moreName != 0 {
				c.Fields |= FieldName
				c.Entity.Name = r.string()
			}
			if mb&moreKind != 0 {
				c.Fields |= FieldKind
				c.Entity.Kind = game.Kind(r.byte())
			}
		}
		d.Changed = append(d.Changed, c)
	}
}

func appendZigzag(dst []byte, v int64) []byte {
	return binary.AppendUvarint(dst, uint64(v<<1)^uint64(v>>63))
}

// maxString bounds strings in native messages (names, tokens, codes).
const maxString = 1024

func appendString(dst []byte, s string) []byte {
	if len(s) > maxString {
		s = s[:maxString]
	}
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// reader reads a binary message, remembering the first error so that call
// sites read straight through and check once.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("short message")

func (r *reader) fail() { r.err, r.b = errShort, nil }

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uint32() uint32 {
	if len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) zigzag() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) color() uint32 {
	if len(r.b) < 3 {
		r.fail()
		return 0
	}
	v := uint32(r.b[0])<<16 | uint32(r.b[1])<<8 | uint32(r.b[2])
	r.b = r.b[3:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) || n > maxString {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// bytes reads a length-prefixed byte string of at most limit bytes, copied.
func (r *reader) bytes(limit uint64) []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) || n > limit {
		r.fail()
		return nil
	}
	b := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return b
}

// count reads a list length, refusing one longer than the bytes left could
// hold, so a forged length cannot make a decoder allocate without bound.
func (r *reader) count() uint64 {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return n
}
