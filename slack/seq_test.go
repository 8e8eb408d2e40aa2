package slack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/monitor"
	"upmon/site"
)

// TestSeqMapBounded notifies more sites than the service remembers: the
// least recently notified site is forgotten (and counted), the others'
// stale events are still dropped, and the map never passes its bound.
func TestSeqMapBounded(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		posts.Add(1)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	const bound = 3
	s := New(Options{WebhookURL: srv.URL, MaxTracked: bound, Registerer: reg})
	ctx := context.Background()
	send := func(id, seq int64) {
		t.Helper()
		ev := &monitor.TransitionEvent{Site: &site.Ref{ID: id, URL: "http://s" + strconv.FormatInt(id, 10)}, Seq: seq}
		if err := s.handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	const sites = 10
	for id := int64(1); id <= sites; id++ {
		send(id, 5)
		if n := value(t, reg, "upmon_slack_seq_tracked"); n > bound {
			t.Fatalf("after %d sites, %v tracked; bound %d", id, n, bound)
		}
	}
	if got := value(t, reg, "upmon_slack_seq_tracked"); got != bound {
		t.Errorf("upmon_slack_seq_tracked = %v, want %d", got, bound)
	}
	if got := value(t, reg, "upmon_slack_seq_evicted_total"); got != sites-bound {
		t.Errorf("upmon_slack_seq_evicted_total = %v, want %d", got, sites-bound)
	}
	before := posts.Load()
	send(sites, 4) // remembered: stale, dropped
	if posts.Load() != before {
		t.Error("a stale event of a remembered site was posted")
	}
	send(1, 4) // forgotten: posted (the price of the bound)
	if posts.Load() != before+1 {
		t.Error("an event of a forgotten site was not posted")
	}
	// Events without a sequence number take no room.
	if err := s.handleCert(ctx, &monitor.CertExpiringEvent{Site: &site.Ref{ID: 99, URL: "http://c"}}); err != nil {
		t.Fatal(err)
	}
	if got := value(t, reg, "upmon_slack_seq_evicted_total"); got != sites-bound+1 {
		t.Errorf("after a certificate warning, upmon_slack_seq_evicted_total = %v, want %d", got, sites-bound+1)
	}
	// Notifying a remembered site keeps it: the least recent goes.
	send(sites-1, 6)
	send(sites+1, 1)
	before = posts.Load()
	send(sites-1, 5)
	if posts.Load() != before {
		t.Error("a recently notified site was forgotten before a less recent one")
	}
}

// value reads the gauge or counter name from reg.
func value(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}
