package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// seedStatus opens the site and monitor services on SQLite holding n
// sites (added in bulk) with a state row each, as after their first
// check; every 200th site is down.
func seedStatus(tb testing.TB, n int) (*site.Service, *Service) {
	tb.Helper()
	ctx := context.Background()
	cfg := sqldbtest.Config(tb)
	sdb, err := sqldb.Open(ctx, cfg, "site", site.Migrations())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sdb.Close() })
	mdb, err := sqldb.Open(ctx, cfg, "monitor", Migrations())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mdb.Close() })
	sites := site.New(sdb, site.Options{})
	for lo := 0; lo < n; lo += site.MaxBulkSites {
		p := &site.BulkAddParams{}
		for i := lo; i < min(lo+site.MaxBulkSites, n); i++ {
			b, _ := json.Marshal(map[string]any{"url": fmt.Sprintf("http://127.0.0.%d:%d/t/%d", 1+i%16, 40000+i%16, i)})
			p.Sites = append(p.Sites, b)
		}
		if _, err := sites.BulkAdd(ctx, p); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := mdb.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO site_state (site_id, up, checked_at, seq, latency_ms, status_code, error, state, last_up)
		SELECT i, i % 200 <> 7, $2, 1, 42, CASE WHEN i % 200 = 7 THEN 500 ELSE 200 END, '',
			CASE WHEN i % 200 = 7 THEN 'down' ELSE 'up' END, i % 200 <> 7 FROM n`, n, time.Now().UnixMilli()); err != nil {
		tb.Fatal(err)
	}
	return sites, New(mdb, sites, Options{})
}

// BenchmarkStatusPage100k measures GET /status?limit=100 with 100,000
// sites on SQLite (the page's sites and one range of site_state, then
// the JSON answer): a page must not cost more with more sites.
func BenchmarkStatusPage100k(b *testing.B) {
	_, mon := seedStatus(b, 100000)
	ctx := context.Background()
	for name, after := range map[string]string{"first": "", "middle": "50000"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				st, err := mon.Status(ctx, &StatusParams{Limit: 100, After: after})
				if err != nil {
					b.Fatal(err)
				}
				if len(st.Sites) != 100 {
					b.Fatalf("%d sites in a page of 100", len(st.Sites))
				}
				if _, err := json.Marshal(st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatusAll100k measures the unpaginated GET /status (the
// tutorial's form, O(number of sites)) with 100,000 sites, for the
// ratio to a page.
func BenchmarkStatusAll100k(b *testing.B) {
	_, mon := seedStatus(b, 100000)
	ctx := context.Background()
	for b.Loop() {
		st, err := mon.Status(ctx, &StatusParams{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(st); err != nil {
			b.Fatal(err)
		}
	}
}
