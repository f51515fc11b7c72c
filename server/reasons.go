package server

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// reasonID names why a join is refused or a connection ends, once, as
// NATS's ClosedState does. The edge maps it to the wire: the session to
// its error message and close frame, the HTTP API and the handshake to a
// status. docs/protocol.md and web/client/js/net.js say the same, and
// reasons_test.go checks that they do.
type reasonID uint8

const (
	reasonNone reasonID = iota // no reason yet: the session is open

	// A room or the server ends the connection.
	reasonShutdown
	reasonRoomClosed
	reasonCrashed
	reasonTakenOver
	reasonGameOver
	reasonMoved
	// The client breaks a limit, or goes away.
	reasonFlood
	reasonFrameFlood
	reasonSlowMessage
	reasonSlow
	reasonNoPong
	reasonTooBig
	reasonLeft
	reasonPeerClosed
	reasonNetwork
	// A relay to the room's node ends.
	reasonRelayClosed
	reasonRelayLost
	// A join is refused.
	reasonRoomFull
	reasonSeats
	reasonMaxRooms
	reasonCreateRate
	reasonFull
	reasonNoPlayerID
	reasonJoinRate
	reasonPassword
	reasonSpectators
	reasonNoWatching
	reasonGameRefused
	reasonHookRefused
	reasonHookLate
	reasonHookBroken
	reasonResumeFailed
	reasonResumeTimeout
	reasonAuthRequired
	reasonAuthFailed
	reasonAuthTimeout
	reasonAuthUnavailable
	reasonStorage
	reasonBanned
	reasonSignedOut
	reasonBadRequest
	reasonBadOption
	reasonRedirect
	reasonElsewhere
	reasonInternal
	// A WebSocket upgrade is refused.
	reasonOrigin
	reasonSubprotocol
	reasonHandshake
	reasonDraining
	reasonMaxConns
	reasonMaxConnsPerIP
	// Answers of the HTTP API only.
	reasonRoomExists
	reasonNoRoom
	reasonNoMode
	reasonBusy
	reasonBadPassword

	numReasons
)

// retryPolicy is what a client does after a reason: docs/protocol.md's
// "reconnect?" column, and net.js's NEVER, LATER and NOW.
type retryPolicy uint8

const (
	retryNever retryPolicy = iota // final: fix the request, or it is over
	retryLater                    // with backoff: it passes with time
	retryNow                      // at once (then with backoff)
)

func (p retryPolicy) String() string {
	return [...]string{"never", "later", "now"}[p]
}

// reasonInfo is a reason on the wire.
type reasonInfo struct {
	label  string      // for logs and metrics
	code   string      // the error message a refusal sends before its close; "" if none
	close  int         // the WebSocket close code; 0: no close frame (the socket is gone)
	status int         // the HTTP status of the API or of a refused upgrade; 0 if none
	after  int         // with status, the Retry-After seconds; 0: none
	retry  retryPolicy // what the client should do
	text   string      // the message and close text; "" where the edge gives its own
}

