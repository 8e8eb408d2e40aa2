package monitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"upmon/site"
)

// BenchmarkProbeHTTP measures one HTTP check of a loopback target by the
// prober alone (no recording): a fresh connection per check (the
// default) and a kept-alive one (reuse_connections). The CPU of the
// target's own server is included in ns/op; allocs/op and B/op are the
// check's (and the server's) allocations.
func BenchmarkProbeHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	b.Cleanup(srv.Close)
	p := NewProber(ProberOptions{Timeout: 5 * time.Second, UserAgent: "upmon-bench"})
	for _, reuse := range []bool{false, true} {
		name := "fresh"
		if reuse {
			name = "reuse"
		}
		b.Run(name, func(b *testing.B) {
			st := &site.Site{ID: 1, URL: srv.URL + "/t/1", Kind: site.KindHTTP,
				Settings: site.Settings{Interval: site.Duration(time.Minute), Timeout: site.Duration(5 * time.Second), ReuseConnections: reuse}}
			b.ReportAllocs()
			for b.Loop() {
				if r := p.Check(context.Background(), SpecOf(st)); !r.Up {
					b.Fatalf("check failed: %s", r.Err)
				}
			}
		})
	}
}
