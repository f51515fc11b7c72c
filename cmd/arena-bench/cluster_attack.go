package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/game"
	"github.com/arena-server/arena/internal/loadgen"
	"github.com/arena-server/arena/protocol"
)

// The attacks of issue 22 on a cluster. Their victims follow redirects, as
// the SDK does, so they are played by followVictims rather than by
// loadgen, which dials one URL.
var clusterAttacks = map[string]func(a *attacker, ctx context.Context){
	"redirects":  (*attacker).redirects,
	"quickjoins": (*attacker).quickJoins,
	"fragments":  (*attacker).fragments,
	"joinflood":  (*attacker).joinFlood,
}

// followingVictims reports whether kind's victims are followVictims (they
// join through another node and follow its redirect, and their join time is
// measured) rather than loadgen's players, which dial one node.
func followingVictims(kind, via, victimURL string) bool {
	_, cluster := clusterAttacks[kind]
	return cluster || via != "" || victimURL != ""
}

// pidList is a flag of comma-separated process ids.
type pidList []int

func (p *pidList) String() string {
	s := make([]string, len(*p))
	for i, pid := range *p {
		s[i] = strconv.Itoa(pid)
	}
	return strings.Join(s, ",")
}

func (p *pidList) Set(v string) error {
	*p = (*p)[:0]
	for f := range strings.SplitSeq(v, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid < 0 {
			return fmt.Errorf("pid %q is not a process id", f)
		}
		if pid > 0 {
			*p = append(*p, pid)
		}
	}
	return nil
}

// anchor opens one player of the attacker's in the attacked room on the
// node at a.base (with a.mode, if set), so that the room runs there, and
// keeps it until ctx is done. It waits until every node of waitFor lists
// the room, so that the attack finds it wherever it enters. It returns
// false if the room could not be made.
func (a *attacker) anchor(ctx context.Context, waitFor ...string) bool {
	q := url.Values{"room": {a.room}}
	if a.mode != "" {
		q.Set("mode", a.mode)
	}
	c, err := a.wsTo(ctx, a.base, q.Encode(), protocol.SubprotocolBinary)
	if err != nil {
		return false
	}
	if first(ctx, c) != protocol.BinWelcome {
		c.Close()
		return false
	}
	go func() {
		for {
			if _, _, err := c.NextReader(); err != nil {
				return
			}
		}
	}()
	context.AfterFunc(ctx, func() { c.Close() })
	for _, u := range waitFor {
		for deadline := time.Now().Add(3 * time.Second); !listsRoom(ctx, u, a.room) && time.Now().Before(deadline); {
			pause(ctx, 20*time.Millisecond)
		}
	}
	return true
}

// listsRoom reports whether the node whose WebSocket URL is wsURL lists
// room in GET /api/rooms.
func listsRoom(ctx context.Context, wsURL, room string) bool {
	u, err := url.Parse(wsURL)
	if err != nil {
		return false
	}
	u.Scheme = strings.Replace(u.Scheme, "ws", "http", 1)
	u.Path, u.RawQuery = "/api/rooms", "limit=200"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return strings.Contains(string(b), `"name":"`+room+`"`)
}

// first reads a connection's first message and returns its type (0 if none
// came in 5 s or before ctx was done).
func first(ctx context.Context, c *websocket.Conn) byte {
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := c.ReadMessage()
	_ = c.SetReadDeadline(time.Time{})
	if err != nil || len(data) == 0 {
		return 0
	}
	return data[0]
}

// redirects asks for the attacked room, which runs on the node at -url (its
// anchor is there), through the node at -via, as fast as it can, and never
// follows the redirect: each used to hold a seat in the room for 5 s.
func (a *attacker) redirects(ctx context.Context) {
	a.redirectFlood(ctx, url.Values{"room": {a.room}}.Encode())
}

// quickJoins quick-joins -mode through -via as fast as it can, the anchor
// having made a room of that mode on the node at -url, and never follows
// the redirect there.
func (a *attacker) quickJoins(ctx context.Context) {
	a.redirectFlood(ctx, url.Values{"mode": {a.mode}}.Encode())
}

