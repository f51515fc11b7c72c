package server

import (
	"crypto/subtle"
	"net/http"
	"runtime"
	"strings"
	"time"
)

// The admin page is static; it asks for the token and sends it with every
// request for figures, so the token never sits in a URL or a cookie.

func (s *Server) serveAdminPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AdminToken == "" || s.cfg.Admin == nil {
		http.Error(w, "the admin page is disabled: start arena with -admin-token", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.StripPrefix("/admin/", http.FileServerFS(s.cfg.Admin)).ServeHTTP(w, r)
}

// requireAdmin lets a request through only with "Authorization: Bearer
// <AdminToken>".
func (s *Server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" {
			writeError(w, http.StatusNotFound, "disabled", "the admin page is disabled: start arena with -admin-token")
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="arena admin"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid admin token is required")
			return
		}
		next(w, r)
	}
}

// AdminStats is what the admin page polls: totals that it turns into rates.
type AdminStats struct {
	Time             time.Time  `json:"time"`
	UptimeSeconds    float64    `json:"uptime_s"`
	Connections      int        `json:"connections"`
	Players          int        `json:"players"`
	Rooms            []RoomInfo `json:"rooms"`
	MessagesIn       uint64     `json:"messages_in"`
	MessagesOut      uint64     `json:"messages_out"`
	BytesIn          uint64     `json:"bytes_in"`
	BytesOut         uint64     `json:"bytes_out"`
	Goroutines       int        `json:"goroutines"`
	HeapBytes        uint64     `json:"heap_bytes"`
	Draining         bool       `json:"draining"`
	MaxTickMillis    float64    `json:"max_tick_ms"`
	TickBudgetMillis float64    `json:"tick_budget_ms"`
}

func (s *Server) serveAdminStats(w http.ResponseWriter, _ *http.Request) {
	st := AdminStats{
		Time:             time.Now(),
		UptimeSeconds:    time.Since(s.started).Seconds(),
		Connections:      s.connectionCount(),
		Rooms:            []RoomInfo{},
		MessagesIn:       s.traffic.messagesIn.Load(),
		MessagesOut:      s.traffic.messagesOut.Load(),
		BytesIn:          s.traffic.bytesIn.Load(),
		BytesOut:         s.traffic.bytesOut.Load(),
		Goroutines:       runtime.NumGoroutine(),
		Draining:         s.draining.Load(),
		TickBudgetMillis: 1000 / float64(s.cfg.TickRate),
	}
	for _, r := range s.rooms.Rooms() {
		info := roomInfo(r)
		st.Rooms = append(st.Rooms, info)
		st.Players += info.Players
		st.MaxTickMillis = max(st.MaxTickMillis, info.TickMillis)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapBytes = ms.HeapAlloc
	writeJSON(w, http.StatusOK, st)
}
