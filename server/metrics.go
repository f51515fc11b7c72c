package server

import (
	"time"

	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/arena-server/arena/room"
)

// metrics are the server's Prometheus metrics, on a registry of its own so
// that several servers (in tests) never collide.
type metrics struct {
	reg *prometheus.Registry

	connectionsTotal prometheus.Counter
	refused          *prometheus.CounterVec // by reason, before a session starts
	disconnects      *prometheus.CounterVec // by reason
	roomMoves        *prometheus.CounterVec // by result: moved, failed
	relayed          prometheus.Counter     // seed clients relayed to the node of their room
	badMessages      *prometheus.CounterVec // by error code
	answersDropped   prometheus.Counter
	statesCoalesced  prometheus.Counter
	stateEncodings   prometheus.Counter
	inputsDropped    *prometheus.CounterVec // by reason
	// game messages that passed the session's checks but never reached
	// the game, or that it refused; by reason. Those the session refuses
	// are in badMessages by error code.
	gameMessagesDropped *prometheus.CounterVec
	tickSeconds         prometheus.Histogram
	tickOverruns        prometheus.Counter
	deprecated          *prometheus.CounterVec // by what
	passwordFailures    *prometheus.CounterVec // by result: wrong, throttled
	resultsDropped      prometheus.Counter     // results the result hook fell too far behind to get
}

func newMetrics(rooms func() []room.Stats, t *traffic, connections func() int, o *overload) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "arena", Name: name, Help: help})
		f(c)
		return c
	}
	counterVec := func(name, help, label string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "arena", Name: name, Help: help}, []string{label})
		f(c)
		return c
	}

	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "arena", Name: "connections", Help: "Open WebSocket sessions."},
		func() float64 { return float64(connections()) }))
	if o != nil {
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "arena", Name: "sched_latency_p90_seconds", Help: "90th percentile, over the last second, of how long goroutines ready to run waited for a CPU (-max-sched-latency)."},
			func() float64 { return time.Duration(o.p90.Load()).Seconds() }))
		f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "arena", Name: "full", Help: "1 while new players are refused because the box has no CPU to spare."},
			func() float64 {
				if o.full() {
					return 1
				}
				return 0
			}))
	}
	m.connectionsTotal = counter("connections_total", "WebSocket sessions started.")
	m.refused = counterVec("connections_refused_total", "Connections refused before or at joining, by reason.", "reason")
	m.disconnects = counterVec("disconnects_total", "Sessions ended, by reason.", "reason")
	m.relayed = counter("relayed_connections_total", "Seed-protocol connections this node relayed to the node of the cluster that runs their room.")
	m.roomMoves = counterVec("room_moves_total", "Rooms this node sent to another node of the cluster while draining, by result: moved, or failed (the room closed here).", "result")
	m.passwordFailures = counterVec("room_password_failures_total", "Joins of rooms with a password that failed, by result: wrong (a wrong password), or throttled (refused unchecked: the address gave too many wrong ones).", "result")
	m.deprecated = counterVec("deprecated_requests_total", "Requests that used a deprecated form (token_query: ?token= in the WebSocket URL).", "what")
	trafficCounter := func(name, help string, v *atomic.Uint64) {
		f(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "arena", Name: name, Help: help},
			func() float64 { return float64(v.Load()) }))
	}
	trafficCounter("messages_received_total", "WebSocket messages received from clients.", &t.messagesIn)
	trafficCounter("messages_sent_total", "WebSocket messages sent to clients.", &t.messagesOut)
	trafficCounter("received_bytes_total", "Payload bytes received from clients.", &t.bytesIn)
	trafficCounter("sent_bytes_total", "Payload bytes sent to clients.", &t.bytesOut)
	m.badMessages = counterVec("bad_messages_total", "Client messages answered with an error, by error code.", "code")
	m.answersDropped = counter("error_answers_dropped_total", "Error answers not sent because of the per-connection answer rate limit.")
	m.statesCoalesced = counter("states_coalesced_total", "States replaced by a newer one before a slow client's writer could send them.")
	m.stateEncodings = counter("state_encodings_total", "States encoded: once per tick per distinct view (protocol and delta base), however many clients share it.")
	m.inputsDropped = counterVec("inputs_dropped_total", "Inputs dropped: superseded (a client sent faster than one per tick) or inbox_full.", "reason")
	m.gameMessagesDropped = counterVec("game_messages_dropped_total", "Game messages that passed the checks but were dropped: superseded (more than 8 queued between two ticks) or refused (by the game).", "reason")
	m.tickSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "arena", Name: "tick_seconds", Help: "Time to run one room tick.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
	})
	f(m.tickSeconds)
	m.resultsDropped = counter("results_dropped_total", "Finished games' results not handed to the result hook: it fell further behind than its queue.")
	m.tickOverruns = counter("tick_overruns_total", "Ticks that ended after the next one was due.")

	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "arena", Name: "rooms", Help: "Live rooms."},
		func() float64 { return float64(len(rooms())) }))
	f(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "arena", Name: "players", Help: "Players in rooms, connected or waiting to resume."},
		func() float64 {
			n := 0
			for _, st := range rooms() {
				n += st.Players
			}
			return float64(n)
		}))
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// roomMetrics are the hooks every room reports through.
func (m *metrics) roomMetrics() room.Metrics {
	return room.Metrics{
		TickSeconds:        m.tickSeconds,
		TickOverruns:       m.tickOverruns,
		InputsSuperseded:   m.inputsDropped.WithLabelValues("superseded"),
		InboxFull:          m.inputsDropped.WithLabelValues("inbox_full"),
		MessagesSuperseded: m.gameMessagesDropped.WithLabelValues("superseded"),
		MessagesRefused:    m.gameMessagesDropped.WithLabelValues("refused"),
	}
}