func (a *attacker) redirectFlood(ctx context.Context, query string) {
	a.parallel(ctx, func(int) {
		c, err := a.wsTo(ctx, a.via, query, protocol.SubprotocolBinary)
		if err != nil {
			pause(ctx, 100*time.Millisecond)
			return
		}
		stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := c.ReadMessage()
		stop()
		_ = c.NetConn().Close()
		var m protocol.ServerMessage
		switch {
		case err != nil || protocol.ParseServerBinary(&m, data) != nil:
			a.refused.Add(1)
		case m.Type == protocol.BinRedirect && m.Seat != "":
			a.seats.Add(1)
		case m.Type == protocol.BinRedirect:
			a.unseated.Add(1)
		case m.Type == protocol.BinWelcome:
			a.joined.Add(1) // matched to a room on -via itself
		default:
			a.refused.Add(1)
		}
	})
}

// fragments opens -conns connections in a room of their own on the node at
// -url and sends on each a text frame without FIN, then empty masked
// continuation frames flat out: a message that never ends.
func (a *attacker) fragments(ctx context.Context) {
	// One text frame that begins a message, then continuation frames
	// with no payload: each is two bytes and a mask.
	var frames []byte
	mask := make([]byte, 4)
	_, _ = rand.Read(mask)
	frames = append(append(frames, 0x01, 0x80), mask...)
	cont := append([]byte{0x00, 0x80}, mask...)
	batch := slices.Repeat(cont, 64<<10/len(cont))
	a.parallel(ctx, func(i int) {
		c, err := a.wsTo(ctx, a.base, "room="+url.QueryEscape(a.room+"-fragments"), protocol.SubprotocolBinary)
		if err != nil {
			pause(ctx, 100*time.Millisecond)
			return
		}
		if first(ctx, c) != protocol.BinWelcome {
			a.refused.Add(1)
			c.Close()
			pause(ctx, 100*time.Millisecond)
			return
		}
		a.joined.Add(1)
		// The frames go straight to the socket, so gorilla must not
		// write a pong between them.
		c.SetPingHandler(func(string) error { return nil })
		go func() {
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
		nc := c.NetConn()
		stop := context.AfterFunc(ctx, func() { nc.Close() })
		defer stop()
		defer nc.Close()
		if _, err := nc.Write(frames); err != nil {
			a.refused.Add(1)
			return
		}
		for ctx.Err() == nil {
			n, err := nc.Write(batch)
			a.frames.Add(int64(n / len(cont)))
			if err != nil {
				if ctx.Err() == nil {
					a.refused.Add(1)
				}
				return
			}
		}
	})
}

// joinFlood joins the attacked room on the node at -url as a new player,
// reads the welcome and leaves with a close frame, over and over: each
// join takes a player ID for good.
func (a *attacker) joinFlood(ctx context.Context) {
	a.parallel(ctx, func(int) {
		c, err := a.wsTo(ctx, a.base, "room="+url.QueryEscape(a.room), protocol.SubprotocolBinary)
		if err != nil {
			pause(ctx, 20*time.Millisecond)
			return
		}
		if first(ctx, c) == protocol.BinWelcome {
			a.joined.Add(1)
		} else {
			a.refused.Add(1)
		}
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.NetConn().Close()
	})
}

// followConfig is what followVictims play.
type followConfig struct {
	URL       string // the WebSocket URL of the node they join through
	Query     string // room=R, or mode=M for a quick-join
	LocalAddr string
	Players   int
	Ramp      time.Duration
	Warmup    time.Duration
	Duration  time.Duration
	PIDs      []int
	Label     string
}

// followResult is what they saw.
type followResult struct {
	cfg       followConfig
	joined    int
	refusals  map[string]int // why a victim did not get in
	redirects int            // victims that were redirected
	seated    int            // of which with a seat held
	rooms     map[string]int // victims by the room and node they joined
	latency   []time.Duration
	closes    map[string]int // joined victims whose connection ended before the window did
	rates     []float64      // each joined victim's updates/s over the window
	serverCPU []float64      // % of a core, per pid
	selfCPU   float64
}

// victim is one followVictims player.
type victim struct {
	c        *websocket.Conn
	states   atomic.Int64
	closed   atomic.Pointer[string]
	joinedAt time.Time
}

// followVictims plays cfg.Players native players that join through
// cfg.URL and follow a redirect as the SDK does (to its URL, with
// room=…&seat=…), each holding a key that it turns every half second,
// and measures how many got in, how long each took to join, and the
// updates each received per second over the window.
func followVictims(ctx context.Context, cfg followConfig) *followResult {
	res := &followResult{cfg: cfg, refusals: map[string]int{}, closes: map[string]int{}, rooms: map[string]int{}}
	start := time.Now()
	open := start.Add(cfg.Ramp + cfg.Warmup)
	victims := make([]atomic.Pointer[victim], cfg.Players)
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range victims {
		wg.Go(func() {
			if !sleepUntil(ctx, start.Add(cfg.Ramp*time.Duration(i)/time.Duration(cfg.Players))) {
				return
			}
			t0 := time.Now()
			c, where, redirected, seated, why := joinFollowing(ctx, cfg.URL, cfg.Query, cfg.LocalAddr)
			mu.Lock()
			if redirected {
				res.redirects++
			}
			if seated {
				res.seated++
			}
			if c == nil {
				res.refusals[why]++
				mu.Unlock()
				return
			}
			res.joined++
			res.rooms[where]++
			res.latency = append(res.latency, time.Since(t0))
			mu.Unlock()
			v := &victim{c: c, joinedAt: time.Now()}
			victims[i].Store(v)
			context.AfterFunc(ctx, func() { c.Close() })
			go v.hold(ctx, i)
			v.read()
		})
	}
	if !sleepUntil(ctx, open) {
		wg.Wait()
		return res
	}
	cpu0 := make([]loadgen.CPUTimes, len(cfg.PIDs))
	for i, pid := range cfg.PIDs {
		cpu0[i], _ = loadgen.ProcessCPU(pid)
	}
	self0 := loadgen.SelfCPU()
	seen0 := make([]int64, len(victims))
	for i := range victims {
		if v := victims[i].Load(); v != nil {
			seen0[i] = v.states.Load()
		}
	}
	sleepUntil(ctx, open.Add(cfg.Duration))
	window := time.Since(open)
	for i, pid := range cfg.PIDs {
		t, err := loadgen.ProcessCPU(pid)
		if err != nil {
			res.serverCPU = append(res.serverCPU, -1)
			continue
		}
		res.serverCPU = append(res.serverCPU, 100*float64(t.Total()-cpu0[i].Total())/float64(window))
	}
	res.selfCPU = 100 * float64(loadgen.SelfCPU().Total()-self0.Total()) / float64(window)
	for i := range victims {
		v := victims[i].Load()
		if v == nil {
			continue
		}
		res.rates = append(res.rates, float64(v.states.Load()-seen0[i])/window.Seconds())
		if why := v.closed.Load(); why != nil {
			res.closes[*why]++
		}
	}
	cancel()
	wg.Wait()
	return res
}

// joinFollowing joins through the node at wsURL with query, following up
// to two redirects. It returns the connection, its welcome read, or why
// not; the room it joined and the node's URL ("room on ws://…/ws");
// whether it was redirected, and whether the last redirect named a seat
// held for it.
func joinFollowing(ctx context.Context, wsURL, query, localAddr string) (c *websocket.Conn, where string, redirected, seated bool, why string) {
	d := websocket.Dialer{
		NetDialContext:   (&attacker{from: localAddr}).dialer().DialContext,
		HandshakeTimeout: 5 * time.Second,
		Subprotocols:     []string{protocol.SubprotocolBinary},
	}
	u := wsURL + "?" + query
	for range 3 {
		conn, resp, err := d.DialContext(ctx, u, nil)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			if resp != nil {
				return nil, "", redirected, seated, "http " + strconv.Itoa(resp.StatusCode)
			}
			return nil, "", redirected, seated, "dial failed"
		}
		stop := context.AfterFunc(ctx, func() { conn.NetConn().Close() })
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := conn.ReadMessage()
		_ = conn.SetReadDeadline(time.Time{})
		stop()
		var m protocol.ServerMessage
		switch {
		case err != nil:
			conn.Close()
			if ce, ok := err.(*websocket.CloseError); ok {
				return nil, "", redirected, seated, "close " + strconv.Itoa(ce.Code)
			}
			return nil, "", redirected, seated, "no first message"
		case protocol.ParseServerBinary(&m, data) != nil:
			conn.Close()
			return nil, "", redirected, seated, "bad first message"
		case m.Type == protocol.BinWelcome:
			return conn, m.Welcome.Room + " on " + u[:strings.Index(u, "?")], redirected, seated, ""
		case m.Type == protocol.BinRedirect:
			conn.Close()
			redirected, seated = true, m.Seat != ""
			u = redirectURL(m.URL, query, m.Room, m.Seat)
		case m.Type == protocol.BinError:
			conn.Close()
			return nil, "", redirected, seated, m.Code
		default:
			conn.Close()
			return nil, "", redirected, seated, fmt.Sprintf("first message %#02x", m.Type)
		}
	}
	return nil, "", redirected, seated, "redirected too often"
}

