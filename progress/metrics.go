package progress

import "github.com/prometheus/client_golang/prometheus"

// Collectors are the results writer's counts as metrics, for the
// server's /metrics: what was written, what came twice, what was lost
// (each loss is logged with its reason), what waits.
func (s *Service) Collectors() []prometheus.Collector {
	counter := func(name, help string, v func(ResultStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(s.ResultStats())) })
	}
	return []prometheus.Collector{
		counter("arena_results_stored_total", "Finished games written to the history, ratings and leaderboards.",
			func(r ResultStats) int64 { return r.Written }),
		counter("arena_results_store_duplicates_total", "Finished games delivered again under a key already written (a retry, a moved or restored room), written nothing.",
			func(r ResultStats) int64 { return r.Duplicates }),
		counter("arena_results_store_lost_total", "Finished games lost: the queue was full, the server was closing, or the store refused them (each logged).",
			func(r ResultStats) int64 { return r.Dropped }),
		counter("arena_results_store_retries_total", "Writes of finished games the store refused, each tried again.",
			func(r ResultStats) int64 { return r.Retries }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arena_results_store_queued", Help: "Finished games waiting to be written."},
			func() float64 { return float64(s.ResultStats().Queued) }),
	}
}
