// Package protocol holds arena's wire formats: the seed's JSON protocol,
// which every client written for the original demo speaks, and arena's
// native protocol. Encoders append to a caller's buffer; decoders never
// panic on any input and report what is wrong with an *Error.
package protocol

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/arena-server/arena/game"
)

// Error is a client message that could not be used. Code is stable and
// machine-readable; Message explains it to a person.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Codes of the errors the server answers bad input with.
const (
	CodeInvalidJSON       = "invalid_json"
	CodeNotObject         = "not_object"
	CodeMissingType       = "missing_type"
	CodeUnknownType       = "unknown_type"
	CodeMissingDirection  = "missing_direction"
	CodeUnknownDirection  = "unknown_direction"
	CodeBinaryUnsupported = "binary_unsupported"
	CodeTextUnsupported   = "text_unsupported"
	CodeMalformed         = "malformed"
	CodeBadButtons        = "bad_buttons"
	CodeBadInput          = "bad_input" // analog input the mode does not declare, or out of its bounds
	// CodeBadMessage: a game message of a type the mode does not declare,
	// too large, not JSON, or refused by the game.
	CodeBadMessage   = "bad_message"
	CodeBadRequest   = "bad_request"
	CodeRoomFull     = "room_full"
	CodeServerError  = "server_error"
	CodeTooManySeats = "too_many_seats" // the address holds as many players as it may
	CodeTooManyRooms = "too_many_rooms" // the server holds as many rooms as it may
	CodeRateLimited  = "rate_limited"   // rooms created too fast from this address
	CodeBadOption    = "bad_option"     // a room or join option the mode does not allow
	CodeServerFull   = "server_full"    // the server has no CPU to spare for another player; try again shortly
	CodeRefused      = "refused"        // the game refused the player, by its rules (the message says why): final
	CodeElsewhere    = "room_elsewhere" // the room runs on another node of the cluster, and this client cannot be redirected
	// CodePasswordRequired: a join of a room with a password brought no
	// seat its password obtained (POST /api/rooms/NAME/join): final.
	CodePasswordRequired = "password_required"
	// CodeBadPassword: POST /api/rooms/NAME/join with a wrong password.
	CodeBadPassword = "bad_password"
	// CodeUnexpectedResume: a resume message anywhere but first on a
	// connection opened with ?resume=1.
	CodeUnexpectedResume = "unexpected_resume"
	// CodeUnauthorized: the program that runs the server refused the join
	// (its join hook: a missing or bad ticket, say); the message is its
	// own. Final: the same join is refused again.
	CodeUnauthorized = "unauthorized"
	// CodeResumeFailed: a resume's token resumes nobody, on a server that
	// seats new players only through its join hook: join again without
	// the token.
	CodeResumeFailed = "resume_failed"
	// CodeSpectating: an input or a game message from a spectator
	// (?spectate=1), which plays no part. The connection stays open.
	CodeSpectating = "spectating"
	// CodeAuthRequired: the server (or the mode) plays only with an
	// account, and the join brought no access token (?auth=1 and an auth
	// message first). Final: sign in, then join with the token.
	CodeAuthRequired = "auth_required"
	// CodeAuthFailed: the auth message's access token is not valid, or has
	// expired. Not final: refresh it, and join again once with the new one.
	CodeAuthFailed = "auth_failed"
	// CodeBanned: the account is banned; the message says why and until
	// when. Final, both as a join's refusal and as a live connection's end.
	CodeBanned = "banned"
	// CodeSignedOut: the account signed out everywhere (or was deleted),
	// and its live connections end. Final: sign in again.
	CodeSignedOut = "signed_out"
	// CodeUnexpectedAuth: an auth message anywhere but first on a
	// connection opened with ?auth=1. It is ignored.
	CodeUnexpectedAuth = "unexpected_auth"
)

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// MessageKind says what a client message asks for.
type MessageKind uint8

// Kinds of client messages, common to every protocol.
const (
	// MsgInput sets the buttons a player holds.
	MsgInput MessageKind = iota
	// MsgLeave says the player leaves on purpose: no resume.
	MsgLeave
	// MsgPing asks for a pong carrying the client's timestamp back.
	MsgPing
	// MsgResync asks for a full snapshot.
	MsgResync
	// MsgResume presents a resume token. It is valid only as the first
	// message of a connection opened with ?resume=1, so that the token
	// never travels in a URL, where proxies and servers log it.
	MsgResume
	// MsgGame is a message for the game, of a type its mode declares.
	MsgGame
	// MsgAuth presents an access token (Access), and optionally a resume
	// token (Token). It is valid only as the first message of a connection
	// opened with ?auth=1: the token stays out of URLs, as resume's does.
	MsgAuth
)

