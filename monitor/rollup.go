package monitor

import (
	"context"
	"database/sql"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"upmon/platform/sqldb"
)

// Rollup resolutions and their bucket sizes.
const (
	resMinute = "m"
	resHour   = "h"
	resDay    = "d"
)

var resolutions = []struct {
	res  string
	size time.Duration
}{{resMinute, time.Minute}, {resHour, time.Hour}, {resDay, 24 * time.Hour}}

// latencyBounds are the upper bounds (ms) of the latency histogram's
// bins; a last, open bin takes anything slower. p50 and p95 are read off
// the histogram, so rollups merge exactly and never need raw checks.
var latencyBounds = []int64{1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
	1000, 1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000}

// latencyBin returns the histogram bin of a latency.
func latencyBin(ms int64) int {
	return sort.Search(len(latencyBounds), func(i int) bool { return latencyBounds[i] >= ms })
}

// rollup is one bucket's aggregate.
type rollup struct {
	Up, Down, Slow int64
	LatencySum     int64
	LatencyMax     int64
	Hist           map[int]int64
}

func (r *rollup) add(res Result) {
	if !res.Up {
		r.Down++
		return
	}
	r.Up++
	if res.Slow {
		r.Slow++
	}
	ms := res.Latency.Milliseconds()
	r.LatencySum += ms
	r.LatencyMax = max(r.LatencyMax, ms)
	if r.Hist == nil {
		r.Hist = map[int]int64{}
	}
	r.Hist[latencyBin(ms)]++
}

func (r *rollup) merge(o *rollup) {
	r.Up += o.Up
	r.Down += o.Down
	r.Slow += o.Slow
	r.LatencySum += o.LatencySum
	r.LatencyMax = max(r.LatencyMax, o.LatencyMax)
	for k, v := range o.Hist {
		if r.Hist == nil {
			r.Hist = map[int]int64{}
		}
		r.Hist[k] += v
	}
}

// percentile reads the p-th percentile (0..1) of successful checks'
// latency off the histogram: the upper bound of the bin holding it,
// capped at the observed maximum.
func (r *rollup) percentile(p float64) float64 {
	if r.Up == 0 {
		return 0
	}
	rank := int64(math.Ceil(p * float64(r.Up)))
	var seen int64
	for i := 0; i <= len(latencyBounds); i++ {
		seen += r.Hist[i]
		if seen >= rank {
			if i == len(latencyBounds) {
				return float64(r.LatencyMax)
			}
			return float64(min(latencyBounds[i], r.LatencyMax))
		}
	}
	return float64(r.LatencyMax)
}

func encodeHist(h map[int]int64) string {
	keys := make([]int, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(k))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(h[k], 10))
	}
	return b.String()
}

func decodeHist(s string) map[int]int64 {
	h := map[int]int64{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, ":")
		if !ok {
			continue
		}
		ki, err1 := strconv.Atoi(k)
		vi, err2 := strconv.ParseInt(v, 10, 64)
		if err1 == nil && err2 == nil {
			h[ki] += vi
		}
	}
	return h
}

type rollupKey struct {
	site   int64
	res    string
	bucket int64
}

// rollupBatch accumulates the rollups of a batch of checks in memory, so
// each bucket row is written once per batch.
type rollupBatch map[rollupKey]*rollup

func (b rollupBatch) add(siteID int64, at time.Time, res Result) {
	for _, r := range resolutions {
		k := rollupKey{siteID, r.res, at.Truncate(r.size).UnixMilli()}
		if b[k] == nil {
			b[k] = &rollup{}
		}
		b[k].add(res)
	}
}

