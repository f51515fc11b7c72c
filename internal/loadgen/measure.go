package loadgen

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// counters is what every player has received up to one moment.
type counters struct {
	at     time.Time
	states []uint64
	bytes  []uint64
	open   []bool // joined and not closed
	nopen  int
	gen    CPUTimes // the generator's
	server CPUTimes // the server's, if known
	// The whole machine's, if /proc/stat reads.
	machine   MachineTimes
	machineOK bool
}

func (r *runner) sample() counters {
	c := counters{
		at:     time.Now(),
		states: make([]uint64, len(r.players)),
		bytes:  make([]uint64, len(r.players)),
		open:   make([]bool, len(r.players)),
		gen:    SelfCPU(),
	}
	for i, p := range r.players {
		c.states[i] = p.states.Load()
		c.bytes[i] = p.bytes.Load()
		c.open[i] = p.joined.Load() && !p.closed.Load()
		if c.open[i] {
			c.nopen++
		}
	}
	if r.cfg.ServerPID != 0 {
		c.server, _ = ProcessCPU(r.cfg.ServerPID)
	}
	var err error
	c.machine, err = MachineCPU()
	c.machineOK = err == nil
	return c
}

// measure waits out the ramp and the warm-up, measures the window and
// returns the result, printing progress once a second.
func (r *runner) measure(ctx context.Context) (*Result, error) {
	cfg := &r.cfg
	windowStart := r.start.Add(cfg.Ramp + cfg.Warmup)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for time.Until(windowStart) > 0 {
		timer := time.NewTimer(time.Until(windowStart))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-ticker.C:
			r.progressConnecting(windowStart)
		case <-timer.C:
		}
		timer.Stop()
	}

	var pid0 CPUTimes
	var pidErr error
	if cfg.ServerPID != 0 {
		pid0, pidErr = ProcessCPU(cfg.ServerPID)
		if pidErr != nil {
			return nil, fmt.Errorf("loadgen: server pid %d: %w", cfg.ServerPID, pidErr)
		}
	}
	r.measuring.Store(true)
	first := r.sample()
	first.server = pid0
	prev := first
	end := first.at.Add(cfg.Duration)
	ticker.Reset(time.Second)
	for time.Until(end) > 0 {
		timer := time.NewTimer(time.Until(end))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-ticker.C:
			cur := r.sample()
			r.progressWindow(first, prev, cur)
			prev = cur
		case <-timer.C:
		}
		timer.Stop()
	}
	last := r.sample()
	r.measuring.Store(false)
	return r.result(first, last), nil
}

func (r *runner) progressConnecting(windowStart time.Time) {
	if r.cfg.Progress == nil {
		return
	}
	phase := "ramp"
	if time.Since(r.start) >= r.cfg.Ramp {
		phase = "warm-up"
	}
	fmt.Fprintf(r.cfg.Progress, "%-8s %5.1fs  joined %d/%d  connection errors %d  unexpected closes %d  (window in %.0fs)\n",
		phase, time.Since(r.start).Seconds(), r.joined.Load(), r.cfg.Players,
		r.connErrors.Load(), r.closes.Load(), time.Until(windowStart).Seconds())
}

func (r *runner) progressWindow(first, prev, cur counters) {
	if r.cfg.Progress == nil {
		return
	}
	el := cur.at.Sub(prev.at).Seconds()
	var states, bytes uint64
	for i := range r.players {
		if cur.open[i] {
			states += cur.states[i] - prev.states[i]
			bytes += cur.bytes[i] - prev.bytes[i]
		}
	}
	perPlayer := func(v uint64) float64 { return float64(v) / el / float64(max(cur.nopen, 1)) }
	line := fmt.Sprintf("window  %5.1fs  open %d  updates/s %.2f  KiB/s %.1f  unexpected closes %d  generator CPU %.0f%%",
		cur.at.Sub(first.at).Seconds(), cur.nopen, perPlayer(states), perPlayer(bytes)/1024,
		r.closes.Load(), pct(cur.gen.Total()-prev.gen.Total(), el))
	if r.cfg.ServerPID != 0 {
		line += fmt.Sprintf("  server CPU %.0f%%", pct(cur.server.Total()-prev.server.Total(), el))
	}
	if cur.machineOK && prev.machineOK {
		line += fmt.Sprintf("  other CPU %.0f%%", otherCPU(prev, cur))
	}
	fmt.Fprintln(r.cfg.Progress, line)
}

