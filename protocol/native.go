package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unicode/utf8"

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
	BinAuth    byte = 0x07

	BinWelcome  byte = 0x81
	BinSnapshot byte = 0x82
	BinPong     byte = 0x83
	BinError    byte = 0x84
	BinNotice   byte = 0x85
	BinEvent    byte = 0x86
	BinRedirect byte = 0x87
)

// Snapshot flags.
const (
	SnapFull byte = 1 << 0 // a keyframe: replace everything known
)

// The low three bits of the first varint of a changed entity: X and Y
// changed, and more follows. Moving entities, most of a tick's changes,
// thus cost their skip (see AppendBinaryDelta) and their steps, and nothing else.
const (
	deltaX    = 1 << 0
	deltaY    = 1 << 1
	deltaMore = 1 << 2
)

// The flags of a binary welcome. A decoder ignores the bits it does not
// know: a flag added later is invisible to an older client.
const (
	WelcomeResumed  byte = 1 << 0
	WelcomeWatching byte = 1 << 1
	// WelcomeAccount says the welcome ends, after its kinds, with the
	// player's account: string ID, string name. At the end, so that a
	// decoder that knows nothing of accounts reads the rest as before.
	WelcomeAccount byte = 1 << 2
)

// Welcome is the first message of a native session.
type Welcome struct {
	Player   game.PlayerID
	TickRate int
	World    game.World
	Resumed  bool
	// Watching says the client is a spectator (?spectate=1): Player is
	// 0 and Token empty, and it sends no inputs or game messages.
	Watching bool
	Room     string
	Mode     string
	Token    string
	// Account is the player's account, for a player who authenticated
	// (?auth=1); zero for a guest and a spectator of none.
	Account Account
	// Axes are the mode's analog controls, which inputs carry values for.
	Axes []game.Axis
	// Messages are the message types the mode takes, by index.
	Messages []game.MessageType
	// Kinds are the mode's kinds of entity: how snapshots that follow
	// encode them.
	Kinds []game.EntityKind
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
		if r.err == nil && len(r.b) > 0 {
			m.Lag = uint32(min(r.uvarint(), MaxLag))
		}
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
	case BinAuth:
		m.Kind = MsgAuth
		// The token's length is read apart from it, so that one too long
		// is told so, not that the message is short.
		n := r.uvarint()
		if r.err == nil && n > MaxAccessToken {
			return ClientMessage{}, errorf(CodeMalformed, "auth needs a token of 1 to %d bytes", MaxAccessToken)
		}
		m.Access = string(r.take(n))
		var resume *string
		if r.err == nil && len(r.b) > 0 {
			t := r.string()
			resume = &t
		}
		if r.err == nil {
			var perr *Error
			if m, perr = parseAuth(&m.Access, resume); perr != nil {
				return ClientMessage{}, perr
			}
		}
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
	return AppendBinaryInputLag(dst, seq, b, tick, 0, axes...)
}

