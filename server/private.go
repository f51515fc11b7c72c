package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/addrlimit"
	"github.com/arena-server/arena/internal/password"
	"github.com/arena-server/arena/internal/strictjson"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// Wrong room passwords are throttled per address (throttleKey): a burst of
// passwordFailureBurst, then passwordFailureRate a second (5 a minute).
// An address past them is answered 429 without its password being
// checked, so guessing runs at that rate however fast it asks, and the
// hashing it would cost is not spent.
const (
	passwordFailureBurst = 10
	passwordFailureRate  = rate.Limit(5.0 / 60)
	passwordMaxAddrs     = 10000
)

func newPasswordThrottle() *addrlimit.Limiter {
	return addrlimit.New(passwordFailureRate, passwordFailureBurst, passwordMaxAddrs)
}

// maxRoomBody bounds the bodies of POST /api/rooms and its join.
const maxRoomBody = 4 << 10

// hashWait bounds how long a request waits for one of the few hashing
// slots (internal/password) before it is told to come back.
const hashWait = 5 * time.Second

// readBody decodes a small JSON body strictly into v; an empty body leaves
// v as it is. It answers the error itself, and returns false, if it fails.
//
// The body must say it is JSON: a browser sends that cross-origin only
// after a CORS preflight, which arena does not answer, so no other site
// can make its visitors create rooms or try passwords in their names.
func readBody(w http.ResponseWriter, r *http.Request, v any, want string) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, protocol.CodeBadRequest, "send Content-Type: application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRoomBody))
	if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, protocol.CodeBadRequest, fmt.Sprintf("the body is limited to %d bytes", maxRoomBody))
		return false
	}
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = strictjson.Unmarshal(body, v)
	}
	if err != nil {
		if dup := new(strictjson.DuplicateKeyError); errors.As(err, &dup) {
			want = dup.Error() + ": " + want
		}
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, want)
		return false
	}
	return true
}

// checkPassword refuses a password arena would not take: too long, or not
// text.
func checkPassword(pw string) error {
	if len(pw) > password.MaxLen || !utf8.ValidString(pw) {
		return fmt.Errorf("a password is valid UTF-8 of at most %d bytes", password.MaxLen)
	}
	return nil
}

// serveCreateRoom answers POST /api/rooms {"name":…, "mode":…,
// "options":{…}, "private":true, "password":…}: it creates the room
// (charged to the address's room-creation rate like any) and answers 201
// with its RoomInfo, or 409 if a room of that name is live. Only the
// password's argon2id hash is kept.
func (s *Server) serveCreateRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string      `json:"name"`
		Mode     string      `json:"mode"`
		Options  jsonOptions `json:"options"`
		Private  bool        `json:"private"`
		Password string      `json:"password"`
	}
	if !readBody(w, r, &req, `send {"name":"NAME","mode":"MODE","options":{"NAME":"VALUE"},"private":true,"password":"…"}, each optional`) {
		return
	}
	if req.Name != "" && !room.ValidName(req.Name) {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, room.ErrBadRoomName.Error())
		return
	}
	if err := checkPassword(req.Password); err != nil {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	mode, err := s.rooms.Mode(req.Mode)
	if err == nil {
		_, err = game.ParseOptions(mode.RoomOptions, req.Options)
	}
	ip := s.clientIP(r)
	if err == nil {
		// Refused before the hash is paid for, charged after.
		err = s.rooms.MayCreate(ip)
	}
	var hash string
	if err == nil && req.Password != "" {
		ctx, cancel := context.WithTimeout(r.Context(), hashWait)
		hash, err = password.Hash(ctx, req.Password)
		cancel()
	}
	var rm *room.Room
	if err == nil {
		rm, err = s.rooms.Create(r.Context(), req.Name, mode.Name, ip, req.Options, req.Private, hash)
	}
	if err != nil {
		s.writeRoomError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, roomInfo(rm.Stats()))
}

