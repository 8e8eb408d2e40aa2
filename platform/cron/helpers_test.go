package cron

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testClock is a wall clock offset from the (virtual, under synctest) real
// time; jump moves it like an operator or NTP would.
type testClock struct{ offset atomic.Int64 }

// newClock returns a clock that reads start now.
func newClock(start time.Time) *testClock {
	c := &testClock{}
	c.offset.Store(int64(time.Until(start)))
	return c
}

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *testClock) jump(d time.Duration) { c.offset.Add(int64(d)) }

// sleepUntil advances virtual time until c reads t, then waits for the
// bubble's goroutines to settle.
func sleepUntil(c *testClock, t time.Time) {
	time.Sleep(t.Sub(c.Now()))
	synctest.Wait()
}

// recorder is an endpoint that records the clock reading of each call.
type recorder struct {
	now func() time.Time
	mu  sync.Mutex
	at  []time.Time
}

func (r *recorder) endpoint(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, r.now())
	return nil
}

func (r *recorder) runs() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.at...)
}

// MustJob adds a job or fails the test.
func MustJob(tb testing.TB, s *Scheduler, name string, cfg JobConfig) *Job {
	tb.Helper()
	j, err := NewJob(s, name, cfg)
	if err != nil {
		tb.Fatalf("NewJob(%q): %v", name, err)
	}
	return j
}

// metricValue returns the value of the counter or gauge name with exactly
// the given labels in reg, or -1 if there is no such series.
func metricValue(tb testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("Gather: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; !ok || v != lp.GetValue() {
					continue series
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

func timesEqual(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// ticks returns n times starting at first, every d.
func ticks(first time.Time, d time.Duration, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = first.Add(time.Duration(i) * d)
	}
	return out
}
