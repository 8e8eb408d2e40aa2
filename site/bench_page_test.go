package site_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"upmon/platform/api"
	"upmon/site"
)

// bulkSeed adds n sites through BulkAdd, 1,000 per call, with URLs on
// the 16 loopback listeners the load tool uses.
func bulkSeed(tb testing.TB, svc *site.Service, n int) {
	tb.Helper()
	ctx := context.Background()
	for lo := 0; lo < n; lo += site.MaxBulkSites {
		p := &site.BulkAddParams{}
		for i := lo; i < min(lo+site.MaxBulkSites, n); i++ {
			b, _ := json.Marshal(map[string]any{"url": fmt.Sprintf("http://127.0.0.%d:%d/t/%d", 1+i%16, 40000+i%16, i), "interval": "1m"})
			p.Sites = append(p.Sites, b)
		}
		if _, err := svc.BulkAdd(ctx, p); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkListPage100k measures a page of GET /site (?limit=100) with
// 100,000 sites on SQLite, through the API server: the first page and
// one from the middle. A page must cost the same whatever the number of
// sites (compare BenchmarkListHTTP, every site of 10,000).
func BenchmarkListPage100k(b *testing.B) {
	svc := MustOpen(b)
	bulkSeed(b, svc, 100000)
	srv := api.NewServer(nil)
	svc.Register(srv)
	for name, target := range map[string]string{"first": "/site?limit=100", "middle": "/site?limit=100&after=50000"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodGet, target, nil)
				srv.ServeHTTP(rec, req.WithContext(site.WithAccess(req.Context(), site.AccessWrite)))
				if rec.Code != 200 {
					b.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
				}
				_, _ = io.Copy(io.Discard, rec.Body)
			}
		})
	}
}

// BenchmarkBulkAdd measures POST /site/bulk's work for 1,000 new sites
// (validation, one transaction, 1,000 outbox events).
func BenchmarkBulkAdd(b *testing.B) {
	svc := MustOpen(b)
	ctx := context.Background()
	k := 0
	for b.Loop() {
		p := &site.BulkAddParams{}
		for range site.MaxBulkSites {
			raw, _ := json.Marshal(map[string]any{"url": fmt.Sprintf("http://127.0.0.1:40000/t/%d", k)})
			p.Sites = append(p.Sites, raw)
			k++
		}
		if _, err := svc.BulkAdd(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}