// AppendBinaryInputLag appends an input that says how far behind its tick
// the world was that the player saw as it chose it (ClientMessage.Lag),
// for lag compensation. An input without lag and axes ends at its tick.
func AppendBinaryInputLag(dst []byte, seq uint32, b game.Buttons, tick uint64, lag uint32, axes ...int32) []byte {
	dst = append(dst, BinInput)
	dst = binary.AppendUvarint(dst, uint64(seq))
	dst = append(dst, byte(b))
	dst = binary.AppendUvarint(dst, tick)
	if lag != 0 || len(axes) > 0 {
		dst = binary.AppendUvarint(dst, uint64(lag))
	}
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

// AppendBinaryAuth appends a client's auth message: the first message of a
// connection opened with ?auth=1, with an access token and, to resume a
// player, its resume token ("" for none).
func AppendBinaryAuth(dst []byte, access, resume string) []byte {
	dst = binary.AppendUvarint(append(dst, BinAuth), uint64(len(access)))
	dst = append(dst, access...)
	if resume != "" {
		dst = appendString(dst, resume)
	}
	return dst
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
		flags |= WelcomeResumed
	}
	if w.Watching {
		flags |= WelcomeWatching
	}
	if w.Account != (Account{}) {
		flags |= WelcomeAccount
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
	dst = appendKinds(dst, w.Kinds)
	if flags&WelcomeAccount != 0 {
		dst = appendString(appendString(dst, w.Account.ID), w.Account.Name)
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
// entities, their fields encoded as kinds declares them. It is shared by
// every recipient with the same base. Nil kinds are game.BasicKinds.
func AppendBinaryDelta(dst []byte, d *Delta, kinds []game.EntityKind) []byte {
	if kinds == nil {
		kinds = game.BasicKinds
	}
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
		dst = append(dst, byte(e.Kind))
		dst = appendZigzag(dst, int64(e.X))
		dst = appendZigzag(dst, int64(e.Y))
		k := kindOf(kinds, e.Kind)
		m := present(e, k)
		dst = binary.AppendUvarint(dst, wire(m, k))
		dst = appendFields(dst, e, nil, k, m)
	}
	dst = binary.AppendUvarint(dst, uint64(len(d.Changed)))
	// A change names its entity by where it is in the base, as the count
	// of base entities it skips after the previous change: the recipient
	// holds the base, and a view of a few players out of thousands has
	// ID gaps of hundreds but index gaps of a few.
	next := int32(0)
	for i := range d.Changed {
		c := &d.Changed[i]
		k := kindOf(kinds, c.Entity.Kind)
		old := d.Old(c)
		m := wireMask(c, old, k)
		first := uint64(m & (MaskX | MaskY))
		if m>>2 != 0 {
			first |= deltaMore
		}
		dst = binary.AppendUvarint(dst, uint64(c.old-next)<<3|first)
		next = c.old + 1
		if m&MaskX != 0 {
			dst = appendZigzag(dst, int64(c.Entity.X)-int64(old.X))
		}
		if m&MaskY != 0 {
			dst = appendZigzag(dst, int64(c.Entity.Y)-int64(old.Y))
		}
		if m>>2 != 0 {
			dst = binary.AppendUvarint(dst, wire(m, k)<<kindBits(kinds)|uint64(c.Entity.Kind))
			dst = appendFields(dst, &c.Entity, old, k, m)
		}
	}
	return dst
}

// wire packs what a Mask holds beyond the position for the wire, where a
// kind's texts follow its own fields: bit 0 away, then one bit per field,
// then one per text. A kind of a few fields thus has a one-byte mask.
func wire(m Mask, k *game.EntityKind) uint64 {
	nf, nt := len(k.Fields), len(k.Texts)
	return uint64(m>>2)&(1<<(1+nf)-1) | uint64(m>>maskTexts)&(1<<nt-1)<<(1+nf)
}

// unwire is wire's inverse; it refuses bits the kind does not declare.
func unwire(w uint64, k *game.EntityKind) (Mask, bool) {
	nf, nt := len(k.Fields), len(k.Texts)
	if w >= 1<<(1+nf+nt) {
		return 0, false
	}
	return Mask(w&(1<<(1+nf)-1))<<2 | Mask(w>>(1+nf))<<maskTexts, true
}

// noKind describes entities of a kind the mode does not declare: only what
// arena owns of them is sent.
var noKind = &game.EntityKind{}

// kindBits is how many bits a change's kind takes beside its mask: a
// decoder needs the kind to read the fields, and the kind shares the
// mask's varint so that a mode of one or two kinds pays at most a bit.
func kindBits(kinds []game.EntityKind) int {
	return bits.Len(uint(max(len(kinds), 1) - 1))
}

func kindOf(kinds []game.EntityKind, k game.Kind) *game.EntityKind {
	if int(k) < len(kinds) {
		return &kinds[k]
	}
	return noKind
}

// present is the mask of an added entity: its away flag, and which of its
// declared fields are not zero. Zero fields cost nothing.
func present(e *game.Entity, k *game.EntityKind) Mask {
	var m Mask
	if e.Away {
		m |= MaskAway
	}
	for i := range k.Fields {
		if e.Fields[i] != 0 {
			m |= MaskField(i)
		}
	}
	for j := range k.Texts {
		if e.Texts[j] != "" {
			m |= MaskText(j)
		}
	}
	return m
}

// wireMask is what a change sends: what its kind declares, and of its
// bools only those that flipped, as any non-zero value means true.
func wireMask(c *Change, old *game.Entity, k *game.EntityKind) Mask {
	m := c.Mask & kindMask(k)
	for i := range k.Fields {
		if k.Fields[i].Type == game.Bool && m&MaskField(i) != 0 && (c.Entity.Fields[i] != 0) == (old.Fields[i] != 0) {
			m &^= MaskField(i)
		}
	}
	return m
}

// appendFields appends the fields and texts in m of e. With old, e is a
// change: Delta fields are sent as differences from old.
func appendFields(dst []byte, e, old *game.Entity, k *game.EntityKind, m Mask) []byte {
	for i := range k.Fields {
		if m&MaskField(i) == 0 {
			continue
		}
		f, v := &k.Fields[i], e.Fields[i]
		switch f.Type {
		case game.Int, game.Fixed:
			if f.Delta && old != nil {
				dst = appendZigzag(dst, int64(v)-int64(old.Fields[i]))
			} else {
				dst = appendZigzag(dst, int64(v))
			}
		case game.Uint, game.Enum:
			dst = binary.AppendUvarint(dst, uint64(uint32(v)))
		case game.Float:
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		case game.Color:
			dst = append(dst, byte(v>>16), byte(v>>8), byte(v))
		case game.Bool: // the mask bit says it all
		}
	}
	for j := range k.Texts {
		if m&MaskText(j) != 0 {
			dst = appendString(dst, truncateText(e.Texts[j], textMax(&k.Texts[j])))
		}
	}
	return dst
}

func textMax(t *game.Text) int {
	if t.MaxLen == 0 {
		return game.MaxText
	}
	return t.MaxLen
}

// truncateText cuts s to at most n bytes, at a character boundary: a game that
// puts a longer text in a field has its clients see the start of it.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// appendKinds appends a welcome's schema: every kind with its fields.
func appendKinds(dst []byte, kinds []game.EntityKind) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(kinds)))
	for i := range kinds {
		k := &kinds[i]
		dst = appendString(dst, k.Name)
		dst = binary.AppendUvarint(dst, uint64(len(k.Fields)))
		for j := range k.Fields {
			f := &k.Fields[j]
			var flags byte
			if f.Delta {
				flags |= 1
			}
			if f.Interp {
				flags |= 2
			}
			dst = appendString(dst, f.Name)
			dst = append(dst, byte(f.Type), flags)
			switch f.Type {
			case game.Int, game.Uint:
				dst = append(dst, width(f))
			case game.Fixed:
				dst = binary.AppendUvarint(dst, uint64(f.Scale))
			case game.Enum:
				dst = binary.AppendUvarint(dst, uint64(len(f.Values)))
				for _, v := range f.Values {
					dst = appendString(dst, v)
				}
			}
		}
		dst = binary.AppendUvarint(dst, uint64(len(k.Texts)))
		for j := range k.Texts {
			dst = appendString(dst, k.Texts[j].Name)
			dst = binary.AppendUvarint(dst, uint64(textMax(&k.Texts[j])))
		}
	}
	return dst
}

