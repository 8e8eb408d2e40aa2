package monitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/platform/tracing"
	"upmon/site"
)

// TestTracingOffAllocatesNothing guards the promise that tracing off costs
// a check nothing: with no tracer, the span calls a check and its writes
// make allocate nothing.
func TestTracingOffAllocatesNothing(t *testing.T) {
	s := &Service{}
	st := &site.Site{ID: 1, Kind: site.KindHTTP}
	res := Result{Up: true, StatusCode: 200, DNS: time.Millisecond, FirstByte: 2 * time.Millisecond}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		c, span := s.startCheckSpan(ctx, st, true)
		c = spanContext(c, span)
		c, child := tracing.Child(c, "x", "outbox.insert", trace.SpanKindInternal)
		if tracing.Traceparent(c) != "" {
			t.Fatal("traceparent with tracing off")
		}
		tracing.End(child, nil)
		endCheckSpan(span, time.Time{}, res, StateUp, nil)
	})
	if allocs != 0 {
		t.Fatalf("tracing off allocates %v times per check, want 0", allocs)
	}
}

// BenchmarkCheckTracing measures one whole check (HTTP probe of a loopback
// target, then the batched write) with tracing off and on (recent-traces
// recorder, no exporter), for docs/performance.md.
func BenchmarkCheckTracing(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.Cleanup(srv.Close)
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			tr, err := tracing.New(context.Background(), tracing.Config{Enabled: on})
			if err != nil {
				b.Fatal(err)
			}
			db, err := sqldb.Open(context.Background(), sqldbtest.Config(b), "monitor", Migrations())
			if err != nil {
				b.Fatal(err)
			}
			sites := newBenchSites(1, time.Minute)
			sites.sites[0].URL = srv.URL + "/"
			s := New(db, sites, Options{Tracer: tr.Tracer("upmon/monitor"), PingTimeout: 5 * time.Second})
			s.Start(false)
			b.Cleanup(func() { s.Stop(); db.Close(); _ = tr.Shutdown(context.Background()) })
			st := sites.sites[0]
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.CheckSite(context.Background(), st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
