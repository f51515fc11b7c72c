package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// RoomInfo describes a live room in GET /api/rooms.
type RoomInfo struct {
	Name       string  `json:"name"`
	Mode       string  `json:"mode"`
	Players    int     `json:"players"`
	Capacity   int     `json:"capacity"` // 0: no limit
	TickRate   int     `json:"tick_rate"`
	TickMillis float64 `json:"tick_ms"` // recent average time to run a tick
}

func roomInfo(st room.Stats) RoomInfo {
	return RoomInfo{
		Name:       st.Name,
		Mode:       st.Mode,
		Players:    st.Players,
		Capacity:   st.Capacity,
		TickRate:   st.TickRate,
		TickMillis: float64(st.TickTime.Microseconds()) / 1000,
	}
}

func (s *Server) serveRooms(w http.ResponseWriter, _ *http.Request) {
	stats := s.rooms.Rooms()
	rooms := make([]RoomInfo, len(stats))
	for i, st := range stats {
		rooms[i] = roomInfo(st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
}

// ModeInfo describes a game mode in GET /api/modes.
type ModeInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Default     bool   `json:"default"`
}

func (s *Server) serveModes(w http.ResponseWriter, _ *http.Request) {
	var modes []ModeInfo
	for i, m := range s.rooms.Modes() {
		modes = append(modes, ModeInfo{Name: m.Name, Description: m.Description, Default: i == 0})
	}
	writeJSON(w, http.StatusOK, map[string]any{"modes": modes})
}

// serveMatchmake answers POST /api/matchmake {"mode":"tag"} with the room a
// quick-join should go to: {"room":"tag-k3x9pq","mode":"tag"}. The room is
// created when the first player connects to it.
func (s *Server) serveMatchmake(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode string `json:"mode"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, `send {"mode":"NAME"} or an empty body`)
		return
	}
	if req.Mode == "" {
		req.Mode = r.URL.Query().Get("mode")
	}
	name, err := s.rooms.Match(req.Mode)
	if errors.Is(err, room.ErrUnknownMode) {
		writeError(w, http.StatusNotFound, protocol.CodeBadRequest, err.Error())
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, protocol.CodeServerError, err.Error())
		return
	}
	mode, _ := s.rooms.Mode(req.Mode)
	writeJSON(w, http.StatusOK, map[string]string{"room": name, "mode": mode.Name})
}

// MaxNameLength is the longest nickname, in characters.
const MaxNameLength = 16

// nickname validates a player's chosen name. Names are shown to others, so
// they are short and printable; clients still render them as text, never
// as markup.
func nickname(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) {
		return "", &protocol.Error{Code: protocol.CodeBadRequest, Message: "names must be valid UTF-8"}
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return "", &protocol.Error{Code: protocol.CodeBadRequest, Message: fmt.Sprintf("names are at most %d characters", MaxNameLength)}
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", &protocol.Error{Code: protocol.CodeBadRequest, Message: "names may only hold printable characters"}
		}
	}
	return name, nil
}
