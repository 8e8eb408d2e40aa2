package monitor

import (
	"context"
	"database/sql"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
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

// flush merges the batch into the rollups table within tx, set-wise:
// one read of the batch's existing bucket rows, merged in memory, and one
// multi-row upsert writing them back. Every writer of a site's rollups
// holds the site's state row lock (writeChecks locks the batch's state
// rows first, in id order), so no other replica changes or creates those
// bucket rows between the read and the write: the rollups need no lock of
// their own, and two batches never deadlock on them.
func (b rollupBatch) flush(ctx context.Context, tx *sql.Tx, stmts *stmtCache) error {
	keys := make([]rollupKey, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sortRollupKeys(keys)
	rows, err := readBucketRows(ctx, tx, stmts, keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		r := rows[k]
		if r == nil {
			r = &rollup{}
			rows[k] = r
		}
		r.merge(b[k])
	}
	return writeBucketRows(ctx, tx, stmts, keys, rows)
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

// readBucketRows reads the existing rows of keys (sorted).
func readBucketRows(ctx context.Context, tx *sql.Tx, stmts *stmtCache, keys []rollupKey) (map[rollupKey]*rollup, error) {
	want := make(map[rollupKey]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	out := map[rollupKey]*rollup{}
	err := chunks(len(keys), func(lo, hi int) error {
		var sites, buckets []any
		seenSite, seenBucket := map[int64]bool{}, map[int64]bool{}
		for _, k := range keys[lo:hi] {
			if !seenSite[k.site] {
				seenSite[k.site] = true
				sites = append(sites, k.site)
			}
			if !seenBucket[k.bucket] {
				seenBucket[k.bucket] = true
				buckets = append(buckets, k.bucket)
			}
		}
		sites, buckets = padPow2(sites), padPow2(buckets)
		rows, err := stmts.query(ctx, tx, `SELECT `+rollupColumns+` FROM rollups WHERE site_id IN (`+stmts.inList(1, len(sites))+
			`) AND bucket IN (`+stmts.inList(1+len(sites), len(buckets))+`) ORDER BY site_id, res, bucket`, append(sites, buckets...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k    rollupKey
				r    rollup
				hist string
			)
			if err := rows.Scan(&k.site, &k.res, &k.bucket, &r.Up, &r.Down, &r.Slow, &r.LatencySum, &r.LatencyMax, &hist); err != nil {
				return err
			}
			if want[k] {
				r.Hist = decodeHist(hist)
				out[k] = &r
			}
		}
		return rows.Err()
	})
	return out, err
}

func rollupArgs(keys []rollupKey, rows map[rollupKey]*rollup) []any {
	args := make([]any, 0, len(keys)*len(rollupTypes))
	for _, k := range keys {
		r := rows[k]
		args = append(args, k.site, k.res, k.bucket, r.Up, r.Down, r.Slow, r.LatencySum, r.LatencyMax, encodeHist(r.Hist))
	}
	return args
}

// writeBucketRows writes the merged rows of keys, inserting or replacing
// each.
func writeBucketRows(ctx context.Context, tx *sql.Tx, stmts *stmtCache, keys []rollupKey, rows map[rollupKey]*rollup) error {
	return chunks(len(keys), func(lo, hi int) error {
		_, err := stmts.exec(ctx, tx, `INSERT INTO rollups (`+rollupColumns+`) VALUES `+stmts.values(hi-lo, rollupTypes)+
			` ON CONFLICT (site_id, res, bucket) DO UPDATE SET up_count = excluded.up_count, down_count = excluded.down_count,
			slow_count = excluded.slow_count, latency_sum = excluded.latency_sum, latency_max = excluded.latency_max, hist = excluded.hist`,
			rollupArgs(keys[lo:hi], rows)...)
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