func width(f *game.Field) byte {
	if f.Bits == 0 {
		return 32
	}
	return f.Bits
}

// AppendBinaryPong answers a ping.
func AppendBinaryPong(dst []byte, clientTime uint32, tick uint64) []byte {
	dst = binary.LittleEndian.AppendUint32(append(dst, BinPong), clientTime)
	return binary.AppendUvarint(dst, tick)
}

// AppendBinaryRedirect appends a redirect: the room runs on another node of
// the cluster, whose page URL is url; the client connects there instead,
// as it meant to connect here, with ?seat=seat if seat is not empty (a
// seat that node holds for it for a few seconds).
func AppendBinaryRedirect(dst []byte, url, room, seat string) []byte {
	return appendString(appendString(appendString(append(dst, BinRedirect), url), room), seat)
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
	// Redirect: the node to connect to instead, the room, the seat held
	URL, Room, Seat string
}

// ErrMalformed is returned by ParseServerBinary for messages it cannot read.
var ErrMalformed = errors.New("malformed server message")

// ParseServerBinary decodes a binary server message into m, reusing m's
// storage. Decode a connection's messages into the same m: a snapshot is
// read with the kinds of entity of the last welcome m holds (or
// game.BasicKinds).
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
		}
		flags := r.byte()
		m.Welcome.Resumed, m.Welcome.Watching = flags&WelcomeResumed != 0, flags&WelcomeWatching != 0
		m.Welcome.Room = r.string()
		m.Welcome.Mode = r.string()
		m.Welcome.Token = r.string()
		m.Welcome.Axes = nil
		for range r.count() {
			m.Welcome.Axes = append(m.Welcome.Axes, game.Axis{Name: r.string(), Min: int32(r.zigzag()), Max: int32(r.zigzag())})
		}
		m.Welcome.Messages = nil
		for range r.count() {
			m.Welcome.Messages = append(m.Welcome.Messages, game.MessageType{Name: r.string(), MaxBytes: int(min(r.uvarint(), 1<<20))})
		}
		m.Welcome.Kinds = r.kinds()
		m.Welcome.Account = Account{}
		if flags&WelcomeAccount != 0 {
			m.Welcome.Account = Account{ID: r.string(), Name: r.string()}
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
		kinds := m.Welcome.Kinds
		if kinds == nil {
			kinds = game.BasicKinds
		}
		r.delta(&m.Delta, kinds)
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
	case BinRedirect:
		m.URL = r.string()
		m.Room = r.string()
		m.Seat = r.string()
	default:
		return fmt.Errorf("%w: type %#02x", ErrMalformed, m.Type)
	}
	if r.err != nil || len(r.b) != 0 {
		return fmt.Errorf("%w: type %#02x", ErrMalformed, m.Type)
	}
	return nil
}

