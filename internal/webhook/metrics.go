package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook's Prometheus metrics: requests by endpoint and
// outcome, decisions by check and mode, and request latency. A nil
// *Metrics counts nothing.
type Metrics struct {
	requests  *prometheus.CounterVec
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// NewMetrics returns the metrics, registered with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubeharden_webhook_requests_total",
			Help: "AdmissionReviews answered, by endpoint (validate, mutate) and outcome (allowed, warned, denied, patched, error).",
		}, []string{"endpoint", "outcome"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kubeharden_webhook_decisions_total",
			Help: "Findings acted on, by check and mode (enforce, warn, audit, mutate); dry-run requests are not counted.",
		}, []string{"check", "mode"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kubeharden_webhook_request_duration_seconds",
			Help:    "Time to answer an AdmissionReview, from the request to the response, by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	reg.MustRegister(m.requests, m.decisions, m.latency)
	return m
}

func (m *Metrics) request(endpoint, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(endpoint, outcome).Inc()
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}

func (m *Metrics) decision(check, mode string) {
	if m == nil {
		return
	}
	m.decisions.WithLabelValues(check, mode).Inc()
}
