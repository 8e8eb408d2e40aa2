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

// BenchmarkStorageYear measures what history costs on disk and projects
// a year of 10,000 sites checked every 60 s with the default retention
// (raw checks 7 days, minute rollups 2 days, hour rollups 180 days, day
// rollups the year), on SQLite (dbstat) or PostgreSQL
// (pg_total_relation_size, after VACUUM as autovacuum would run it).
//
//   - Checks and minute rollups: UPMON_BENCH_STORAGE_SITES (default 100)
//     sites for UPMON_BENCH_STORAGE_HOURS (default 24) hours at 60 s, 1 %
//     down, through the monitor's own write path (the batching writer,
//     state, rollups) at simulated timestamps, with Prune (and so
//     compaction) every simulated hour as the cron job runs it.
//   - Hour and day rollups: the same sites' rollups of 180 and 365 days
//     (built from 60 simulated checks an hour, as the write path would
//     merge them) written as rows and compacted.
//
// The projection: every compacted kind is linear in its units (checks,
// buckets), measured as bytes per unit of its table with its indexes;
// the tables the write path fills (checks, rollups: what the hourly job
// has not moved yet, with the space its deletes leave for reuse, and on
// SQLite the file's free pages) are measured as they are at the end of
// the simulated day and scaled by sites; hour rows of the three days
// before yesterday and day rows of up to 34 more days, which compaction
// moves only then, are added at the bytes a rollups row takes. All 7 days
// of checks (2 of minutes) are counted compacted as well, so the few
// hours not yet compacted are counted twice. See docs/performance.md.
func BenchmarkStorageYear(b *testing.B) {
	nSites := envInt("UPMON_BENCH_STORAGE_SITES", 100)
	hours := envInt("UPMON_BENCH_STORAGE_HOURS", 24)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	raw := storageOfChecks(b, nSites, hours, end)
	hour, hourRow, _ := storageOfPacks(b, nSites, resHour, 180, end)
	day, dayRow, s := storageOfPacks(b, nSites, resDay, 365, end)

	const ySites = 10000
	parts := []struct {
		name        string
		units, each float64
	}{
		{"checks, compacted", ySites * 1440 * 7, raw.blockB},
		{"minute buckets, packed", ySites * 1440 * 2, raw.packB},
		{"hour buckets, packed", ySites * 24 * 180, hour},
		{"day buckets, packed", ySites * 365, day},
		{"rows not yet moved (sites)", ySites, raw.hotBytes / float64(nSites)},
		{"hour rows of 3 more days", ySites * 24 * 3, hourRow},
		{"day rows of 34 more days", ySites * 34, dayRow},
	}
	var total float64
	for _, p := range parts {
		total += p.units * p.each
		b.Logf("  %-27s %8.2fM × %7.1f B = %6.0f MB", p.name, p.units/1e6, p.each, p.units*p.each/1e6)
	}
	b.Logf("a year of %d sites at 60 s: %.0f MB", ySites, total/1e6)

	timeUptime := func(window time.Duration) float64 {
		var ds []float64
		for range 200 {
			t := time.Now()
			if _, _, err := s.uptime(context.Background(), 1, window, end); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, float64(time.Since(t).Microseconds())/1000)
		}
		sort.Float64s(ds)
		return ds[len(ds)/2]
	}
	up365 := timeUptime(365 * 24 * time.Hour)
	b.Logf("uptime over 365 days (day packs) median %.3f ms", up365)
	for b.Loop() {
		if _, _, err := s.uptime(context.Background(), 1, 365*24*time.Hour, end); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(raw.blockB, "B/check")
	b.ReportMetric(raw.perCheck, "B/check-all-in")
	b.ReportMetric(total/1e9, "GB/year-10k-sites")
	b.ReportMetric(up365, "ms/uptime365d")
}

// checkStorage is what the write-path simulation measured, in bytes: per
// compacted check (check_blocks), per packed minute bucket
// (rollup_packs), the tables the write path fills (checks, rollups, and
// on SQLite the file's free pages), and every table over the checks
// recorded.
type checkStorage struct {
	blockB, packB, hotBytes, perCheck float64
}