// redirectURL is where a client that asked with query goes when told to
// join room on the node whose page is at page, with seat: as the SDK
// does, the same query with room= and seat= set.
func redirectURL(page, query, room, seat string) string {
	q, _ := url.ParseQuery(query)
	q.Set("room", room)
	if seat != "" {
		q.Set("seat", seat)
	}
	u := strings.TrimSuffix(page, "/") + "/ws?" + q.Encode()
	u = strings.Replace(u, "https://", "wss://", 1)
	return strings.Replace(u, "http://", "ws://", 1)
}

// hold presses a key at once and turns back every half second, as a
// player of the native protocol does, until the connection ends.
func (v *victim) hold(ctx context.Context, i int) {
	dirs := [2]game.Buttons{game.Right, game.Left}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for seq := uint32(1); ; seq++ {
		msg := protocol.AppendBinaryInput(nil, seq, dirs[(int(seq)+i)%2], 0)
		if v.c.WriteMessage(websocket.BinaryMessage, msg) != nil {
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// read counts the victim's snapshots until its connection ends.
func (v *victim) read() {
	for {
		_, data, err := v.c.ReadMessage()
		if err != nil {
			why := "EOF without close frame"
			if ce, ok := err.(*websocket.CloseError); ok {
				why = "close " + strconv.Itoa(ce.Code)
			}
			v.closed.Store(&why)
			return
		}
		if len(data) > 0 && data[0] == protocol.BinSnapshot {
			v.states.Add(1)
		}
	}
}

// WriteTable writes what the victims saw, as loadgen's table does.
func (r *followResult) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: native protocol, %d players via %s?%s, %.1fs window\n",
		r.cfg.Label, r.cfg.Players, r.cfg.URL, r.cfg.Query, r.cfg.Duration.Seconds())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("players connected", "%d of %d (%d redirected, %d with a seat)%s", r.joined, r.cfg.Players, r.redirects, r.seated, loadgen.Counts(r.refusals))
	row("rooms joined", "%d%s", len(r.rooms), loadgen.Counts(r.rooms))
	if len(r.latency) > 0 {
		slices.Sort(r.latency)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		row("join latency", "p50 %.1f ms, max %.1f ms", ms(r.latency[len(r.latency)/2]), ms(r.latency[len(r.latency)-1]))
	} else {
		row("join latency", "no joins")
	}
	row("unexpected closes", "%d%s", total(r.closes), loadgen.Counts(r.closes))
	mean, low := 0.0, 0.0
	if len(r.rates) > 0 {
		low = slices.Min(r.rates)
		for _, x := range r.rates {
			mean += x / float64(len(r.rates))
		}
	}
	row("updates/s per player", "%.2f mean, %.2f min", mean, low)
	for i, pid := range r.cfg.PIDs {
		row("server CPU", "%.1f%% of a core (pid %d, node %d)", r.serverCPU[i], pid, i+1)
	}
	row("generator CPU", "%.1f%% of a core", r.selfCPU)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func total(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

// sleepUntil waits until t or ctx is done; it reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
