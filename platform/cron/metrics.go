package cron

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the reason label of upmon_cron_skipped_total.
const (
	reasonRunning   = "running"
	reasonClaimed   = "claimed"
	reasonLockError = "lock_error"
)

// metrics holds a Scheduler's collectors.
type metrics struct {
	runs    *prometheus.CounterVec
	skips   *prometheus.CounterVec
	lastRun *prometheus.GaugeVec
}

// newMetrics creates the collectors and registers them with reg if it is not
// nil. When another Scheduler already registered them with reg, the existing
// collectors are shared.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "upmon", Subsystem: "cron", Name: "runs_total",
			Help: "Runs of cron jobs, by job and result (ok or error).",
		}, []string{"job", "result"}),
		skips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "upmon", Subsystem: "cron", Name: "skipped_total",
			Help: "Ticks of cron jobs not run here, by job and reason (running: the previous run was still going; claimed: another replica claimed the tick; lock_error: the claim failed).",
		}, []string{"job", "reason"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "upmon", Subsystem: "cron", Name: "last_run_timestamp_seconds",
			Help: "Unix time at which the last run of a cron job in this process finished.",
		}, []string{"job"}),
	}
	if reg != nil {
		m.runs = register(reg, m.runs)
		m.skips = register(reg, m.skips)
		m.lastRun = register(reg, m.lastRun)
	}
	return m
}

// register registers c with reg, or returns the collector already registered
// in its place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	// Only a programming error (a clashing metric of another shape) gets here.
	panic("cron: cannot register metrics: " + err.Error())
}

// initJob makes the job's series visible at zero before its first tick.
func (m *metrics) initJob(job string) {
	m.runs.WithLabelValues(job, "ok")
	m.runs.WithLabelValues(job, "error")
	for _, r := range []string{reasonRunning, reasonClaimed, reasonLockError} {
		m.skips.WithLabelValues(job, r)
	}
}

func (m *metrics) skipped(job, reason string) {
	m.skips.WithLabelValues(job, reason).Inc()
}

func (m *metrics) ran(job string, ok bool, end time.Time) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.runs.WithLabelValues(job, result).Inc()
	m.lastRun.WithLabelValues(job).Set(float64(end.UnixNano()) / 1e9)
}
