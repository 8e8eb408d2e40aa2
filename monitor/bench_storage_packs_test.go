package monitor

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"upmon/platform/sqldb"
)

// storageOfPacks writes the rollups rows of resolution res (hour or day)
// of nSites over days before end, each bucket built from 60 simulated
// checks an hour (benchResult) as the write path merges them, compacts
// them, and returns the bytes per packed bucket (rollup_packs with its
// indexes), per rollups row before they were moved, and the service (for
// timing reads).
func storageOfPacks(b *testing.B, nSites int, res string, days int, end time.Time) (perBucket, perRow float64, _ *Service) {
	sites := newBenchSites(nSites, time.Minute)
	s := newBenchService(b, sites, func() time.Time { return end })
	ctx := context.Background()
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	// A check of each site now gives it its state row (compaction covers
	// the sites that have one).
	for _, st := range sites.sites {
		if _, err := s.record(st, end, Result{Up: true, StatusCode: 200, Attempts: 1}, false); err != nil {
			b.Fatal(err)
		}
	}
	rows := map[rollupKey]*rollup{}
	var keys []rollupKey
	flush := func() {
		err := s.db.InTx(ctx, func(tx *sql.Tx) error { return writeBucketRows(ctx, tx, &s.stmts, keys, rows) })
		if err != nil {
			b.Fatal(err)
		}
		rows, keys = map[rollupKey]*rollup{}, nil
	}
	size := resSize(res)
	for i := range nSites {
		phase := phaseOf(int64(i+1), 60000)
		for h := start; h.Before(end); h = h.Add(time.Hour) {
			k := rollupKey{int64(i + 1), res, h.UnixMilli() - floorMod(h.UnixMilli(), size)}
			r := rows[k]
			if r == nil {
				r = &rollup{}
				rows[k] = r
				keys = append(keys, k)
			}
			for m := range 60 {
				at := h.UnixMilli() + int64(m)*60000 + phase
				r.add(benchResult(i, at))
			}
			if len(keys) >= 1024 && res == resHour {
				flush()
			}
		}
		if len(keys) >= 1024 {
			flush()
		}
	}
	flush()
	var n float64
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM rollups`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	perRow = tableBytes(b, s, "rollups") / n
	if err := s.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	if s.db.Dialect == sqldb.Postgres {
		if _, err := s.db.Exec(`VACUUM rollups, rollup_packs`); err != nil {
			b.Fatal(err)
		}
	}
	packed := countPacked(b, s, res)
	perBucket = tableBytes(b, s, "rollup_packs") / float64(packed)
	b.Logf("%s rollups: %.0f rows of %.1f B each; %d buckets packed, %.1f B each", res, n, perRow, packed, perBucket)
	return perBucket, perRow, s
}