// reasons is the table: one entry per reason.
var reasons = [numReasons]reasonInfo{
	reasonShutdown:   {"shutdown", protocol.CodeServerError, websocket.CloseGoingAway, 0, 0, retryLater, "server shutting down"},
	reasonRoomClosed: {"room_closed", protocol.CodeServerError, websocket.CloseGoingAway, 0, 0, retryLater, "room closed"},
	reasonCrashed:    {"room_crashed", protocol.CodeServerError, websocket.CloseInternalServerErr, 0, 0, retryLater, "room stopped after an internal error"},
	reasonTakenOver:  {"taken_over", protocol.CodeServerError, CloseTakenOver, 0, 0, retryNever, "another connection resumed this player"},
	reasonGameOver:   {"game_over", protocol.CodeServerError, websocket.CloseNormalClosure, 0, 0, retryNever, "the game is over"},
	reasonMoved:      {"moved", "", websocket.CloseServiceRestart, 0, 0, retryNow, "the room moved to another node: reconnect"},
	reasonFlood:      {"flood", "", websocket.ClosePolicyViolation, 0, 0, retryNever, "too many messages"},
	// Past the message rate on a frame that starts no message: a
	// continuation, ping, pong or close frame.
	reasonFrameFlood: {"frame_flood", "", websocket.ClosePolicyViolation, 0, 0, retryNever, "too many frames"},
	// A message that began and did not arrive whole in time.
	reasonSlowMessage: {"slow_message", "", websocket.ClosePolicyViolation, 0, 0, retryNever, "message not finished in time"},
	reasonSlow:        {"slow", "", websocket.ClosePolicyViolation, 0, 0, retryLater, "client too slow to keep up"},
	reasonNoPong:      {"no_pong", "", websocket.ClosePolicyViolation, 0, 0, retryLater, "no answer to ping"},
	reasonTooBig:      {"too_big", "", websocket.CloseMessageTooBig, 0, 0, retryNever, ""},
	reasonLeft:        {"left", "", websocket.CloseNormalClosure, 0, 0, retryNever, ""},
	reasonPeerClosed:  {"client_closed", "", websocket.CloseNormalClosure, 0, 0, retryNever, ""}, // the echo of the peer's close
	reasonNetwork:     {"network", "", 0, 0, 0, retryLater, ""},
	reasonRelayClosed: {"relay_closed", "", 0, 0, 0, retryLater, ""}, // the other node's close, passed on
	reasonRelayLost:   {"relay_lost", "", websocket.CloseGoingAway, 0, 0, retryLater, "the room's node went away"},

	reasonRoomFull:   {"room_full", protocol.CodeRoomFull, websocket.CloseTryAgainLater, http.StatusServiceUnavailable, 5, retryLater, "room is full"},
	reasonSeats:      {"seats_per_ip", protocol.CodeTooManySeats, websocket.ClosePolicyViolation, http.StatusTooManyRequests, 0, retryLater, "too many players from your address"},
	reasonMaxRooms:   {"max_rooms", protocol.CodeTooManyRooms, websocket.CloseTryAgainLater, http.StatusServiceUnavailable, 30, retryLater, "the server holds as many rooms as it may"},
	reasonCreateRate: {"room_create_rate", protocol.CodeRateLimited, websocket.ClosePolicyViolation, http.StatusTooManyRequests, 10, retryLater, "rooms created too fast from your address"},
	reasonFull:       {"server_full", protocol.CodeServerFull, websocket.CloseTryAgainLater, http.StatusServiceUnavailable, 5, retryLater, "the server is at capacity; try again in a little while"},
	reasonNoPlayerID: {"player_ids", protocol.CodeServerFull, websocket.CloseTryAgainLater, 0, 0, retryLater, "no player ID at hand; try again in a moment"},
	reasonJoinRate:   {"join_rate", protocol.CodeRateLimited, websocket.CloseTryAgainLater, http.StatusTooManyRequests, 1, retryLater, errJoinRate.Error()},
	// Final: the client must get a seat with the password first.
	reasonPassword:      {"password_required", protocol.CodePasswordRequired, websocket.ClosePolicyViolation, 0, 0, retryNever, "the room has a password: get a seat from POST /api/rooms/NAME/join"},
	reasonSpectators:    {"max_spectators", protocol.CodeRoomFull, websocket.CloseTryAgainLater, 0, 0, retryLater, "the room has as many spectators as it may"},
	reasonNoWatching:    {"no_spectators", protocol.CodeRefused, websocket.ClosePolicyViolation, 0, 0, retryNever, "this game mode takes no spectators"},
	reasonGameRefused:   {"game_refused", protocol.CodeRefused, websocket.ClosePolicyViolation, 0, 0, retryNever, ""},           // the game's text
	reasonHookRefused:   {"join_hook_refused", protocol.CodeUnauthorized, websocket.ClosePolicyViolation, 0, 0, retryNever, ""}, // the hook's text
	reasonHookLate:      {"join_hook_timeout", protocol.CodeServerError, websocket.CloseTryAgainLater, 0, 0, retryLater, errHookLate.Error()},
	reasonHookBroken:    {"join_hook_failed", protocol.CodeServerError, websocket.CloseInternalServerErr, 0, 0, retryLater, errHookBroken.Error()},
	reasonResumeFailed:  {"resume_failed", protocol.CodeResumeFailed, websocket.ClosePolicyViolation, 0, 0, retryNever, room.ErrResumeFailed.Error()},
	reasonResumeTimeout: {"resume_timeout", protocol.CodeBadRequest, websocket.ClosePolicyViolation, 0, 0, retryNever, ""},
	// Accounts. A join that did not sign in where it must: final, sign in
	// first. A token that fails: refresh it and join again, once. A ban
	// or a sign-out everywhere, as a join's refusal or a live
	// connection's end: final, with close codes of their own, so that a
	// client that reads no error message still knows not to reconnect.
	reasonAuthRequired:    {"auth_required", protocol.CodeAuthRequired, websocket.ClosePolicyViolation, 0, 0, retryNever, room.ErrAuthRequired.Error()},
	reasonAuthFailed:      {"auth_failed", protocol.CodeAuthFailed, websocket.ClosePolicyViolation, 0, 0, retryNow, errAuthFailed.Error()},
	reasonAuthTimeout:     {"auth_timeout", protocol.CodeBadRequest, websocket.ClosePolicyViolation, 0, 0, retryNever, ""},
	reasonAuthUnavailable: {"auth_unavailable", protocol.CodeServerError, websocket.CloseTryAgainLater, 0, 0, retryLater, ErrAuthUnavailable.Error()},
	// A joining player's storage could not be read: seated without it,
	// its game could save over its progress.
	reasonStorage:    {"storage_unavailable", protocol.CodeServerError, websocket.CloseTryAgainLater, 0, 0, retryLater, room.ErrStorageUnavailable.Error()},
	reasonBanned:     {"banned", protocol.CodeBanned, CloseBanned, 0, 0, retryNever, ErrBanned.Error()},
	reasonSignedOut:  {"signed_out", protocol.CodeSignedOut, CloseSignedOut, 0, 0, retryNever, ErrSignedOut.Error()},
	reasonBadRequest: {"bad_request", protocol.CodeBadRequest, websocket.ClosePolicyViolation, http.StatusBadRequest, 0, retryNever, ""},
	reasonBadOption:  {"bad_option", protocol.CodeBadOption, websocket.ClosePolicyViolation, http.StatusBadRequest, 0, retryNever, ""},
	reasonRedirect:   {"redirect", "", websocket.CloseNormalClosure, 0, 0, retryNow, ""}, // after a redirect message, which the client follows
	reasonElsewhere:  {"elsewhere", protocol.CodeElsewhere, websocket.CloseTryAgainLater, 0, 0, retryLater, ""},
	reasonInternal:   {"internal", protocol.CodeServerError, websocket.CloseInternalServerErr, http.StatusInternalServerError, 0, retryLater, "internal error"},

	reasonOrigin:        {"origin", "", 0, http.StatusForbidden, 0, retryNever, ""},
	reasonSubprotocol:   {"subprotocol", "", 0, http.StatusBadRequest, 0, retryNever, ""},
	reasonHandshake:     {"handshake", "", 0, http.StatusBadRequest, 0, retryNever, ""}, // the status is the WebSocket library's
	reasonDraining:      {"draining", "", 0, http.StatusServiceUnavailable, 5, retryLater, "server is shutting down"},
	reasonMaxConns:      {"max_connections", "", 0, http.StatusServiceUnavailable, 5, retryLater, "server is at its connection limit"},
	reasonMaxConnsPerIP: {"max_connections_per_ip", "", 0, http.StatusTooManyRequests, 5, retryLater, "too many connections from your address"},

	reasonRoomExists:  {"room_exists", protocol.CodeBadRequest, 0, http.StatusConflict, 0, retryNever, ""},
	reasonNoRoom:      {"no_room", protocol.CodeBadRequest, 0, http.StatusNotFound, 0, retryNever, ""},
	reasonNoMode:      {"no_mode", protocol.CodeBadRequest, 0, http.StatusNotFound, 0, retryNever, ""},
	reasonBusy:        {"busy", protocol.CodeServerFull, 0, http.StatusServiceUnavailable, 5, retryLater, "busy; try again shortly"},
	reasonBadPassword: {"bad_password", protocol.CodeBadPassword, 0, http.StatusForbidden, 0, retryNever, ""},
}