// storageOfChecks records nSites every 60 s for hours before end and
// measures the tables.
func storageOfChecks(b *testing.B, nSites, hours int, end time.Time) checkStorage {
	sites := newBenchSites(nSites, time.Minute)
	start := end.Add(-time.Duration(hours) * time.Hour)
	var clock atomic.Int64
	clock.Store(start.UnixMilli())
	s := newBenchService(b, sites, func() time.Time { return time.UnixMilli(clock.Load()).UTC() })
	ctx := context.Background()
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
				if _, err := s.record(sites.sites[j.i], j.at, benchResult(j.i, j.at.UnixMilli()), true); err != nil {
					b.Error(err)
				}
				checks.Add(1)
			}
		}()
	}
	simStart := time.Now()
	var pruneTook time.Duration
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		clock.Store(t.UnixMilli())
		if t.Minute() == 0 && t.After(start) {
			pruneTook += prune(b, s)
		}
		for i := range nSites {
			jobs <- job{i, t.Add(time.Duration(phaseOf(int64(i+1), 60000)) * time.Millisecond)}
		}
	}
	close(jobs)
	wg.Wait()
	clock.Store(end.UnixMilli())
	pruneTook += prune(b, s)
	b.Logf("simulated %d sites × %d h at 60 s: %d checks in %s; Prune (with compaction) took %s in all, %.1f µs per check",
		nSites, hours, checks.Load(), time.Since(simStart).Round(time.Millisecond), pruneTook.Round(time.Millisecond),
		float64(pruneTook.Microseconds())/float64(checks.Load()))

	n := func(q string) float64 {
		var v float64
		if err := s.db.QueryRowContext(ctx, q).Scan(&v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	blocks, rows := n(`SELECT COALESCE(SUM(n), 0) FROM check_blocks`), n(`SELECT COUNT(*) FROM checks`)
	rollups, packed := n(`SELECT COUNT(*) FROM rollups`), float64(countPacked(b, s, resMinute))
	out := checkStorage{
		blockB:   tableBytes(b, s, "check_blocks") / blocks,
		packB:    tableBytes(b, s, "rollup_packs") / packed,
		hotBytes: tableBytes(b, s, "checks") + tableBytes(b, s, "rollups") + freeBytes(b, s),
	}
	var all float64
	for _, t := range []string{"checks", "check_blocks", "rollups", "rollup_packs", "site_state", "incidents", "outbox"} {
		all += tableBytes(b, s, t)
	}
	out.perCheck = (all + freeBytes(b, s)) / float64(checks.Load())
	b.Logf("checks: %.0f compacted (%.1f B each), %.0f rows; minute buckets: %.0f packed (%.1f B each), %.0f rollups rows; "+
		"tables the write path fills: %.0f B a site; every table: %.1f B per check recorded",
		blocks, out.blockB, rows, packed, out.packB, rollups, out.hotBytes/float64(nSites), out.perCheck)
	return out
}

// benchResult is the simulated result of site i's check at ms: 5–205 ms,
// 1 % down.
func benchResult(i int, ms int64) Result {
	r := rand.New(rand.NewPCG(uint64(i), uint64(ms)))
	if r.IntN(100) == 0 {
		return Result{StatusCode: 500, Latency: 3 * time.Millisecond, Err: "HTTP 500", Attempts: 1}
	}
	return Result{Up: true, StatusCode: 200, Latency: time.Duration(5+r.IntN(200)) * time.Millisecond, Attempts: 1}
}

// prune runs Prune, as the hourly cron job does, and returns how long it
// took (wall time, including the pauses that let the writer in).
func prune(b *testing.B, s *Service) time.Duration {
	start := time.Now()
	if err := s.Prune(context.Background()); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if s.db.Dialect == sqldb.Postgres {
		if _, err := s.db.Exec(`VACUUM checks, rollups, check_blocks, rollup_packs, site_state, outbox, incidents`); err != nil {
			b.Fatal(err)
		}
	}
	return took
}

// tableBytes is what a table takes on disk with its indexes.
func tableBytes(b *testing.B, s *Service, table string) float64 {
	q := `SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = $1)`
	if s.db.Dialect == sqldb.Postgres {
		q = `SELECT pg_total_relation_size(to_regclass($1))`
	}
	var v float64
	if err := s.db.QueryRow(q, table).Scan(&v); err != nil {
		b.Fatal(err)
	}
	return v
}

// freeBytes is the size of SQLite's free pages (space deletes left for
// reuse); PostgreSQL keeps that inside each table's size.
func freeBytes(b *testing.B, s *Service) float64 {
	if s.db.Dialect == sqldb.Postgres {
		return 0
	}
	var pages, size float64
	if err := s.db.QueryRow(`PRAGMA freelist_count`).Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := s.db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		b.Fatal(err)
	}
	return pages * size
}

// countPacked counts the packed buckets of res.
func countPacked(b *testing.B, s *Service, res string) int {
	rows, err := s.db.Query(`SELECT data FROM rollup_packs WHERE res = $1`, res)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			b.Fatal(err)
		}
		bs, err := decodePack(data, packSpan(res)/resSize(res))
		if err != nil {
			b.Fatal(err)
		}
		n += len(bs)
	}
	return n
}