func (r *reader) delta(d *Delta, kinds []game.EntityKind) {
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
		e := game.Entity{ID: uint32(prev), Kind: game.Kind(r.byte())}
		e.X, e.Y = int32(r.zigzag()), int32(r.zigzag())
		if int(e.Kind) >= len(kinds) {
			r.fail()
			return
		}
		k := &kinds[e.Kind]
		m := r.mask(k)
		e.Away = m&MaskAway != 0
		r.fields(&e, k, m)
		d.Added = append(d.Added, e)
	}
	n = r.count()
	next := uint64(0)
	for range n {
		v := r.uvarint()
		index := next + v>>3
		if index >= 1<<31 {
			r.fail()
			return
		}
		next = index + 1
		c := Change{Mask: Mask(v) & (MaskX | MaskY), old: int32(index)}
		// A decoder without the old state records differences in X and Y,
		// and in Delta fields; ApplyDecoded adds them.
		if v&deltaX != 0 {
			c.Entity.X = int32(r.zigzag())
		}
		if v&deltaY != 0 {
			c.Entity.Y = int32(r.zigzag())
		}
		if v&deltaMore != 0 {
			km := r.uvarint()
			kb := kindBits(kinds)
			c.Entity.Kind = game.Kind(km & (1<<kb - 1))
			if int(c.Entity.Kind) >= len(kinds) {
				r.fail()
				return
			}
			k := &kinds[c.Entity.Kind]
			m, ok := unwire(km>>kb, k)
			if !ok {
				r.fail()
				return
			}
			c.Mask |= m
			r.fields(&c.Entity, k, c.Mask)
		}
		d.Changed = append(d.Changed, c)
	}
}

// mask reads the mask of an added entity of kind k.
func (r *reader) mask(k *game.EntityKind) Mask {
	m, ok := unwire(r.uvarint(), k)
	if !ok {
		r.fail()
	}
	return m
}

func (r *reader) fields(e *game.Entity, k *game.EntityKind, m Mask) {
	for i := range k.Fields {
		if m&MaskField(i) != 0 {
			e.Fields[i] = r.value(&k.Fields[i])
		}
	}
	for j := range k.Texts {
		if m&MaskText(j) != 0 {
			e.Texts[j] = r.string()
		}
	}
}

func (r *reader) value(f *game.Field) int32 {
	switch f.Type {
	case game.Int, game.Fixed:
		return int32(r.zigzag())
	case game.Uint, game.Enum:
		return int32(uint32(r.uvarint()))
	case game.Float:
		return int32(r.uint32())
	case game.Color:
		return int32(r.color())
	case game.Bool:
		return 1
	}
	return 0
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

// take reads the next n bytes, not copied.
func (r *reader) take(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
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

// kinds reads a welcome's schema, bounded as Mode.Check bounds it.
func (r *reader) kinds() []game.EntityKind {
	n := r.uvarint()
	if n > 256 {
		r.fail()
		return nil
	}
	var kinds []game.EntityKind
	for range n {
		k := game.EntityKind{Name: r.string()}
		nf := r.uvarint()
		if nf > game.MaxFields {
			r.fail()
			return nil
		}
		for range nf {
			f := game.Field{Name: r.string(), Type: game.FieldType(r.byte())}
			flags := r.byte()
			f.Delta, f.Interp = flags&1 != 0, flags&2 != 0
			switch f.Type {
			case game.Int, game.Uint:
				f.Bits = r.byte()
			case game.Fixed:
				f.Scale = int32(min(r.uvarint(), math.MaxInt32))
			case game.Enum:
				nv := r.uvarint()
				if nv > 256 {
					r.fail()
					return nil
				}
				for range nv {
					f.Values = append(f.Values, r.string())
				}
			}
			k.Fields = append(k.Fields, f)
		}
		nt := r.uvarint()
		if nt > game.MaxTexts {
			r.fail()
			return nil
		}
		for range nt {
			k.Texts = append(k.Texts, game.Text{Name: r.string(), MaxLen: int(min(r.uvarint(), game.MaxText))})
		}
		if r.err != nil {
			return nil
		}
		kinds = append(kinds, k)
	}
	return kinds
}
