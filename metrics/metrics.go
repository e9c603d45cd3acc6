// Package metrics is meterd's Prometheus instrumentation: requests by
// operation and error code, latency histograms, BatchMeterUsage records by
// status, the group-commit counters of the store, and store errors. Each
// Metrics has its own registry, so tests and several servers in one process
// never share counters.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meterd/meterd"
)

// StoreStats are the cumulative counters of a store's group-commit writer
// (sqlite.Stats and postgres.Stats carry the same three fields), and the
// SQLite store's WAL length.
type StoreStats struct {
	Transactions int64 // committed write transactions holding records
	Batches      int64 // Commit calls served
	Records      int64 // records given to those calls
	// WALFrames is the SQLite WAL's length in frames at the last
	// checkpoint; -1 for a store without one.
	WALFrames int64
	// RollupLag is how many records (in sequence numbers) the rollups'
	// watermark trails the last record committed; -1 for a store that
	// keeps its rollups in the commit.
	RollupLag int64
}

// Metrics holds the collectors of one server.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	records     *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	inflight    prometheus.Gauge
	purged      *prometheus.CounterVec
}

// New returns the metrics of a server. stats, when non-nil, is read at each
// scrape for the store's commit counters.
func New(stats func() StoreStats) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_requests_total",
			Help: "Metering API requests by operation and error code (\"\" for success).",
		}, []string{"operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meterd_request_duration_seconds",
			Help:    "Metering API request latency by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_batch_records_total",
			Help: "BatchMeterUsage records by result status (Unprocessed for UnprocessedRecords).",
		}, []string{"status"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_store_errors_total",
			Help: "Failed store commits by operation of the ledger.",
		}, []string{"method"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meterd_requests_in_flight",
			Help: "Metering API requests being served.",
		}),
		purged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_purged_total",
			Help: "Rows deleted by the retention purges, by kind (client_tokens, registration_tokens, usage_records).",
		}, []string{"kind"}),
	}
	// Every kind is shown from the start, at 0.
	for _, kind := range []string{meterd.PurgedClientTokens, meterd.PurgedRegistrationTokens, meterd.PurgedUsageRecords} {
		m.purged.WithLabelValues(kind)
	}
	m.reg.MustRegister(m.requests, m.latency, m.records, m.storeErrors, m.inflight, m.purged,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		m.reg.MustRegister(&storeCollector{stats: stats})
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Observe counts one Metering API request; it has the signature of
// awsjson.Handler.Observe. An unknown operation is counted as "unknown".
func (m *Metrics) Observe(op, code string, d time.Duration) {
	if op == "" {
		op = "unknown"
	}
	m.requests.WithLabelValues(op, code).Inc()
	m.latency.WithLabelValues(op).Observe(d.Seconds())
}

// Purged counts n rows deleted by a retention purge of kind; it has the
// signature of meterd.Purger.Purged.
func (m *Metrics) Purged(kind string, n int) { m.purged.WithLabelValues(kind).Add(float64(n)) }

// InFlight returns the gauge of requests being served.
func (m *Metrics) InFlight() prometheus.Gauge { return m.inflight }

// Service wraps svc so that BatchMeterUsage results are counted by status.
func (m *Metrics) Service(svc meterd.MeteringService) meterd.MeteringService {
	return &service{MeteringService: svc, m: m}
}

type service struct {
	meterd.MeteringService
	m *Metrics
}

func (s *service) BatchMeterUsage(ctx context.Context, in *meterd.BatchMeterUsageInput) (*meterd.BatchMeterUsageOutput, error) {
	out, err := s.MeteringService.BatchMeterUsage(ctx, in)
	if err != nil || out == nil {
		return out, err
	}
	counts := map[string]int{}
	for _, r := range out.Results {
		counts[r.Status]++
	}
	for st, n := range counts {
		s.m.records.WithLabelValues(st).Add(float64(n))
	}
	if n := len(out.UnprocessedRecords); n > 0 {
		s.m.records.WithLabelValues("Unprocessed").Add(float64(n))
	}
	return out, nil
}

// Ledger wraps l so that failed commits are counted as store errors.
func (m *Metrics) Ledger(l meterd.Ledger) meterd.Ledger {
	return &ledger{Ledger: l, m: m}
}

type ledger struct {
	meterd.Ledger
	m *Metrics
}

func (l *ledger) Commit(ctx context.Context, records []*meterd.MeteringRecord) ([]meterd.CommitResult, error) {
	res, err := l.Ledger.Commit(ctx, records)
	// A cancelled caller is not a store failure.
	if err != nil && ctx.Err() == nil {
		l.m.storeErrors.WithLabelValues("Commit").Inc()
	}
	return res, err
}

// storeCollector exposes a store's cumulative group-commit counters, read at
// scrape time: records per transaction is the mean commit batch size.
type storeCollector struct {
	stats func() StoreStats
}

var (
	descTransactions = prometheus.NewDesc("meterd_store_transactions_total",
		"Committed write transactions holding records (group commits).", nil, nil)
	descBatches = prometheus.NewDesc("meterd_store_commit_calls_total",
		"Commit calls served; divided by transactions, the callers sharing a commit.", nil, nil)
	descRecords = prometheus.NewDesc("meterd_store_records_total",
		"Records given to Commit.", nil, nil)
	descWALFrames = prometheus.NewDesc("meterd_sqlite_wal_frames",
		"Length of the SQLite WAL in 4 KiB frames at the last checkpoint (every 250 ms); it starts over once past 4096.", nil, nil)
	descRollupLag = prometheus.NewDesc("meterd_store_rollup_lag_records",
		"Records committed after the rollups' watermark, not yet folded into the rollups by the roller (summaries add them from the ledger).", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTransactions
	ch <- descBatches
	ch <- descRecords
	ch <- descWALFrames
	ch <- descRollupLag
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(descTransactions, prometheus.CounterValue, float64(s.Transactions))
	ch <- prometheus.MustNewConstMetric(descBatches, prometheus.CounterValue, float64(s.Batches))
	ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(s.Records))
	if s.WALFrames >= 0 {
		ch <- prometheus.MustNewConstMetric(descWALFrames, prometheus.GaugeValue, float64(s.WALFrames))
	}
	if s.RollupLag >= 0 {
		ch <- prometheus.MustNewConstMetric(descRollupLag, prometheus.GaugeValue, float64(s.RollupLag))
	}
}

// CountInFlight wraps h so that the in-flight gauge follows its requests.
func (m *Metrics) CountInFlight(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inflight.Inc()
		defer m.inflight.Dec()
		h.ServeHTTP(w, r)
	})
}
