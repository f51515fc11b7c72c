package server

import (
	"crypto/subtle"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/arena-server/arena/internal/addrlimit"
)

// The admin page is static; it asks for the token and sends it with every
// request for figures, so the token never sits in a URL or a cookie.

func (s *Server) serveAdminPage(w http.ResponseWriter, r *http.Request) {
	adminHeaders(w.Header())
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
		adminHeaders(w.Header())
		if s.cfg.AdminToken == "" {
			writeError(w, http.StatusNotFound, "disabled", "the admin page is disabled: start arena with -admin-token")
			return
		}
		addr := throttleKey(s.clientIP(r))
		// An address past its failures is not even compared, so guessing
		// runs at the refill rate however fast it asks.
		if wait := s.adminAuth.failures.Wait(addr); wait > 0 {
			s.metrics.refused.WithLabelValues("admin_auth_throttled").Inc()
			s.adminAuth.logFailure(s, addr, r, true)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "throttled", "too many failed admin logins from your address; retry later")
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) != 1 {
			s.adminAuth.failures.Allow(addr)
			s.metrics.refused.WithLabelValues("admin_auth").Inc()
			s.adminAuth.logFailure(s, addr, r, false)
			w.Header().Set("WWW-Authenticate", `Bearer realm="arena admin"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid admin token is required")
			return
		}
		next(w, r)
	}
}

// adminHeaders keep the admin page and its API out of frames and away from
// other origins' scripts, styles and referrers: the page loads only its own
// files and holds the token in memory.
func adminHeaders(h http.Header) { pageHeaders(h, adminPolicy) }

// adminPolicy is the admin page's policy: the game page's, but the admin
// page talks to this server only.
const adminPolicy = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Failed admin logins are throttled per address: adminFailureBurst at
// once, then one per second. The addresses remembered are bounded; those
// idle long enough to be back at a full burst are forgotten first, and if
// that is not enough, addresses beyond the bound share one limiter.
const (
	adminFailureBurst = 5
	adminFailureRate  = rate.Limit(1)
	adminMaxAddrs     = 10000
	// Logged failures: a few at once, then one line per adminLogEvery
	// that says how many went unlogged.
	adminLogBurst = 5
	adminLogEvery = 10 * time.Second
)

// authThrottle limits failed admin logins per address and the log lines
// they cause.
type authThrottle struct {
	failures *addrlimit.Limiter

	mu         sync.Mutex
	logs       *rate.Limiter
	suppressed int
}

func newAuthThrottle() *authThrottle {
	return &authThrottle{
		failures: addrlimit.New(adminFailureRate, adminFailureBurst, adminMaxAddrs),
		logs:     rate.NewLimiter(rate.Every(adminLogEvery), adminLogBurst),
	}
}

// logFailure logs a failed or throttled attempt at warn, unless failures
// come too fast to log each; the next line logged counts those skipped.
func (a *authThrottle) logFailure(s *Server, addr string, r *http.Request, throttled bool) {
	a.mu.Lock()
	if !a.logs.Allow() {
		a.suppressed++
		a.mu.Unlock()
		return
	}
	skipped := a.suppressed
	a.suppressed = 0
	a.mu.Unlock()
	s.log.Warn("admin authentication failed", "ip", addr, "path", r.URL.Path, "throttled", throttled, "unlogged_failures", skipped)
}

// throttleKey is the address failures count against: an IPv6 client
// usually holds a whole /64, so that is what counts.
func throttleKey(ip string) string {
	p := net.ParseIP(ip)
	if p == nil || p.To4() != nil {
		return ip
	}
	return p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// AdminStats is what the admin page polls: totals that it turns into rates.
// The totals are this server's; in a cluster Rooms lists every node's
// rooms, each with its node, and Cluster lists the nodes.
type AdminStats struct {
	Time          time.Time `json:"time"`
	UptimeSeconds float64   `json:"uptime_s"`
	Connections   int       `json:"connections"`
	// Players are those in this server's rooms.
	Players          int           `json:"players"`
	Rooms            []RoomInfo    `json:"rooms"`
	MessagesIn       uint64        `json:"messages_in"`
	MessagesOut      uint64        `json:"messages_out"`
	BytesIn          uint64        `json:"bytes_in"`
	BytesOut         uint64        `json:"bytes_out"`
	Goroutines       int           `json:"goroutines"`
	HeapBytes        uint64        `json:"heap_bytes"`
	Draining         bool          `json:"draining"`
	MaxTickMillis    float64       `json:"max_tick_ms"`
	TickBudgetMillis float64       `json:"tick_budget_ms"`
	Cluster          *AdminCluster `json:"cluster,omitempty"` // nil when running alone
	// Accounts says the server has an AdminAPI: the page shows its
	// Accounts section, rather than asking for it and being refused.
	Accounts bool `json:"accounts"`
}

// AdminCluster is the cluster as this node's directory sees it.
type AdminCluster struct {
	Node  string      `json:"node"`  // this node's name
	Nodes []AdminNode `json:"nodes"` // the live nodes, by name
}

// AdminNode is a live node and the load its last heartbeat carried.
type AdminNode struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Rooms    int    `json:"rooms"`
	Players  int    `json:"players"`
	Draining bool   `json:"draining"`
	// HeartbeatAgeSeconds is the time since the node's last heartbeat, by
	// this node's clock; a skewed clock can not make it negative.
	HeartbeatAgeSeconds float64 `json:"heartbeat_age_s"`
}

func (s *Server) serveAdminStats(w http.ResponseWriter, _ *http.Request) {
	st := AdminStats{
		Time:             time.Now(),
		UptimeSeconds:    time.Since(s.started).Seconds(),
		Connections:      s.connectionCount(),
		Rooms:            s.roomInfos(true), // the admin's view: private rooms too, marked
		MessagesIn:       s.traffic.messagesIn.Load(),
		MessagesOut:      s.traffic.messagesOut.Load(),
		BytesIn:          s.traffic.bytesIn.Load(),
		BytesOut:         s.traffic.bytesOut.Load(),
		Goroutines:       runtime.NumGoroutine(),
		Draining:         s.draining.Load(),
		TickBudgetMillis: 1000 / float64(s.cfg.Room.TickRate),
		Accounts:         s.cfg.AdminAPI != nil,
	}
	self := s.cluster.node()
	if self != "" { // "": a server alone, no node of a cluster
		st.Cluster = &AdminCluster{Node: self, Nodes: []AdminNode{}}
		for _, n := range s.cluster.nodes() {
			st.Cluster.Nodes = append(st.Cluster.Nodes, AdminNode{
				Name: n.Name, URL: n.URL, Rooms: n.Rooms, Players: n.Players, Draining: n.Draining,
				HeartbeatAgeSeconds: max(0, st.Time.Sub(n.Updated).Seconds()),
			})
		}
	}
	for _, info := range st.Rooms {
		if info.Node != self {
			continue // another node's: its figures are in Cluster
		}
		st.Players += info.Players
		st.MaxTickMillis = max(st.MaxTickMillis, info.TickMillis)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapBytes = ms.HeapAlloc
	writeJSON(w, http.StatusOK, st)
}