// serveRoomJoin answers POST /api/rooms/NAME/join {"password":…} with a
// seat held for the caller's address: {"seat":…,"url":…}, which a
// WebSocket join presents (url + /ws?room=NAME&seat=SEAT) within
// seatHold, once. The password travels in a body only, never in a URL.
// Wrong passwords are throttled per address. In a cluster, a room another
// node runs is answered 307 to that node's same endpoint: the password
// goes there over HTTP, not through NATS.
func (s *Server) serveRoomJoin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !room.ValidName(name) {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, room.ErrBadRoomName.Error())
		return
	}
	ip := s.clientIP(r)
	key := throttleKey(ip)
	if wait := s.passwords.Wait(key); wait > 0 {
		s.metrics.passwordFailures.WithLabelValues("throttled").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, http.StatusTooManyRequests, protocol.CodeRateLimited, "too many wrong passwords from your address; retry later")
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if !readBody(w, r, &req, `send {"password":"…"}`) {
		return
	}
	// A seat is a join's first half, and may cost a hash: it counts
	// against the join rate, so that one address knowing the password
	// cannot keep the hashing slots busy for everyone else.
	if s.joins != nil && !s.joins.Allow(ip) {
		s.countAPIRefusal(reasonJoinRate)
		writeReason(w, reasonJoinRate, "")
		return
	}
	if err := checkPassword(req.Password); err != nil {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), hashWait)
	defer cancel()
	seat, err := s.rooms.ReservePassword(ctx, name, ip, req.Password, seatHold, password.Verify)
	if errors.Is(err, room.ErrNoRoom) {
		if to := s.ownerElsewhere(name); to != nil && to.URL != "" {
			w.Header().Set("Location", strings.TrimSuffix(to.URL, "/")+"/api/rooms/"+name+"/join")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
	}
	if errors.Is(err, room.ErrBadPassword) {
		s.passwords.Allow(key)
		s.metrics.passwordFailures.WithLabelValues("wrong").Inc()
		writeReason(w, reasonBadPassword, err.Error())
		return
	}
	if err != nil {
		s.writeRoomError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"seat": seat, "url": s.selfURL(r)})
}

// selfURL is where clients reach this server: its node's URL in a
// cluster (-public-url), else the address the request came to, https if
// it came over TLS, to us or (with -client-ip-header, behind a proxy we
// trust) to the proxy.
func (s *Server) selfURL(r *http.Request) string {
	if n, ok := s.cluster.nodeOf(s.cluster.node()); ok && n.URL != "" {
		return n.URL
	}
	scheme := "http"
	if r.TLS != nil || (s.cfg.ClientIPHeader != "" && r.Header.Get("X-Forwarded-Proto") == "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeRoomError answers a refused creation or seat in the API's style.
func (s *Server) writeRoomError(w http.ResponseWriter, err error) {
	why, known := apiReason(err)
	text := err.Error()
	if !known {
		s.log.Error("room request failed", "err", err)
	}
	if why == reasonBusy || why == reasonInternal {
		text = "" // the reason's own: the error's would tell of internals
	}
	s.countAPIRefusal(why)
	writeReason(w, why, text)
}

// countAPIRefusal counts a refusal of the HTTP API in the refused metric:
// those of the limits it shares with WebSocket joins.
func (s *Server) countAPIRefusal(why reasonID) {
	switch why {
	case reasonBadOption, reasonMaxRooms, reasonCreateRate, reasonJoinRate:
		s.metrics.refused.WithLabelValues(why.info().label).Inc()
	}
}

// ownerElsewhere is where the room name runs if the cluster's directory
// gives it to another node: the directory's own lookup, one map read,
// rather than a copy of every room. Nil alone.
func (s *Server) ownerElsewhere(name string) *room.ElsewhereError {
	if d := s.cluster.directory(); d != nil {
		return d.Owner(name)
	}
	return nil
}