// ClientMessage is a decoded client message of any protocol.
type ClientMessage struct {
	Kind MessageKind
	// Seq numbers native inputs; zero for seed moves.
	Seq     uint32
	Buttons game.Buttons
	// Once marks a seed move: a single step, not a held key.
	Once bool
	// Tick is the server tick a native input is meant for; 0 applies it at
	// the next tick.
	Tick uint64
	// Lag is how many ticks before Tick the world was that the player saw
	// (its others drawn Lag ticks in the past) as it chose a native input:
	// what lag compensation rewinds. 0 is none or unknown. At most MaxLag.
	Lag uint32
	// Time is the client's timestamp of a ping, echoed in the pong.
	Time uint32
	// Token is a resume message's token, or the optional resume token of
	// an auth message.
	Token string
	// Access is an auth message's access token.
	Access string
	// Axes are a native input's analog values, NAxes of them, in the
	// order the mode declares its axes. CheckAxes validates them against
	// the mode.
	Axes  [game.MaxAxes]int32
	NAxes int
	// TypeIndex and TypeName name a game message's type: binary clients
	// send its index in the welcome's list, JSON clients its name
	// (TypeIndex is then -1). Data is the message's JSON value, copied out
	// of the frame. CheckMessage resolves and checks them.
	TypeIndex int
	TypeName  string
	Data      []byte
}

// CheckMessage resolves a game message's type against the types its
// room's mode declares, and checks its data: valid JSON, within the type's
// bound. It returns the type's index.
func CheckMessage(m *ClientMessage, types []game.MessageType) (int, *Error) {
	i := m.TypeIndex
	if i < 0 {
		i = slices.IndexFunc(types, func(t game.MessageType) bool { return t.Name == m.TypeName })
	}
	if i < 0 || i >= len(types) {
		if len(types) == 0 {
			return 0, errorf(CodeBadMessage, "this mode takes no messages")
		}
		return 0, errorf(CodeBadMessage, "this mode has no message type %q (index %d)", truncateString(m.TypeName), m.TypeIndex)
	}
	maxBytes, _, _ := types[i].Limits()
	if len(m.Data) > maxBytes {
		return 0, errorf(CodeBadMessage, "a %s message holds at most %d bytes of data, not %d", types[i].Name, maxBytes, len(m.Data))
	}
	if !json.Valid(m.Data) {
		return 0, errorf(CodeBadMessage, "a message's data must be a JSON value")
	}
	return i, nil
}

func truncateString(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// CheckAxes checks an input's analog values against the axes its room's
// mode declares: no more values than axes, each within its axis's bounds.
// Fewer values than axes leave the rest at zero.
func CheckAxes(m *ClientMessage, axes []game.Axis) *Error {
	if m.NAxes > len(axes) {
		return errorf(CodeBadInput, "input has %d analog values; this mode declares %d axes", m.NAxes, len(axes))
	}
	for i, v := range m.Axes[:m.NAxes] {
		if a := axes[i]; v < a.Min || v > a.Max {
			return errorf(CodeBadInput, "axis %d (%s) is %d, outside %d..%d", i, a.Name, v, a.Min, a.Max)
		}
	}
	return nil
}

// MaxLag bounds an input's Lag as decoded; the room caps it much lower,
// at game.MaxRewindMillis.
const MaxLag = 1 << 16

// maxToken bounds a resume token; arena's are 22 characters.
const maxToken = 64

func checkToken(token string) *Error {
	if token == "" || len(token) > maxToken {
		return errorf(CodeMalformed, "resume needs a token of 1 to %d bytes", maxToken)
	}
	return nil
}

// MaxAccessToken bounds an auth message's access token. arena's own are
// JWTs of about 300 bytes, and a studio's rarely pass 1 KiB; 2 KiB leaves
// room for both and keeps the whole message within the default message
// limit (4 KiB), wrapped in JSON.
const MaxAccessToken = 2048

// checkAccess checks an access token's shape: 1 to MaxAccessToken bytes of
// printable ASCII, which every JWT and opaque token is, so that nothing
// that reaches a log or an error can be a control character.
func checkAccess(token string) *Error {
	if token == "" || len(token) > MaxAccessToken {
		return errorf(CodeMalformed, "auth needs a token of 1 to %d bytes", MaxAccessToken)
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c < 0x21 || c > 0x7e {
			return errorf(CodeMalformed, "an access token is printable ASCII; byte %d is %#02x", i, c)
		}
	}
	return nil
}

// Account is who a player is to the server's accounts, as the welcome
// tells the client: its account's ID and display name. Zero: a guest of
// no account.
type Account struct {
	ID, Name string
}
