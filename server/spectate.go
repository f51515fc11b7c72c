package server

import (
	"net/url"
	"strconv"

	"github.com/arena-server/arena/protocol"
)

// errSpectating answers a spectator's input or game message: it plays no
// part. The connection stays open.
var errSpectating = &protocol.Error{Code: protocol.CodeSpectating, Message: "you are watching: spectators send no inputs or game messages"}

// spectate reads ?spectate=, and sets s.watching if the client joins as a
// spectator. A spectator needs the native protocol, whose welcome tells
// it so (the seed's init cannot), names a room or none (the default
// room; a quick-join picks a room to play in, not to watch), and brings
// no token: it has nothing to resume.
func (s *session) spectate(q url.Values, roomName, mode string) *protocol.Error {
	if !q.Has("spectate") {
		return nil
	}
	watch, err := strconv.ParseBool(q.Get("spectate"))
	switch {
	case err != nil:
		return &protocol.Error{Code: protocol.CodeBadRequest, Message: "spectate is 1 or 0"}
	case !watch:
		return nil
	case s.isSeed():
		return &protocol.Error{Code: protocol.CodeBadRequest, Message: "spectating needs the native protocol (arena.v1.bin or arena.v1.json)"}
	case roomName == "" && mode != "":
		return &protocol.Error{Code: protocol.CodeBadRequest, Message: "spectating needs a room: name it with room="}
	case q.Has("resume") || q.Has("token"):
		return &protocol.Error{Code: protocol.CodeBadRequest, Message: "a spectator has nothing to resume"}
	}
	s.watching = true
	return nil
}

func (s *session) isSeed() bool {
	_, seed := s.codec.(*seedCodec)
	return seed
}
