package main

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/arena-server/arena/internal/loadgen"
)

// attacks are the hostile loads of issue 12, each played from one address
// while victims on another address play and are measured.
var attacks = map[string]func(a *attacker, ctx context.Context){
	"fill":     (*attacker).fill,
	"rooms":    (*attacker).rooms,
	"slowhttp": (*attacker).slowHTTP,
	"pings":    (*attacker).pings,
	"burst":    (*attacker).burst,
	"admin":    (*attacker).admin,
	"none":     func(_ *attacker, ctx context.Context) { <-ctx.Done() },
}

// runAttack plays one attack from -from while -victims players on -victim-addr
// play in -room, and reports what the victims saw: the figure issues 12 and
// 22 ask for (≥ 19.5 updates/s under every attack) is measured here, not in
// a test.
func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("arena-bench attack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := &attacker{}
	kind := fs.String("kind", "fill", "attack: fill, rooms, slowhttp, pings, burst, admin, none (a baseline); on a cluster, redirects, quickjoins, fragments or joinflood")
	fs.StringVar(&a.base, "url", "ws://127.0.0.1:8765/ws", "server WebSocket URL; in a cluster, of the node the attacked room runs on")
	fs.StringVar(&a.via, "via", "", "WebSocket URL of the node the redirects and quickjoins attacks go through (another node of the cluster than -url)")
	fs.StringVar(&a.victimURL, "victim-url", "", "WebSocket URL of the node the victims join through, following its redirect (default: -via, else -url)")
	fs.StringVar(&a.mode, "mode", "", "the attacked room's mode: victims who join through a node (-via, -victim-url) quick-join it (?mode=), as does -kind quickjoins")
	fs.StringVar(&a.from, "from", "127.0.0.1", "the attacker's source address")
	fs.StringVar(&a.room, "room", "default", "the room attacked and played in")
	fs.IntVar(&a.conns, "conns", 100, "the attacker's connections at once")
	fs.StringVar(&a.adminToken, "admin-guess", "wrong", "the token the admin attack guesses")
	victimAddr := fs.String("victim-addr", "127.0.0.2", "the victims' source address")
	victims := fs.Int("victims", 20, "victim players (native protocol, all probes)")
	lead := fs.Duration("lead", 2*time.Second, "how long the attack runs before the victims connect")
	ramp := fs.Duration("ramp", time.Second, "spread the victims' connections over this long")
	warmup := fs.Duration("warmup", 2*time.Second, "wait this long after the ramp before measuring")
	duration := fs.Duration("duration", 10*time.Second, "the victims' measured window")
	var pids pidList
	fs.Var(&pids, "pid", "server process(es), comma-separated, to report CPU % of (the first's peak RSS too, for the single-node kinds)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	run, ok := attacks[*kind]
	if !ok {
		run, ok = clusterAttacks[*kind]
	}
	if !ok {
		fmt.Fprintf(stderr, "arena-bench attack: unknown kind %q\n", *kind)
		return 2
	}
	if (*kind == "redirects" || *kind == "quickjoins") && a.via == "" {
		fmt.Fprintf(stderr, "arena-bench attack: -kind %s needs -via, another node than -url\n", *kind)
		return 2
	}
	if *kind == "quickjoins" && a.mode == "" {
		fmt.Fprintln(stderr, "arena-bench attack: -kind quickjoins needs -mode")
		return 2
	}
	follow := followingVictims(*kind, a.via, a.victimURL)
	a.victimURL = cmp.Or(a.victimURL, a.via, a.base)
	u, err := url.Parse(a.base)
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench attack:", err)
		return 2
	}
	a.host = u.Host
	actx, stop := context.WithCancel(ctx)
	defer stop()
	// Victims who join through another node play in a room that runs on
	// the attacked node, -url: one player of the attacker's holds it there
	// (with -mode), and every node the victims or the attacker enter by
	// must list it before the attack starts.
	if follow && !a.anchor(actx, a.victimURL, cmp.Or(a.via, a.victimURL)) {
		fmt.Fprintf(stderr, "arena-bench attack: could not open room %q on %s\n", a.room, a.base)
		return 1
	}
	began := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { run(a, actx) })
	select {
	case <-time.After(*lead):
	case <-ctx.Done():
	}
	var table interface{ WriteTable(io.Writer) error }
	if follow {
		query := url.Values{"room": {a.room}}
		if a.mode != "" {
			query = url.Values{"mode": {a.mode}}
		}
		table = followVictims(ctx, followConfig{
			URL: a.victimURL, Query: query.Encode(), LocalAddr: *victimAddr, Players: *victims,
			Ramp: *ramp, Warmup: *warmup, Duration: *duration, PIDs: pids, Label: "victims under " + *kind,
		})
	} else {
		pid := 0
		if len(pids) > 0 {
			pid = pids[0]
		}
		table, err = loadgen.Run(ctx, loadgen.Config{
			URL: a.base, Protocol: loadgen.Native, Players: *victims, Probes: *victims,
			Room: a.room, Rooms: 1, LocalAddr: *victimAddr, Behaviour: loadgen.Hold,
			Ramp: *ramp, Warmup: *warmup, Duration: *duration,
			ServerPID: pid, Label: "victims under " + *kind, Seed: 1,
		})
	}
	stop()
	wg.Wait()
	took := time.Since(began).Seconds()
	fmt.Fprintf(stdout, "attack %s from %s: %d attempts, %d refused or cut by the server, %d joined (%.1f/s), %d redirects with a seat held (%.1f/s), %d without, %d continuation frames sent\n",
		*kind, a.from, a.attempts.Load(), a.refused.Load(), a.joined.Load(), float64(a.joined.Load())/took,
		a.seats.Load(), float64(a.seats.Load())/took, a.unseated.Load(), a.frames.Load())
	if err != nil {
		fmt.Fprintln(stderr, "arena-bench attack: victims:", err)
		return 1
	}
	if err := table.WriteTable(stdout); err != nil {
		return 1
	}
	return 0
}

