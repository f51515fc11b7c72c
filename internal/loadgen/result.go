package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// Result is what one load run measured. Its JSON keys are those of the
// Colyseus anchor's driver (drive.mjs), so results of both compare and
// aggregate alike; the extra keys are arena-bench's own.
type Result struct {
	Label     string `json:"label"`
	Protocol  string `json:"protocol,omitempty"`
	URL       string `json:"url,omitempty"`
	Behaviour string `json:"behaviour,omitempty"`
	// Moving is the fraction of the non-probe players that moved.
	Moving   float64 `json:"moving,omitempty"`
	Clients  int     `json:"clients"`
	Rooms    int     `json:"rooms"`
	Probes   int     `json:"probes,omitempty"`
	Compress bool    `json:"compress,omitempty"`
	Start    string  `json:"start,omitempty"`
	// WindowS is the measured window's length in seconds.
	WindowS float64 `json:"window_s,omitempty"`

	// Connected is how many players joined (received their join message).
	Connected int `json:"connected"`
	// ConnErrors is how many failed to connect or to join.
	ConnErrors   int            `json:"conn_errors"`
	ErrorReasons map[string]int `json:"error_reasons,omitempty"`
	// ClosedEarly is how many joined players' connections ended before the
	// generator closed them.
	ClosedEarly  int            `json:"closed_early"`
	CloseReasons map[string]int `json:"close_reasons,omitempty"`

	// Measured is how many players were in the game when the window
	// opened: the players the rates below are over.
	Measured int `json:"measured,omitempty"`
	// UpdatesPerClient is state messages per player per second, mean over
	// players; UpdatesMinPerClient the lowest player's.
	UpdatesPerClient    float64 `json:"updates_per_client_s"`
	UpdatesMinPerClient float64 `json:"updates_min_per_client_s"`
	// KiBPerClient is payload KiB received per player per second
	// (decompressed, if the connection compresses).
	KiBPerClient float64 `json:"kib_per_client_s"`

	// Input-to-visible latency of the probes, in milliseconds (-1 without
	// samples). LatLost counts moves no state showed within 2 s.
	LatSamples int     `json:"lat_samples"`
	LatLost    int     `json:"lat_lost"`
	LatP50     float64 `json:"lat_p50_ms"`
	LatP90     float64 `json:"lat_p90_ms"`
	LatP99     float64 `json:"lat_p99_ms"`
	LatMax     float64 `json:"lat_max_ms"`

	// The server's CPU over the window, in % of one core, and its peak RSS
	// (VmHWM), if its pid was given.
	ServerPID int      `json:"server_pid,omitempty"`
	ServerCPU *float64 `json:"server_cpu_pct,omitempty"`
	ServerRSS *float64 `json:"server_rss_mib,omitempty"`
	// DriverCPU is the load generator's own CPU over the window, in % of
	// one core.
	DriverCPU float64 `json:"driver_cpu_pct"`
	// OtherCPU is the CPU, in % of one core, that processes other than the
	// server and the generator used in user space over the window, plus
	// hypervisor steal (StealCPU): other load that disturbed the run.
	OtherCPU *float64 `json:"other_cpu_pct,omitempty"`
	StealCPU *float64 `json:"steal_cpu_pct,omitempty"`
	// LateSends counts scheduled moves skipped because the generator fell
	// more than a move interval behind: a sign it is overloaded.
	LateSends uint64 `json:"late_sends,omitempty"`
	// Procs is how many processes the Colyseus driver ran.
	Procs int `json:"procs,omitempty"`
}

// WriteTable writes the result as a table a person can read.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	behaviour := r.Behaviour
	if r.Moving > 0 && r.Moving < 1 {
		behaviour = fmt.Sprintf("%s (%.0f%% moving)", behaviour, 100*r.Moving)
	}
	title := fmt.Sprintf("%s protocol, %d players (%d probes) in %d room(s), %s, %.1fs window",
		r.Protocol, r.Clients, r.Probes, r.Rooms, behaviour, r.WindowS)
	if r.Compress {
		title += ", permessage-deflate offered"
	}
	if r.Label != "" {
		title = r.Label + ": " + title
	}
	fmt.Fprintln(&b, title)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("players connected", "%d of %d (%d in the window)", r.Connected, r.Clients, r.Measured)
	row("connection errors", "%d%s", r.ConnErrors, Counts(r.ErrorReasons))
	row("unexpected closes", "%d%s", r.ClosedEarly, Counts(r.CloseReasons))
	row("updates/s per player", "%.2f mean, %.2f min", r.UpdatesPerClient, r.UpdatesMinPerClient)
	if r.LatSamples > 0 {
		row("input-to-visible latency", "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d samples, %d lost)",
			r.LatP50, r.LatP90, r.LatP99, r.LatMax, r.LatSamples, r.LatLost)
	} else {
		row("input-to-visible latency", "no samples (%d lost)", r.LatLost)
	}
	row("KiB/s per player", "%.1f", r.KiBPerClient)
	if r.ServerCPU != nil {
		rss := "?"
		if r.ServerRSS != nil {
			rss = fmt.Sprintf("%.1f MiB", *r.ServerRSS)
		}
		row("server CPU", "%.1f%% of a core, peak RSS %s (pid %d)", *r.ServerCPU, rss, r.ServerPID)
	}
	row("generator CPU", "%.1f%% of a core%s", r.DriverCPU, lateNote(r.LateSends))
	if r.OtherCPU != nil && r.StealCPU != nil {
		row("other load", "%.1f%% of a core (other processes' user time, and %.1f%% stolen by the hypervisor)",
			*r.OtherCPU, *r.StealCPU)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Counts writes a tally of reasons, " (a ×2, b ×1)" by name, or "" for
// none: how reports list refusals and closes.
func Counts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func lateNote(late uint64) string {
	if late == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d scheduled moves skipped: the generator fell behind)", late)
}
