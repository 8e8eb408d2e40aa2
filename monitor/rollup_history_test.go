package monitor

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// rawCheck is one row of the checks table as the recomputation reads it.
type rawCheck struct {
	site    int64
	up      bool
	slow    bool
	latency int64
	at      int64
}

func readRawChecks(t *testing.T, s *Service) []rawCheck {
	t.Helper()
	rows, err := s.db.Query(`SELECT site_id, up, state, latency_ms, checked_at FROM checks ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rawCheck
	for rows.Next() {
		var c rawCheck
		var state string
		if err := rows.Scan(&c.site, &c.up, &state, &c.latency, &c.at); err != nil {
			t.Fatal(err)
		}
		c.slow = state == StateDegraded
		out = append(out, c)
	}
	return out
}

// recomputeRollups rebuilds every rollup from raw checks, independently
// of the write path: buckets aligned on unix-epoch multiples, latency of
// successful checks in the histogram bins of latencyBounds.
func recomputeRollups(checks []rawCheck) map[rollupKey]*rollup {
	out := map[rollupKey]*rollup{}
	for _, c := range checks {
		for _, r := range resolutions {
			size := r.size.Milliseconds()
			k := rollupKey{c.site, r.res, c.at - c.at%size}
			ru := out[k]
			if ru == nil {
				ru = &rollup{Hist: map[int]int64{}}
				out[k] = ru
			}
			if !c.up {
				ru.Down++
				continue
			}
			ru.Up++
			if c.slow {
				ru.Slow++
			}
			ru.LatencySum += c.latency
			ru.LatencyMax = max(ru.LatencyMax, c.latency)
			bin := len(latencyBounds)
			for i, b := range latencyBounds {
				if c.latency <= b {
					bin = i
					break
				}
			}
			ru.Hist[bin]++
		}
	}
	return out
}

func readAllRollups(t *testing.T, s *Service) map[rollupKey]*rollup {
	t.Helper()
	rows, err := s.db.Query(`SELECT site_id, res, bucket, up_count, down_count, slow_count, latency_sum, latency_max, hist FROM rollups`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[rollupKey]*rollup{}
	for rows.Next() {
		var (
			k    rollupKey
			r    rollup
			hist string
		)
		if err := rows.Scan(&k.site, &k.res, &k.bucket, &r.Up, &r.Down, &r.Slow, &r.LatencySum, &r.LatencyMax, &hist); err != nil {
			t.Fatal(err)
		}
		r.Hist = decodeHist(hist)
		out[k] = &r
	}
	return out
}

// exactPercentile is the nearest-rank percentile of sorted values.
func exactPercentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p + 0.999999999)
	return sorted[max(rank, 1)-1]
}

// recordHistory records n checks per site over span before end, with
// mixed outcomes and latencies, partly concurrently (so the writer batches
// them) and partly one by one.
func recordHistory(t *testing.T, s *Service, sites []*site.Site, end time.Time, span time.Duration, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	type item struct {
		st  *site.Site
		at  time.Time
		res Result
	}
	var items []item
	for _, st := range sites {
		for i := range n {
			at := end.Add(-span + time.Duration(i)*span/time.Duration(n)).Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
			lat := time.Duration(rng.ExpFloat64()*150) * time.Millisecond
			var res Result
			switch x := rng.IntN(100); {
			case x < 8:
				res = Result{StatusCode: 503, Latency: lat, Err: "HTTP 503"}
			case x < 15:
				res = Result{Up: true, Slow: true, StatusCode: 200, Latency: lat + 2*time.Second, Err: "slow"}
			default:
				res = Result{Up: true, StatusCode: 200, Latency: lat}
			}
			items = append(items, item{st, at, res})
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, it := range items {
		if i%3 == 0 { // one by one
			mustRecord(t, s, it.st, it.at, it.res)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := s.record(it.st, it.at, it.res, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestRollupsEqualRecomputationFromRawChecks(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 5, 10, 15, 30, 0, 0, time.UTC)
	clock := &manualClock{t: end}
	s, list := openRecorder(t, Options{Now: clock.Now})
	sites := []*site.Site{list.put(t, 1, "https://a.upmon.test", ""), list.put(t, 2, "https://b.upmon.test", "")}
	recordHistory(t, s, sites, end, 3*24*time.Hour, 400, 1)

	raw := readRawChecks(t, s)
	if len(raw) != 800 {
		t.Fatalf("%d raw checks, want 800", len(raw))
	}
	want := recomputeRollups(raw)
	got := readAllRollups(t, s)
	if len(got) != len(want) {
		t.Fatalf("%d rollup rows, recomputation has %d", len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if g == nil {
			t.Fatalf("rollup %+v missing", k)
		}
		if g.Up != w.Up || g.Down != w.Down || g.Slow != w.Slow || g.LatencySum != w.LatencySum || g.LatencyMax != w.LatencyMax ||
			encodeHist(g.Hist) != encodeHist(w.Hist) {
			t.Fatalf("rollup %+v = %+v, recomputed %+v", k, g, w)
		}
		for _, p := range []float64{0.5, 0.95} {
			if g.percentile(p) != w.percentile(p) {
				t.Fatalf("rollup %+v p%v = %v, recomputed %v", k, p*100, g.percentile(p), w.percentile(p))
			}
		}
	}

	// p50, p95 and max of the day rollups bound the exact values: the
	// percentile is the upper bound of the exact value's bin.
	for k, w := range want {
		if k.res != resDay {
			continue
		}
		var lats []int64
		for _, c := range raw {
			if c.site == k.site && c.up && c.at-c.at%(24*time.Hour).Milliseconds() == k.bucket {
				lats = append(lats, c.latency)
			}
		}
		slices.Sort(lats)
		for _, p := range []float64{0.5, 0.95} {
			exact := exactPercentile(lats, p)
			approx := int64(w.percentile(p))
			bin := latencyBin(exact)
			if approx < exact || (bin < len(latencyBounds) && approx > latencyBounds[bin]) {
				t.Errorf("%+v: p%v from the histogram %d, exact %d", k, p*100, approx, exact)
			}
		}
		if w.LatencyMax != lats[len(lats)-1] {
			t.Errorf("%+v: max %d, exact %d", k, w.LatencyMax, lats[len(lats)-1])
		}
	}

	// Uptime over each window equals the raw count of the window's
	// buckets, and the latency series merges the same rollups.
	ctx := context.Background()
	for window, d := range uptimeWindows {
		res, size := resolutionFor(d)
		from := end.Add(-d).Truncate(size).UnixMilli()
		var up, total int64
		for k, w := range want {
			if k.site == 1 && k.res == res && k.bucket >= from {
				up += w.Up
				total += w.Up + w.Down
			}
		}
		u, err := s.SiteUptime(ctx, &UptimeParams{SiteID: 1, Window: window})
		if err != nil {
			t.Fatal(err)
		}
		if u.Checks != total || u.Uptime == nil || *u.Uptime != *percent(up, total) {
			t.Errorf("uptime %s = %+v (%v), recomputed %d/%d", window, u, *u.Uptime, up, total)
		}
	}
	lat, err := s.SiteLatency(ctx, &LatencyParams{SiteID: 2, Window: "7d", Step: "1d"})
	if err != nil {
		t.Fatal(err)
	}
	var points int64
	for _, p := range lat.Points {
		day := &rollup{}
		for k, w := range want {
			if k.site == 2 && k.res == resHour && time.UnixMilli(k.bucket).Truncate(24*time.Hour).Equal(p.At) {
				day.merge(w)
			}
		}
		if p.Count != day.Up+day.Down || p.Up != day.Up || p.MaxMS != float64(day.LatencyMax) || p.P95MS != day.percentile(0.95) || p.P50MS != day.percentile(0.5) {
			t.Errorf("latency point %+v, recomputed %+v", p, day)
		}
		points += p.Count
	}
	if points != 400 || lat.Window != "7d" || lat.Step != "24h" { // the step used is answered
		t.Errorf("latency series over 7d: %d checks in %d points (%s/%s), want 400", points, len(lat.Points), lat.Window, lat.Step)
	}
}

// uptimeAnswers returns a site's answers over every window.
func uptimeAnswers(t *testing.T, s *Service, siteID int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for w := range uptimeWindows {
		u, err := s.SiteUptime(context.Background(), &UptimeParams{SiteID: siteID, Window: w})
		if err != nil {
			t.Fatal(err)
		}
		v := "null"
		if u.Uptime != nil {
			v = strconv.FormatFloat(*u.Uptime, 'f', -1, 64)
		}
		out[w] = fmt.Sprintf("%s/%d", v, u.Checks)
	}
	return out
}

func countRows(t *testing.T, s *Service, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPruneKeepsUptimeAnswers(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: start}
	s, list := openRecorder(t, Options{Now: clock.Now}) // default retention: 7 d raw, 400 d rollups
	st := list.put(t, 1, "https://a.upmon.test", "")
	// Checks from 20 days to 1 day ago.
	recordHistory(t, s, []*site.Site{st}, start.Add(-24*time.Hour), 19*24*time.Hour, 600, 2)

	// Eight days on, every raw check is past the raw retention.
	clock.Set(start.Add(8 * 24 * time.Hour))
	before := uptimeAnswers(t, s, 1)
	latBefore, err := s.SiteLatency(context.Background(), &LatencyParams{SiteID: 1, Window: "30d"})
	if err != nil {
		t.Fatal(err)
	}
	if before["30d"] == "null/0" || before["24h"] != "null/0" {
		t.Fatalf("uptime before pruning = %v", before)
	}
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(readStoredChecks(t, s)); n != 0 {
		t.Fatalf("%d raw checks left after pruning", n)
	}
	if n := countBuckets(t, s, resMinute, math.MaxInt64); n != 0 {
		t.Fatalf("%d minute rollups left after pruning", n)
	}
	if n := countBuckets(t, s, resHour, math.MaxInt64) + countBuckets(t, s, resDay, math.MaxInt64); n == 0 {
		t.Fatal("hour and day rollups were pruned")
	}
	after := uptimeAnswers(t, s, 1)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("uptime changed by pruning:\nbefore %v\nafter  %v", before, after)
	}
	latAfter, err := s.SiteLatency(context.Background(), &LatencyParams{SiteID: 1, Window: "30d"})
	if err != nil || fmt.Sprint(latAfter) != fmt.Sprint(latBefore) {
		t.Fatalf("latency series changed by pruning: %v", err)
	}

	// Past the rollup retention, hour and day rollups go too.
	clock.Set(start.Add(401 * 24 * time.Hour))
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(readStoredRollups(t, s)); n != 0 {
		t.Fatalf("%d rollups left past the rollup retention", n)
	}
}

func TestPruneShortRawRetentionKeepsDayOfMinutes(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: start}
	// The shortest raw retention the configuration allows.
	s, list := openRecorder(t, Options{Now: clock.Now, RawRetention: time.Hour})
	st := list.put(t, 1, "https://a.upmon.test", "")
	recordHistory(t, s, []*site.Site{st}, start.Add(-time.Minute), 20*time.Hour, 300, 3)
	before := uptimeAnswers(t, s, 1)
	latBefore, err := s.SiteLatency(context.Background(), &LatencyParams{SiteID: 1, Window: "24h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(readStoredChecks(t, s)); n >= 300 || n == 0 {
		t.Fatalf("%d raw checks left; want only the last hour's", n)
	}
	after := uptimeAnswers(t, s, 1)
	latAfter, err := s.SiteLatency(context.Background(), &LatencyParams{SiteID: 1, Window: "24h"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) || fmt.Sprint(latAfter) != fmt.Sprint(latBefore) {
		t.Fatalf("the 24h answers changed by pruning with a 1h raw retention:\nbefore %v\nafter  %v", before, after)
	}
}

func TestHistoryEndpointsUnit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: now}
	s, list := openRecorder(t, Options{Now: clock.Now})
	ctx := context.Background()
	st := list.put(t, 1, "https://a.upmon.test", "")
	list.put(t, 2, "https://b.upmon.test", "")

	// No checks: uptime null.
	u, err := s.SiteUptime(ctx, &UptimeParams{SiteID: 2, Window: "24h"})
	if err != nil || u.Uptime != nil || u.Checks != 0 || u.Window != "24h" {
		t.Fatalf("uptime without checks = %+v, %v", u, err)
	}
	// A check a minute for a day, one of them down: 1439/1440. (Recorded
	// concurrently: the writer commits them in batches.)
	var wg sync.WaitGroup
	for i := range 1440 {
		r := resUp
		if i == 700 {
			r = resDown
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.record(st, now.Add(-time.Duration(1440-i)*time.Minute+time.Second), r, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	u, err = s.SiteUptime(ctx, &UptimeParams{SiteID: 1, Window: "24h"})
	if err != nil || u.Uptime == nil || *u.Uptime != 99.931 || u.Checks != 1440 {
		t.Fatalf("uptime 24h = %+v, %v", u, err)
	}
	u, err = s.SiteUptime(ctx, &UptimeParams{SiteID: 1}) // default window 24h
	if err != nil || u.Window != "24h" || u.Checks != 1440 {
		t.Fatalf("uptime, default window = %+v, %v", u, err)
	}
	for _, tc := range []struct {
		err   error
		field string
	}{
		{second(s.SiteUptime(ctx, &UptimeParams{SiteID: 1, Window: "2d"})), "window"},
		{second(s.SiteChecks(ctx, &ChecksParams{SiteID: 1, Limit: 1001})), "limit"},
		{second(s.SiteChecks(ctx, &ChecksParams{SiteID: 1, Limit: -1})), "limit"},
		{second(s.SiteChecks(ctx, &ChecksParams{SiteID: 1, Since: "0", Before: "1"})), "since"},
		{second(s.SiteChecks(ctx, &ChecksParams{SiteID: 1, Since: "yesterday"})), "since"},
		{second(s.SiteChecks(ctx, &ChecksParams{SiteID: 1, Before: "soon"})), "before"},
		{second(s.SiteLatency(ctx, &LatencyParams{SiteID: 1, Window: "2y"})), "window"},
		{second(s.SiteLatency(ctx, &LatencyParams{SiteID: 1, Window: "400d"})), "window"},
		{second(s.SiteLatency(ctx, &LatencyParams{SiteID: 1, Window: "90d", Step: "1h"})), "step"},
		{second(s.SiteIncidents(ctx, &IncidentsParams{SiteID: 1, Limit: 5000})), "limit"},
	} {
		if e := api.AsError(tc.err); tc.err == nil || e.Code != api.InvalidArgument || fmt.Sprint(e.Details) != fmt.Sprint(map[string]string{"field": tc.field}) {
			t.Errorf("%v: want a 400 naming %s", tc.err, tc.field)
		}
	}
	if _, err := s.SiteUptime(ctx, &UptimeParams{SiteID: 9, Window: "24h"}); !api.IsCode(err, api.NotFound) {
		t.Errorf("uptime of an unknown site: %v", err)
	}

	// Latency: an hour in steps of 10 minutes.
	lat, err := s.SiteLatency(ctx, &LatencyParams{SiteID: 1, Window: "1h", Step: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for i, p := range lat.Points {
		n += p.Count
		if p.At.Minute()%10 != 0 || p.MaxMS != 20 || p.P50MS != 20 || p.P95MS != 20 || (i > 0 && !p.At.After(lat.Points[i-1].At)) {
			t.Errorf("point %+v", p)
		}
	}
	if n < 60 || n > 61 || len(lat.Points) < 6 || len(lat.Points) > 7 || lat.Window != "1h" || lat.Step != "10m" {
		t.Errorf("latency over 1h: %d checks in %d points: %+v", n, len(lat.Points), lat)
	}
	lat, err = s.SiteLatency(ctx, &LatencyParams{SiteID: 1}) // defaults: 24h in 24m steps
	if err != nil || lat.Window != "24h" || lat.Step != "24m" || len(lat.Points) < 60 {
		t.Fatalf("latency with defaults: %d points, %s/%s, %v", len(lat.Points), lat.Window, lat.Step, err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestChecksPagingVisitsEachCheckOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	s, list := openRecorder(t, Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	st := list.put(t, 1, "https://a.upmon.test", "")
	var all []time.Time
	for i := range 23 {
		at := now.Add(-time.Duration(23-i) * time.Minute)
		if i == 10 || i == 11 {
			at = now.Add(-13 * time.Minute) // two checks in one millisecond
		}
		mustRecord(t, s, st, at, resUp)
		all = append(all, at)
	}
	for _, limit := range []int{1, 2, 3, 10, 23, 100} {
		for _, dir := range []string{"since", "before"} {
			var ids []int64
			seen := map[int64]bool{}
			p := &ChecksParams{SiteID: 1, Limit: limit}
			if dir == "since" {
				p.Since = strconv.FormatInt(now.Add(-time.Hour).UnixMilli(), 10)
			}
			for page := 0; ; page++ {
				if page > 50 {
					t.Fatalf("limit %d, %s: paging does not end", limit, dir)
				}
				out, err := s.SiteChecks(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Checks) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(out.Checks))
				}
				for _, c := range out.Checks {
					if seen[c.ID] {
						t.Fatalf("limit %d, %s: check %d seen twice", limit, dir, c.ID)
					}
					seen[c.ID] = true
					ids = append(ids, c.ID)
				}
				if out.Next == "" {
					break
				}
				if dir == "since" {
					p.Since = out.Next
				} else {
					p.Before = out.Next
				}
			}
			// Only a page of one cannot hold the two checks of one
			// millisecond: one of them is skipped, never repeated.
			if want := len(all); len(ids) != want && (limit > 1 || len(ids) != want-1) {
				t.Fatalf("limit %d, %s: %d checks visited, want %d", limit, dir, len(ids), want)
			}
			if !slices.IsSortedFunc(ids, func(a, b int64) int {
				if dir == "since" {
					return int(a - b)
				}
				return int(b - a)
			}) {
				t.Fatalf("limit %d, %s: order %v", limit, dir, ids)
			}
		}
	}
	// RFC 3339 works as well as unix milliseconds.
	out, err := s.SiteChecks(ctx, &ChecksParams{SiteID: 1, Since: now.Add(-3*time.Minute - time.Second).Format(time.RFC3339)})
	if err != nil || len(out.Checks) != 3 || out.Next != "" {
		t.Fatalf("since an RFC 3339 time: %+v, %v", out, err)
	}
}
