package server

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/strictjson"
	"github.com/arena-server/arena/protocol"
	"github.com/arena-server/arena/room"
)

// RoomInfo describes a live room in GET /api/rooms.
type RoomInfo struct {
	Name     string `json:"name"`
	Mode     string `json:"mode"`
	Players  int    `json:"players"`
	Capacity int    `json:"capacity"` // 0: no limit
	// Spectators counts those who watch (?spectate=1), apart from the
	// players: they hold no seat.
	Spectators int     `json:"spectators"`
	TickRate   int     `json:"tick_rate"`
	TickMillis float64 `json:"tick_ms"` // recent average time to run a tick
	// Options are the room options its creator gave, but for those its
	// mode marks secret.
	Options map[string]string `json:"options,omitempty"`
	// Private rooms are listed to the admin only; Password says the room
	// has one (never what it is).
	Private  bool `json:"private,omitempty"`
	Password bool `json:"password,omitempty"`
	// Node is the cluster node the room runs on; none without a cluster.
	// The tick time of a room on another node is not known here.
	Node string `json:"node,omitempty"`
}

func roomInfo(st room.Stats) RoomInfo {
	return RoomInfo{
		Name:       st.Name,
		Mode:       st.Mode,
		Players:    st.Players,
		Capacity:   st.Capacity,
		Spectators: st.Spectators,
		TickRate:   st.TickRate,
		TickMillis: float64(st.TickTime.Microseconds()) / 1000,
		Options:    st.Options.Public(),
		Private:    st.Private,
		Password:   st.Locked,
	}
}

// Pages of GET /api/rooms: anyone can create rooms, so the list is long
// only if someone made it so; a page is bounded whatever the count.
const (
	defaultRoomsLimit = 50
	maxRoomsLimit     = 200
)

// serveRooms answers GET /api/rooms?limit=N&offset=M with a page of the
// live rooms, the fullest first (then by name): {"rooms":[...],"total":T,
// "offset":M,"limit":N}.
func (s *Server) serveRooms(w http.ResponseWriter, r *http.Request) {
	limit, err1 := queryInt(r, "limit", defaultRoomsLimit)
	offset, err2 := queryInt(r, "offset", 0)
	if err := errors.Join(err1, err2); err != nil || limit < 1 || offset < 0 {
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, "limit is 1 or more, offset 0 or more")
		return
	}
	limit = min(limit, maxRoomsLimit)
	all := s.roomInfos(false)
	slices.SortStableFunc(all, func(a, b RoomInfo) int { return cmp.Compare(b.Players, a.Players) })
	// offset+limit would overflow for an offset near the largest int:
	// count what is left from the page's start instead.
	start := min(offset, len(all))
	rooms := all[start : start+min(limit, len(all)-start)]
	writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms, "total": len(all), "offset": offset, "limit": limit})
}

// roomInfos lists the live rooms by name: this server's, and in a cluster
// those of every node, as the directory has them. Private rooms are left
// out unless withPrivate (the admin's view).
func (s *Server) roomInfos(withPrivate bool) []RoomInfo {
	stats := s.rooms.Rooms()
	infos := make([]RoomInfo, 0, len(stats))
	for _, st := range stats {
		if st.Private && !withPrivate {
			continue
		}
		infos = append(infos, roomInfo(st))
	}
	self := s.cluster.node()
	for i := range infos {
		infos[i].Node = self
	}
	for _, e := range s.cluster.rooms() {
		if e.Node == self {
			continue // this server's own figures are fresher
		}
		if e.Private && !withPrivate {
			continue
		}
		infos = append(infos, RoomInfo{Name: e.Name, Mode: e.Mode, Players: e.Players, Spectators: e.Spectators, Capacity: e.Capacity, TickRate: e.TickRate, Options: e.Options, Node: e.Node, Private: e.Private})
	}
	slices.SortFunc(infos, func(a, b RoomInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos
}

// queryInt reads an integer query parameter, def if absent.
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

// ModeInfo describes a game mode in GET /api/modes.
type ModeInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Default     bool   `json:"default"`
	// RoomOptions and JoinOptions are what the mode lets clients choose.
	RoomOptions []game.Option `json:"room_options"`
	JoinOptions []game.Option `json:"join_options"`
	// MaxPlayers is how many players a room of the mode seats: the
	// smaller of the mode's cap and the server's room capacity; 0: no
	// limit.
	MaxPlayers int `json:"max_players"`
	// Auth is whether its players sign in (game.AuthPolicy): "optional",
	// "required" or "off", the mode's own or the server's, and "off" on
	// a server with no accounts. A client that sees "required" signs in
	// before it joins.
	Auth game.AuthPolicy `json:"auth"`
}

func (s *Server) serveModes(w http.ResponseWriter, _ *http.Request) {
	var modes []ModeInfo
	for i, m := range s.rooms.Modes() {
		// Empty lists, not null, so clients need not check.
		auth := m.Auth
		if s.cfg.Accounts == nil {
			auth = game.AuthOff
		}
		modes = append(modes, ModeInfo{Name: m.Name, Description: m.Description, Default: i == 0, MaxPlayers: s.rooms.Capacity(m), Auth: auth,
			RoomOptions: append([]game.Option{}, m.RoomOptions...), JoinOptions: append([]game.Option{}, m.JoinOptions...)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"modes": modes})
}

// maxMatchmakeBody bounds a matchmaking request; {"mode":"..."} needs far
// less.
const maxMatchmakeBody = 4 << 10

// serveMatchmake answers POST /api/matchmake {"mode":"tag"} with the room a
// quick-join should go to: {"room":"tag-k3x9pq","mode":"tag"}. The room is
// created when the first player connects to it.
func (s *Server) serveMatchmake(w http.ResponseWriter, r *http.Request) {
	// A signed-in player's request makes a ticket in the rated pool;
	// anonymous play keeps its quick-join.
	if s.cfg.Matchmaker != nil && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		s.cfg.Matchmaker.ServeCreate(w, r)
		return
	}
	var req struct {
		Mode    string      `json:"mode"`
		Options jsonOptions `json:"options"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMatchmakeBody))
	if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, protocol.CodeBadRequest, fmt.Sprintf("the body is limited to %d bytes", maxMatchmakeBody))
		return
	}
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = strictjson.Unmarshal(body, &req)
	}
	if err != nil {
		const want = `send {"mode":"NAME","options":{"NAME":"VALUE"}} or an empty body`
		if dup := new(strictjson.DuplicateKeyError); errors.As(err, &dup) {
			writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, dup.Error()+": "+want)
			return
		}
		writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, want)
		return
	}
	if req.Mode == "" {
		req.Mode = r.URL.Query().Get("mode")
	}
	// Any node's room: the client connects to it through any node.
	var name string
	var to *room.ElsewhereError
	if to, err = s.clusterMatch(req.Mode, req.Options); to != nil {
		mode, _ := s.rooms.Mode(req.Mode)
		writeJSON(w, http.StatusOK, map[string]string{"room": to.Room, "mode": mode.Name, "node": to.Node, "url": to.URL})
		return
	}
	if err == nil {
		name, err = s.rooms.MatchOptions(req.Mode, s.clientIP(r), req.Options)
	}
	if err != nil {
		why, _ := apiReason(err)
		if errors.Is(err, room.ErrUnknownMode) {
			why = reasonNoMode // 404 here; 400 from POST /api/rooms
		}
		s.countAPIRefusal(why)
		writeReason(w, why, err.Error())
		return
	}
	mode, _ := s.rooms.Mode(req.Mode)
	writeJSON(w, http.StatusOK, map[string]string{"room": name, "mode": mode.Name})
}
