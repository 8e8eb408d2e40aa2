package pubsub

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the broker's Prometheus metrics, namespace "upmon",
// subsystem "pubsub".
type metrics struct {
	published    *prometheus.CounterVec
	delivered    *prometheus.CounterVec
	retried      *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	redelivered  *prometheus.CounterVec
	laneOverflow *prometheus.CounterVec
	deferred     *prometheus.CounterVec
	// deadLettersDropped counts dead letters dropped from a full store.
	deadLettersDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "upmon", Subsystem: "pubsub", Name: name, Help: help,
		}, labels)
		return register(reg, c)
	}
	return &metrics{
		deadLettersDropped: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "upmon", Subsystem: "pubsub", Name: "deadletters_dropped_total",
			Help: "Dead letters dropped, oldest first, because the store held its maximum (counted by the process storing the newer one).",
		})),
		published:    counter("published_total", "Messages stored in a topic (duplicates excluded).", "topic"),
		delivered:    counter("delivered_total", "Messages a subscription handled successfully.", "topic", "subscription"),
		retried:      counter("retried_total", "Failed handler attempts that were scheduled for retry.", "topic", "subscription"),
		deadLettered: counter("deadlettered_total", "Messages moved to the dead-letter store.", "topic", "subscription"),
		redelivered: counter("redelivered_total", "Deliveries of a message delivered before: a retry after a failure, "+
			"or a message whose ack wait expired while a process held it.", "topic", "subscription"),
		laneOverflow: counter("lane_overflow_total", "Messages released for later because their ordering key "+
			"already held its share of the subscription.", "topic", "subscription"),
		deferred: counter("deferred_total", "Messages a handler handed back to be delivered again later "+
			"because they could not be handled yet (not a failure).", "topic", "subscription"),
	}
}

// register registers c with reg, reusing an identical collector that is
// already registered (e.g. by another Broker on the same registry).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) initSubscription(topic, sub string) {
	m.delivered.WithLabelValues(topic, sub)
	m.retried.WithLabelValues(topic, sub)
	m.deadLettered.WithLabelValues(topic, sub)
	m.redelivered.WithLabelValues(topic, sub)
	m.laneOverflow.WithLabelValues(topic, sub)
	m.deferred.WithLabelValues(topic, sub)
}

// registerDeadLetterGauge registers upmon_pubsub_deadletters, the number of
// entries in the dead-letter store, read from NATS at scrape time so that
// it is right whichever replica dead-lettered or replayed them.
func (m *metrics) registerDeadLetterGauge(reg prometheus.Registerer, b *Broker) {
	if reg == nil {
		return
	}
	register(reg, &deadLetterCollector{b: b, desc: prometheus.NewDesc(
		"upmon_pubsub_deadletters", "Messages currently in the dead-letter store (read from the store's state, no keys listed).", nil, nil)})
}

type deadLetterCollector struct {
	b    *Broker
	desc *prometheus.Desc
}

func (c *deadLetterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect emits the gauge, or nothing when NATS cannot be asked.
func (c *deadLetterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.b.countDeadLetters(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
}
