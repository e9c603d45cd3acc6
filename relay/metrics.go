package relay

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the relay's Prometheus collectors, on a registry of its own.
type metrics struct {
	reg        *prometheus.Registry
	events     *prometheus.CounterVec
	records    *prometheus.CounterVec
	retries    *prometheus.CounterVec
	backlogAge prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_relay_events_total",
			Help: "Events received, by result (accepted, duplicate, rejected, late).",
		}, []string{"result"}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_relay_records_total",
			Help: "Hourly records settled, by outcome (Success, CustomerNotSubscribed, DuplicateRecord, Expired, Failed).",
		}, []string{"outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_relay_retries_total",
			Help: "Record attempts to be retried, by error code (Unprocessed for UnprocessedRecords).",
		}, []string{"code"}),
		backlogAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meterd_relay_backlog_age_seconds",
			Help: "Age by the relay clock of the oldest hour not yet submitted (0 when none).",
		}),
	}
	m.reg.MustRegister(m.events, m.records, m.retries, m.backlogAge)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
