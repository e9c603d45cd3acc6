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
	// authErrors and authFailing alert a credential problem: records wait
	// for the operator's fix.
	authErrors  *prometheus.CounterVec
	authFailing prometheus.Gauge
	quarantined prometheus.Counter
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
		authErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meterd_relay_upstream_auth_errors_total",
			Help: "Upstream requests refused for the relay's credentials or permissions, by error code; their records are retried.",
		}, []string{"code"}),
		authFailing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meterd_relay_upstream_auth_failing",
			Help: "1 while the upstream refuses the relay's credentials (since the last refusal, no request succeeded), else 0.",
		}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "meterd_relay_quarantined_total",
			Help: "Hourly records quarantined because they cannot be read or sent (a quantity outside 0..2147483647 stored by an older relay).",
		}),
	}
	m.reg.MustRegister(m.events, m.records, m.retries, m.backlogAge, m.authErrors, m.authFailing, m.quarantined)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