// flush adds the batch to the rollups table within tx, set-wise and
// without reading it: one multi-row upsert whose conflict clause adds the
// batch's counts, sums and histogram to the stored row (histAddFunc
// merges the histograms in the database) and keeps the larger maximum.
// A bucket row is thus written, never read back, by the check path: on
// PostgreSQL the read of the batch's rows used to be most of the
// database's work per check. Every writer of a site's rollups still holds
// the site's state row lock (writeChecks locks the batch's state rows
// first, in id order; compaction locks them too), so a compaction never
// moves a bucket row a batch is adding to, and rows are upserted in key
// order, so two batches never deadlock on them.
func (b rollupBatch) flush(ctx context.Context, tx *sql.Tx, stmts *stmtCache) error {
	keys := make([]rollupKey, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sortRollupKeys(keys)
	return writeBucketRows(ctx, tx, stmts, keys, b)
}

func sortRollupKeys(keys []rollupKey) {
	sort.Slice(keys, func(i, j int) bool {
		a, c := keys[i], keys[j]
		if a.site != c.site {
			return a.site < c.site
		}
		if a.res != c.res {
			return a.res < c.res
		}
		return a.bucket < c.bucket
	})
}

const rollupColumns = `site_id, res, bucket, up_count, down_count, slow_count, latency_sum, latency_max, hist`

var rollupTypes = []string{"BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT"}

// histAddFunc is the SQL function that merges two encoded histograms
// (encodeHist): a Go function registered with the SQLite driver (init
// below), and on PostgreSQL a SQL function created by the migration
// 00014_hist_add.postgres.sql. Both answer what histAdd answers.
const histAddFunc = "upmon_hist_add"

// histAdd merges two encoded histograms: encodeHist of the sum of
// decodeHist(a) and decodeHist(b).
func histAdd(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return encodeHist(decodeHist(a + "," + b))
}

func init() {
	sqldb.MustRegisterSQLiteFunction(histAddFunc, 2, func(args []any) (any, error) {
		return histAdd(sqlText(args[0]), sqlText(args[1])), nil
	})
}

// sqlText is a TEXT argument of a SQLite function (NULL is "").
func sqlText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

func rollupArgs(keys []rollupKey, rows map[rollupKey]*rollup) []any {
	args := make([]any, 0, len(keys)*len(rollupTypes))
	for _, k := range keys {
		r := rows[k]
		args = append(args, k.site, k.res, k.bucket, r.Up, r.Down, r.Slow, r.LatencySum, r.LatencyMax, encodeHist(r.Hist))
	}
	return args
}

// writeBucketRows adds rows (those of keys, sorted) to the rollups table:
// a new bucket is inserted, an existing one gets the row added to it.
func writeBucketRows(ctx context.Context, tx *sql.Tx, stmts *stmtCache, keys []rollupKey, rows map[rollupKey]*rollup) error {
	return stmts.eachRows(rollupArgs(keys, rows), rollupTypes, func(src string, args []any) error {
		_, err := stmts.exec(ctx, tx, `INSERT INTO rollups (`+rollupColumns+`) `+src+
			` ON CONFLICT (site_id, res, bucket) DO UPDATE SET up_count = rollups.up_count + excluded.up_count,
			down_count = rollups.down_count + excluded.down_count, slow_count = rollups.slow_count + excluded.slow_count,
			latency_sum = rollups.latency_sum + excluded.latency_sum,
			latency_max = CASE WHEN excluded.latency_max > rollups.latency_max THEN excluded.latency_max ELSE rollups.latency_max END,
			hist = `+histAddFunc+`(rollups.hist, excluded.hist)`, args...)
		return err
	})
}

// readRollups returns a site's rollups of one resolution with buckets in
// [from, to), oldest first: rows and packed buckets added up (readBuckets),
// in one snapshot.
func (s *Service) readRollups(ctx context.Context, siteID int64, res string, from, to time.Time) ([]int64, []*rollup, error) {
	var (
		buckets []int64
		out     []*rollup
	)
	err := s.readSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		buckets, out, err = s.readBuckets(ctx, tx, siteID, res, from.UnixMilli(), to.UnixMilli())
		return err
	})
	return buckets, out, err
}