func (r reasonID) info() reasonInfo { return reasons[r] }

// wire is the close of reason r with its own code and text.
func (r reasonID) wire() closeReason {
	return closeReason{r, reasons[r].close, reasons[r].text}
}

// withText is the close of reason r with text of the edge's own (a game's
// refusal, a bad request's detail): the table's is the default.
func (r reasonID) withText(text string) closeReason {
	c := r.wire()
	if text != "" {
		c.text = text
	}
	return c
}

// closeReason is a reason as a connection ends with it: the close frame's
// code and text, which the table gives unless the edge knows better (a
// relayed close, a move). A zero code sends no close frame (the socket is
// already broken, or the peer closed first).
type closeReason struct {
	why  reasonID
	code int
	text string
}

// label is the reason's, for logs and metrics.
func (c closeReason) label() string { return reasons[c.why].label }

// roomErrors maps the errors a room or the manager ends a connection, or
// refuses a join or a request, with to their reasons: ws for the
// WebSocket, api for the HTTP API where it answers otherwise (0: as ws;
// none at all: internal). In order: the first that matches wins.
var roomErrors = []struct {
	err     error
	ws, api reasonID
}{
	{room.ErrShutdown, reasonShutdown, reasonBusy},
	{room.ErrRoomCrashed, reasonCrashed, 0},
	{room.ErrTakenOver, reasonTakenOver, 0},
	{room.ErrGameOver, reasonGameOver, 0},
	{room.ErrRoomFull, reasonRoomFull, 0},
	{room.ErrTooManySeats, reasonSeats, 0},
	{room.ErrTooManyRooms, reasonMaxRooms, 0},
	{room.ErrCreateRate, reasonCreateRate, 0},
	{room.ErrRoomClosed, reasonRoomClosed, reasonBusy},
	{room.ErrServerFull, reasonFull, 0},
	{room.ErrNoPlayerID, reasonNoPlayerID, 0},
	{errJoinRate, reasonJoinRate, 0},
	{room.ErrPasswordRequired, reasonPassword, 0},
	{room.ErrTooManySpectators, reasonSpectators, 0},
	{room.ErrNoSpectators, reasonNoWatching, 0},
	{room.ErrBadRoomName, reasonBadRequest, 0},
	{room.ErrUnknownMode, reasonBadRequest, 0},
	{room.ErrWrongMode, reasonBadRequest, 0},
	{game.ErrBadOption, reasonBadOption, 0},
	{errNoResume, reasonResumeTimeout, 0},
	{errNoAuth, reasonAuthTimeout, 0},
	{room.ErrAuthRequired, reasonAuthRequired, 0},
	{room.ErrAccountsOff, reasonBadRequest, 0},
	{errAccountsOff, reasonBadRequest, 0},
	{errAuthFailed, reasonAuthFailed, 0},
	{ErrAuthUnavailable, reasonAuthUnavailable, 0},
	{room.ErrStorageUnavailable, reasonStorage, 0},
	{ErrBanned, reasonBanned, 0},
	{ErrSignedOut, reasonSignedOut, 0},
	{room.ErrRoomExists, 0, reasonRoomExists},
	{room.ErrNoRoom, 0, reasonNoRoom},
	{context.DeadlineExceeded, 0, reasonBusy}, // every hashing slot busy for hashWait
}

// wsReason is the WebSocket's reason for a room's error, if it has one.
func wsReason(err error) (reasonID, bool) {
	for _, e := range roomErrors {
		if e.ws != 0 && errors.Is(err, e.err) {
			return e.ws, true
		}
	}
	return reasonInternal, false
}

// apiReason is the HTTP API's reason for a room's error, if it has one:
// one with an HTTP status.
func apiReason(err error) (reasonID, bool) {
	for _, e := range roomErrors {
		if errors.Is(err, e.err) {
			if why := cmp.Or(e.api, e.ws); why.info().status != 0 {
				return why, true
			}
			break
		}
	}
	return reasonInternal, false
}

// reasonFor maps a room's reason for ending a connection to the wire.
func reasonFor(err error) closeReason {
	why, _ := wsReason(err)
	return why.wire()
}

// writeReason answers an HTTP request refused for why, with text, or the
// reason's own if text is "".
func writeReason(w http.ResponseWriter, why reasonID, text string) {
	info := why.info()
	if info.after > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(info.after))
	}
	if text == "" {
		text = info.text
	}
	writeError(w, info.status, info.code, text)
}