// otherCPU is how much CPU, in % of one core, processes other than the
// server and the generator used in user space between two samples, plus
// what the hypervisor stole: load that disturbs the measurement. Kernel
// time is left out (see MachineCPU).
func otherCPU(a, b counters) float64 {
	other := b.machine.User - a.machine.User + b.machine.Steal - a.machine.Steal
	other -= b.gen.User - a.gen.User
	other -= b.server.User - a.server.User // zero without a pid
	return max(0, pct(other, b.at.Sub(a.at).Seconds()))
}

// pct is CPU time d over el seconds as a percentage of one core.
func pct(d time.Duration, el float64) float64 {
	return d.Seconds() / el * 100
}

func (r *runner) result(first, last counters) *Result {
	cfg := &r.cfg
	el := last.at.Sub(first.at).Seconds()
	res := &Result{
		Label:      cfg.Label,
		Protocol:   r.proto.Name(),
		URL:        cfg.URL,
		Behaviour:  cfg.Behaviour.String(),
		Moving:     cfg.Moving,
		Clients:    cfg.Players,
		Rooms:      cfg.Rooms,
		Probes:     cfg.Probes,
		Compress:   cfg.Compress,
		Connected:  int(r.joined.Load()),
		ConnErrors: int(r.connErrors.Load()),
		// Closes before the window count: a player thrown out during the
		// warm-up was thrown out.
		ClosedEarly: int(r.closes.Load()),
		WindowS:     el,
		Start:       r.start.UTC().Format(time.RFC3339),
		DriverCPU:   pct(last.gen.Total()-first.gen.Total(), el),
		LateSends:   r.lateSends.Load(),
	}
	r.mu.Lock()
	if len(r.reasons) > 0 {
		res.CloseReasons = maps.Clone(r.reasons)
	}
	if len(r.errReasons) > 0 {
		res.ErrorReasons = maps.Clone(r.errReasons)
	}
	r.mu.Unlock()

	// Rates are over the players that were in the game when the window
	// opened; one that dropped out during it has a low rate, as it should.
	var states, bytes uint64
	minRate := -1.0
	n := 0
	for i := range r.players {
		if !first.open[i] {
			continue
		}
		n++
		ds := last.states[i] - first.states[i]
		states += ds
		bytes += last.bytes[i] - first.bytes[i]
		if rate := float64(ds) / el; minRate < 0 || rate < minRate {
			minRate = rate
		}
	}
	res.Measured = n
	if n > 0 {
		res.UpdatesPerClient = float64(states) / el / float64(n)
		// The mean of equal rates can round below each of them.
		res.UpdatesMinPerClient = min(minRate, res.UpdatesPerClient)
		res.KiBPerClient = float64(bytes) / 1024 / el / float64(n)
	}

	var lat []time.Duration
	for _, p := range r.players[:cfg.Probes] {
		p.mu.Lock()
		lat = append(lat, p.lat...)
		res.LatLost += p.lost
		p.mu.Unlock()
	}
	slices.Sort(lat)
	res.LatSamples = len(lat)
	res.LatP50 = percentileMS(lat, 0.50)
	res.LatP90 = percentileMS(lat, 0.90)
	res.LatP99 = percentileMS(lat, 0.99)
	res.LatMax = percentileMS(lat, 1)

	if first.machineOK && last.machineOK {
		res.OtherCPU = new(otherCPU(first, last))
		res.StealCPU = new(pct(last.machine.Steal-first.machine.Steal, el))
	}
	if cfg.ServerPID != 0 {
		res.ServerPID = cfg.ServerPID
		cpu := pct(last.server.Total()-first.server.Total(), el)
		res.ServerCPU = &cpu
		if rss, err := ProcessPeakRSS(cfg.ServerPID); err == nil {
			mib := float64(rss) / (1 << 20)
			res.ServerRSS = &mib
		}
	}
	return res
}

// percentileMS is the q-quantile of sorted in milliseconds, chosen as the
// Colyseus anchor's driver does (the element at floor(q·n)), or -1 if there
// are no samples.
func percentileMS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	i := min(len(sorted)-1, int(q*float64(len(sorted))))
	return float64(sorted[i]) / float64(time.Millisecond)
}