type attacker struct {
	base, host, from, room, adminToken string
	via, victimURL, mode               string
	conns                              int
	attempts, refused                  atomic.Int64
	// joined counts welcomes; seats and unseated, redirects with and
	// without a seat held; frames, continuation frames written.
	joined, seats, unseated, frames atomic.Int64
}

func (a *attacker) dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(a.from)}, Timeout: 5 * time.Second}
}

func (a *attacker) ws(ctx context.Context, rawQuery string, subprotocols ...string) (*websocket.Conn, error) {
	return a.wsTo(ctx, a.base, rawQuery, subprotocols...)
}

// wsTo dials the WebSocket URL base with rawQuery from the attacker's
// address.
func (a *attacker) wsTo(ctx context.Context, base, rawQuery string, subprotocols ...string) (*websocket.Conn, error) {
	d := websocket.Dialer{NetDialContext: a.dialer().DialContext, HandshakeTimeout: 5 * time.Second, Subprotocols: subprotocols}
	u := base
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	a.attempts.Add(1)
	c, resp, err := d.DialContext(ctx, u, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		a.refused.Add(1)
	}
	return c, err
}

// parallel runs fn on a.conns goroutines until ctx is done.
func (a *attacker) parallel(ctx context.Context, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range a.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// fill joins the room, reads the welcome and drops TCP without a close
// frame, over and over: each drop leaves an away seat.
func (a *attacker) fill(ctx context.Context) {
	a.parallel(ctx, func(int) { a.joinAndDrop(ctx, "room="+url.QueryEscape(a.room)) })
}

// rooms creates a new room with every connection.
func (a *attacker) rooms(ctx context.Context) {
	var n atomic.Int64
	a.parallel(ctx, func(int) { a.joinAndDrop(ctx, fmt.Sprintf("room=atk-%d", n.Add(1))) })
}

// joinAndDrop joins with rawQuery, waits for the welcome and drops the
// TCP connection without a close frame.
func (a *attacker) joinAndDrop(ctx context.Context, rawQuery string) {
	c, err := a.ws(ctx, rawQuery)
	if err != nil {
		pause(ctx, 100*time.Millisecond)
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := c.ReadMessage(); err != nil {
		a.refused.Add(1)
	}
	_ = c.NetConn().Close()
}

// slowHTTP holds connections open the slow way: half promise a body that
// never comes, half trickle their headers a byte a second.
func (a *attacker) slowHTTP(ctx context.Context) {
	a.parallel(ctx, func(i int) {
		a.attempts.Add(1)
		c, err := a.dialer().DialContext(ctx, "tcp", a.host)
		if err != nil {
			a.refused.Add(1)
			pause(ctx, 100*time.Millisecond)
			return
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		req := "POST /api/matchmake HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
		if i%2 == 1 {
			req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
		}
		if _, err := io.WriteString(c, req); err != nil {
			a.refused.Add(1)
			return
		}
		for ctx.Err() == nil {
			if pause(ctx, time.Second); i%2 == 1 {
				if _, err := c.Write([]byte("a")); err != nil {
					a.refused.Add(1)
					return
				}
				continue
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				a.refused.Add(1)
				return
			}
		}
	})
}

// pings floods ping frames from a few connections in a room of their own.
func (a *attacker) pings(ctx context.Context) {
	a.parallel(ctx, func(i int) {
		c, err := a.ws(ctx, fmt.Sprintf("room=pings-%d", i%4))
		if err != nil {
			pause(ctx, 100*time.Millisecond)
			return
		}
		defer c.Close()
		go func() {
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
		for ctx.Err() == nil {
			if err := c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
				a.refused.Add(1)
				return
			}
		}
	})
}

// burst sends native inputs in bursts of 190 from every connection, in the
// victims' room.
func (a *attacker) burst(ctx context.Context) {
	native := loadgen.Native.(loadgen.Stateful)
	a.parallel(ctx, func(int) {
		c, err := a.ws(ctx, "room="+url.QueryEscape(a.room), native.Subprotocols()...)
		if err != nil {
			pause(ctx, 100*time.Millisecond)
			return
		}
		defer c.Close()
		go func() {
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
		for seq := uint32(1); ctx.Err() == nil; {
			for range 190 {
				typ, msg := native.Input(seq, loadgen.Direction(seq%4), seq%2 == 0)
				seq++
				if err := c.WriteMessage(typ, msg); err != nil {
					a.refused.Add(1)
					return
				}
			}
			pause(ctx, time.Second)
		}
	})
}

// admin guesses the admin token on keep-alive connections.
func (a *attacker) admin(ctx context.Context) {
	tr := &http.Transport{DialContext: a.dialer().DialContext, MaxIdleConnsPerHost: a.conns}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	u := "http://" + a.host + "/admin/api/stats"
	a.parallel(ctx, func(int) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+a.adminToken)
		a.attempts.Add(1)
		resp, err := client.Do(req)
		if err != nil {
			a.refused.Add(1)
			return
		}
		_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			a.refused.Add(1)
		}
	})
}

func pause(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout() || strings.Contains(err.Error(), "timeout")
}
