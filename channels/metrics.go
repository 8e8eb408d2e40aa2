package channels

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the service's Prometheus metrics, labelled by channel id.
type Metrics struct {
	sent    *prometheus.CounterVec
	grouped *prometheus.CounterVec
	pending *prometheus.GaugeVec
	latency *prometheus.HistogramVec
	routed  *prometheus.CounterVec
	// staleClaims counts claims that found their channel changed through
	// another replica since this one loaded it.
	staleClaims prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg (if not nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "channel_messages_total",
			Help: "Messages per channel by result: sent, failed (will retry), rate_limited (will retry), dead (given up), site_deleted (dropped: the site was deleted before it went)."},
			[]string{"channel", "result"}),
		grouped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "channel_grouped_total",
			Help: "Grouped (storm) messages sent per channel."}, []string{"channel"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "upmon", Name: "channel_pending",
			Help: "Messages waiting per channel (as last read by this replica)."}, []string{"channel"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "upmon", Name: "channel_send_seconds",
			Help: "Duration of one send attempt per channel.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)},
			[]string{"channel"}),
		routed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "channel_events_routed_total",
			Help: "Monitor events seen by the channel router, by outcome."}, []string{"result"}),
		staleClaims: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "upmon", Name: "channel_stale_claims_total",
			Help: "Claims that found their channel changed or deleted (through another replica) since this replica loaded it; nothing was sent with the old settings, the channel was reloaded first."}),
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.grouped, m.pending, m.latency, m.routed, m.staleClaims)
	}
	return m
}
