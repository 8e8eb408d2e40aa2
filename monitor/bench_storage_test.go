package monitor

import (
	"context"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"upmon/platform/sqldb"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkStorageYear simulates history through the monitor's own write
// path (the batching writer, rollups, transitions) at simulated
// timestamps, runs Prune every simulated hour as the cron job does, and
// reports the bytes each kind of row takes on disk (SQLite dbstat, indexes
// included) and the database size extrapolated to a year of 1,000 sites
// checked every 60 s with the default retention (raw checks and minute
// rollups 7 days, hour and day rollups 400 days). It also times the
// uptime query over 365, 90 and 30 days for a site that has a full year
// of rollups.
//
// Scale: UPMON_BENCH_STORAGE_SITES (default 100) sites for
// UPMON_BENCH_STORAGE_HOURS (default 48) hours at 60 s, 1 % of checks
// down. The extrapolation is linear in rows; see docs/performance.md.
func BenchmarkStorageYear(b *testing.B) {
	nSites := envInt("UPMON_BENCH_STORAGE_SITES", 100)
	hours := envInt("UPMON_BENCH_STORAGE_HOURS", 48)
	sites := newBenchSites(nSites, time.Minute)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	start := end.Add(-time.Duration(hours) * time.Hour)
	var clock atomic.Int64
	clock.Store(end.Add(-365 * 24 * time.Hour).UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	s := newBenchService(b, sites, now)
	ctx := context.Background()
	if s.db.Dialect != sqldb.SQLite {
		b.Skip("the storage figures use SQLite's dbstat")
	}

	// Site 1: a year of history at one check an hour before the main
	// simulation: the same rollup rows (hours, days) as a check a minute.
	st1 := sites.sites[0]
	for t := end.Add(-365 * 24 * time.Hour); t.Before(start); t = t.Add(time.Hour) {
		clock.Store(t.UnixMilli())
		if _, err := s.record(st1, t, Result{Up: true, StatusCode: 200, Latency: 20 * time.Millisecond, Attempts: 1}, false); err != nil {
			b.Fatal(err)
		}
	}

	// Every site every 60 s (phases spread), 256 checks in flight.
	type job struct {
		i  int
		at time.Time
	}
	jobs := make(chan job, 1024)
	var wg sync.WaitGroup
	var checks atomic.Int64
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r := rand.New(rand.NewPCG(uint64(j.i), uint64(j.at.UnixMilli())))
				res := Result{Up: true, StatusCode: 200, Latency: time.Duration(5+r.IntN(200)) * time.Millisecond, Attempts: 1}
				if r.IntN(100) == 0 {
					res = Result{StatusCode: 500, Latency: 3 * time.Millisecond, Err: "HTTP 500", Attempts: 1}
				}
				if _, err := s.record(sites.sites[j.i], j.at, res, true); err != nil {
					b.Error(err)
				}
				checks.Add(1)
			}
		}()
	}
	simStart := time.Now()
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		clock.Store(t.UnixMilli())
		for i := range nSites {
			jobs <- job{i, t.Add(time.Duration(phaseOf(int64(i+1), 60000)) * time.Millisecond)}
		}
		if t.Minute() == 59 {
			if err := s.Prune(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	close(jobs)
	wg.Wait()
	clock.Store(end.UnixMilli())
	if err := s.Prune(ctx); err != nil {
		b.Fatal(err)
	}
	simTook := time.Since(simStart)
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}

	// Bytes per object (table or index) from dbstat, rows per table.
	objBytes := map[string]float64{}
	rows, err := s.db.QueryContext(ctx, `SELECT name, SUM(pgsize) FROM dbstat GROUP BY name`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var name string
		var n float64
		if err := rows.Scan(&name, &n); err != nil {
			b.Fatal(err)
		}
		objBytes[name] = n
	}
	rows.Close()
	count := func(q string, args ...any) float64 {
		var n float64
		if err := s.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	nChecks := count(`SELECT COUNT(*) FROM checks`)
	nM := count(`SELECT COUNT(*) FROM rollups WHERE res = 'm'`)
	nH := count(`SELECT COUNT(*) FROM rollups WHERE res = 'h'`)
	nD := count(`SELECT COUNT(*) FROM rollups WHERE res = 'd'`)
	var pageCount, pageSize, freePages float64
	_ = s.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pageCount)
	_ = s.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize)
	_ = s.db.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&freePages)

	checkBytes := (objBytes["checks"] + objBytes["checks_site_time"] + objBytes["checks_time"]) / nChecks
	// Rollup bytes split by row count (the three resolutions share the
	// table and its indexes; rows are the same shape).
	rollupBytes := (objBytes["rollups"] + objBytes["sqlite_autoindex_rollups_1"] + objBytes["rollups_time"]) / (nM + nH + nD)

	// A year of 1,000 sites at 60 s with the default retention: raw
	// checks 7 days, minute rollups 2 days, hour rollups 180 days, day
	// rollups the year (Prune).
	const ySites = 1000
	yChecks := float64(ySites * 1440 * 7)
	yM := float64(ySites * 1440 * 2)
	yH := float64(ySites * 24 * 180)
	yD := float64(ySites * 365)
	yearBytes := yChecks*checkBytes + (yM+yH+yD)*rollupBytes

	// The uptime query for site 1.
	timeUptime := func(window time.Duration) float64 {
		var ds []float64
		for range 200 {
			t := time.Now()
			if _, _, err := s.uptime(ctx, 1, window, end); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, float64(time.Since(t).Microseconds())/1000)
		}
		sort.Float64s(ds)
		return ds[len(ds)/2]
	}
	up365 := timeUptime(365 * 24 * time.Hour)
	up90 := timeUptime(90 * 24 * time.Hour)
	up30 := timeUptime(30 * 24 * time.Hour)

	b.Logf("simulated %d sites × %d h at 60 s: %d checks recorded in %s (%.0f checks/s)", nSites, hours, checks.Load(), simTook.Round(time.Millisecond), float64(checks.Load())/simTook.Seconds())
	b.Logf("rows: checks %.0f, rollups m %.0f h %.0f d %.0f; file %.1f MB (%.0f free pages)", nChecks, nM, nH, nD, pageCount*pageSize/1e6, freePages)
	for name, n := range objBytes {
		b.Logf("  %-28s %10.0f bytes", name, n)
	}
	b.Logf("bytes per stored check (row + indexes): %.1f; per rollup row: %.1f", checkBytes, rollupBytes)
	b.Logf("a year of 1,000 sites at 60 s: checks %.2fM rows, rollups %.2fM rows → %.0f MB", yChecks/1e6, (yM+yH+yD)/1e6, yearBytes/1e6)
	b.Logf("uptime query median: 365 d %.3f ms, 90 d %.3f ms, 30 d %.3f ms", up365, up90, up30)
	for b.Loop() {
		if _, _, err := s.uptime(ctx, 1, 365*24*time.Hour, end); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(checkBytes, "B/check")
	b.ReportMetric(rollupBytes, "B/rollup")
	b.ReportMetric(yearBytes/1e6, "MB/year-1k-sites")
	b.ReportMetric(up365, "ms/uptime365d")
}
