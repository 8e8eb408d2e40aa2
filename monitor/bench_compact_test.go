package monitor

import (
	"context"
	"database/sql"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCompactHour measures what compaction costs per check: each
// iteration stores an hour of checks (and their rollups) of
// UPMON_BENCH_COMPACT_SITES (default 1,000) sites at 60 s as the write
// path leaves them, then times Compact moving them, with no writer
// running beside it. It reports the process's CPU time per check moved
// (cpu-µs/check: user + system, from getrusage, so SQLite's work and GC
// count) and the wall time per check (which on SQLite includes the
// pauses compaction leaves the batching writer).
func BenchmarkCompactHour(b *testing.B) {
	nSites := envInt("UPMON_BENCH_COMPACT_SITES", 1000)
	sites := newBenchSites(nSites, time.Minute)
	hour := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := hour
	s := newBenchService(b, sites, func() time.Time { return now })
	ctx := context.Background()
	for _, st := range sites.sites { // state rows: compaction covers those sites
		if _, err := s.record(st, hour.Add(-time.Hour), Result{Up: true, StatusCode: 200, Attempts: 1}, false); err != nil {
			b.Fatal(err)
		}
	}
	var cpu, wall time.Duration
	moved := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		moved += storeHour(b, s, nSites, hour)
		hour = hour.Add(time.Hour)
		now = hour.Add(time.Hour) // the stored hour ended an hour ago
		c0, w0 := cpuTime(), time.Now()
		b.StartTimer()
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - c0
		wall += time.Since(w0)
	}
	var left int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM checks WHERE checked_at < $1`, hour.UnixMilli()).Scan(&left); err != nil || left != 0 {
		b.Fatalf("%d checks left, %v", left, err)
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(moved), "cpu-µs/check")
	b.ReportMetric(float64(wall.Microseconds())/float64(moved), "wall-µs/check")
}

// storeHour writes an hour of checks of n sites at 60 s starting at
// hour, and their rollups, as the batching writer would, and returns how
// many checks it wrote.
func storeHour(b *testing.B, s *Service, n int, hour time.Time) int {
	ctx := context.Background()
	var rows []checkRow
	rolls := rollupBatch{}
	for i := range n {
		for m := range 60 {
			at := hour.Add(time.Duration(m)*time.Minute + time.Duration(phaseOf(int64(i+1), 60000))*time.Millisecond)
			res := benchResult(i, at.UnixMilli())
			rows = append(rows, checkRow{int64(i + 1), res.Up, at.UnixMilli(), res.Latency.Milliseconds(), int64(res.StatusCode), res.Err,
				checkState(res), int64(0), int64(0), int64(0), int64(0), nil, int64(1), LocationLocal})
			rolls.add(int64(i+1), at, res)
		}
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := insertChecks(ctx, tx, &s.stmts, rows); err != nil {
			return err
		}
		return rolls.flush(ctx, tx, &s.stmts)
	})
	if err != nil {
		b.Fatal(err)
	}
	return len(rows)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
