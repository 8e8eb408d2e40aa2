// Package stall gives hot-path database calls a deadline and reports the
// calls that hit it. A half-open connection (the peer gone without a FIN
// or RST) or a lock held elsewhere would otherwise hold a scheduler claim,
// an outbox pass or a cron job for the TCP timeout, minutes, with nothing
// to show for it; with a deadline the call fails fast, is counted in
// upmon_db_stalls_total{component} and /healthz reports the component as
// "stalled" until one of its calls succeeds again.
package stall

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultTimeout is the deadline of one database call when none is set.
const DefaultTimeout = 5 * time.Second

// Set holds the watches of one program: one per component (the
// scheduler, each outbox relay, the cron jobs), sharing one deadline and
// one pair of metrics.
type Set struct {
	timeout time.Duration
	stalls  *prometheus.CounterVec
	stalled *prometheus.GaugeVec

	mu      sync.Mutex
	watches map[string]*Watch
}

// NewSet returns a set whose calls get timeout (DefaultTimeout if not
// positive); its metrics are registered with reg when reg is not nil.
func NewSet(timeout time.Duration, reg prometheus.Registerer) *Set {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	s := &Set{
		timeout: timeout,
		stalls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "upmon", Name: "db_stalls_total",
			Help: "Hot-path database calls cut off by their deadline, by component."}, []string{"component"}),
		stalled: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "upmon", Name: "db_stalled",
			Help: "1 while a component's latest database call timed out."}, []string{"component"}),
		watches: map[string]*Watch{},
	}
	if reg != nil {
		reg.MustRegister(s.stalls, s.stalled)
	}
	return s
}

// Timeout returns the deadline of one call.
func (s *Set) Timeout() time.Duration { return s.timeout }

// Watch returns the watch of a component, creating it on first use.
func (s *Set) Watch(component string) *Watch {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.watches[component]; ok {
		return w
	}
	w := &Watch{name: component, timeout: s.timeout,
		stalls: s.stalls.WithLabelValues(component), gauge: s.stalled.WithLabelValues(component)}
	s.watches[component] = w
	return w
}

// Stalled returns the components whose latest call timed out, sorted.
func (s *Set) Stalled() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name, w := range s.watches {
		if w.Stalled() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Components returns every component watched so far, sorted.
func (s *Set) Components() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.watches))
	for name := range s.watches {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Watch bounds the database calls of one component. A nil *Watch is
// valid: its calls get DefaultTimeout and nothing is reported.
type Watch struct {
	name    string
	timeout time.Duration
	stalls  prometheus.Counter
	gauge   prometheus.Gauge
	stalled atomic.Bool
}

// New returns a watch that reports to nobody (for a component used
// without a Set).
func New(component string, timeout time.Duration) *Watch {
	return NewSet(timeout, nil).Watch(component)
}

// Do runs fn with ctx bounded by the deadline and records whether the
// deadline cut it off. It returns fn's error.
func (w *Watch) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	cctx, cancel := w.Context(ctx)
	defer cancel()
	err := fn(cctx)
	w.Observe(ctx, cctx, err)
	return err
}

// Context returns ctx bounded by the deadline; pass the result of the
// call to Observe.
func (w *Watch) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	t := DefaultTimeout
	if w != nil {
		t = w.timeout
	}
	return context.WithTimeout(ctx, t)
}

// Observe records the outcome of a call made with bounded (from Context
// on parent): a call that failed after its deadline passed, while parent
// is still live, is a stall; any other outcome clears the stalled state.
func (w *Watch) Observe(parent, bounded context.Context, err error) {
	if w == nil {
		return
	}
	if err != nil && errors.Is(bounded.Err(), context.DeadlineExceeded) && parent.Err() == nil {
		w.stalls.Inc()
		w.gauge.Set(1)
		w.stalled.Store(true)
		return
	}
	if err != nil && parent.Err() != nil {
		return // shutting down: says nothing about the database
	}
	w.gauge.Set(0)
	w.stalled.Store(false)
}

// Stalled reports whether the latest call timed out.
func (w *Watch) Stalled() bool { return w != nil && w.stalled.Load() }
