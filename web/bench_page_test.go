package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"upmon/monitor"
	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// seedPaged opens the site and monitor services on SQLite holding n
// sites (added in bulk, a third of them named) with a state row each and
// a full 30-check recent ring; every 200th site is down. There are no
// rollups, so the whole join's figure leaves out the uptime query it
// would pay too.
func seedPaged(b *testing.B, n int, now time.Time) (*site.Service, *monitor.Service) {
	b.Helper()
	ctx := context.Background()
	cfg := sqldbtest.Config(b)
	sdb, err := sqldb.Open(ctx, cfg, "site", site.Migrations())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sdb.Close() })
	mdb, err := sqldb.Open(ctx, cfg, "monitor", monitor.Migrations())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mdb.Close() })
	clock := func() time.Time { return now }
	sites := site.New(sdb, site.Options{Now: clock})
	for lo := 0; lo < n; lo += site.MaxBulkSites {
		p := &site.BulkAddParams{}
		for i := lo; i < min(lo+site.MaxBulkSites, n); i++ {
			e := map[string]any{"url": fmt.Sprintf("http://127.0.0.%d:%d/t/%d", 1+i%16, 40000+i%16, i)}
			if i%3 == 0 {
				e["name"] = fmt.Sprintf("Service %06d", n-i)
			}
			raw, _ := json.Marshal(e)
			p.Sites = append(p.Sites, raw)
		}
		if _, err := sites.BulkAdd(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	var ring []string
	for k := range 30 {
		ring = append(ring, fmt.Sprintf(`{"t":%d,"s":1,"l":%d}`, now.Unix()-int64(30-k)*60, 20+k))
	}
	if _, err := mdb.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO site_state (site_id, up, checked_at, seq, latency_ms, status_code, error, state, last_up, recent)
		SELECT i, i % 200 <> 7, $2, 1, 42, CASE WHEN i % 200 = 7 THEN 500 ELSE 200 END, '',
			CASE WHEN i % 200 = 7 THEN 'down' ELSE 'up' END, i % 200 <> 7, $3 FROM n`,
		n, now.UnixMilli(), "["+strings.Join(ring, ",")+"]"); err != nil {
		b.Fatal(err)
	}
	return sites, monitor.New(mdb, sites, monitor.Options{Now: clock})
}

// BenchmarkOverview100kSQLite renders the overview's default view
// (GET /frontend/, down first, 100 rows) with 100,000 sites on SQLite
// through the real handler: the first page, one from the middle, and
// the state.json the live script reads; "whole-join" is the same first
// page built by joining every site (filters and other orders still do),
// for comparison. Reports the median server time (median-ms).
func BenchmarkOverview100kSQLite(b *testing.B) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	sites, mon := seedPaged(b, 100000, now)
	handler := func(s SiteSource, m MonitorSource) http.Handler {
		h := New(Options{Sites: s, Monitor: m, Settings: SiteSettingsStore{Sites: sites}, Now: func() time.Time { return now }})
		srv := api.NewServer(nil)
		h.Register(srv)
		return Protect(nil, srv)
	}
	paged, whole := handler(sites, mon), handler(wholeSites{sites}, wholeMonitor{mon})
	b.Run("first", func(b *testing.B) { benchPage(b, paged, "/frontend/") })
	b.Run("middle", func(b *testing.B) { benchPage(b, paged, "/frontend/?page=500") })
	b.Run("state-json", func(b *testing.B) { benchPage(b, paged, "/frontend/state.json?ids=1,2,3,50000,99999") })
	b.Run("whole-join", func(b *testing.B) { benchPage(b, whole, "/frontend/") })
}
