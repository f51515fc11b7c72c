// Package protocol holds arena's wire formats: the seed's JSON protocol,
// which every client written for the original demo speaks, and arena's
// native protocol. Encoders append to a caller's buffer; decoders never
// panic on any input and report what is wrong with an *Error.
package protocol

import "fmt"

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
	CodeBadRequest        = "bad_request"
	CodeRoomFull          = "room_full"
	CodeServerError       = "server_error"
)

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
