package site_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"upmon/platform/api"
	"upmon/site"
)

// BenchmarkListHTTP measures GET /site with 10,000 sites through the API
// server (database read, settings decoding, JSON encoding), the way a
// client sees it except for the network.
func BenchmarkListHTTP(b *testing.B) {
	svc := MustOpen(b)
	ctx := context.Background()
	for i := range 10000 {
		if _, err := svc.Add(ctx, &site.AddParams{URL: fmt.Sprintf("http://127.0.0.%d:%d/t/%d", 1+i%16, 40000+i%16, i)}); err != nil {
			b.Fatal(err)
		}
	}
	srv := api.NewServer(nil)
	svc.Register(srv)
	// Read-write callers get the memoised encoding; read-only callers a
	// redacted copy of each site.
	for _, a := range []site.Access{site.AccessWrite, site.AccessRead} {
		b.Run(map[site.Access]string{site.AccessWrite: "read-write", site.AccessRead: "read-only"}[a], func(b *testing.B) {
			var n int64
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, "/site", nil)
				srv.ServeHTTP(rec, req.WithContext(site.WithAccess(req.Context(), a)))
				if rec.Code != 200 {
					b.Fatalf("GET /site: %d %s", rec.Code, rec.Body)
				}
				n, _ = io.Copy(io.Discard, rec.Body)
			}
			b.ReportMetric(float64(n), "bytes/op")
		})
	}
}
