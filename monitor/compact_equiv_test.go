package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// openSimService opens a monitor service for the simulation on a private
// database, with the simulation's sites added (ids 1…) and the agents'
// locations known.
func openSimService(t *testing.T, clock *manualClock, opts Options) (*Service, []*site.Site) {
	t.Helper()
	cfg := sqldbtest.Config(t)
	db, err := sqldb.Open(context.Background(), cfg, "monitor", Migrations())
	if err != nil {
		t.Fatal(err)
	}
	siteDB, err := sqldb.Open(context.Background(), cfg, "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { siteDB.Close() })
	var s *Service
	sites := &testSites{site.New(siteDB, site.Options{Defaults: site.Defaults{Interval: time.Minute, Timeout: time.Second},
		LocationKnown: func(n string) bool { return s.LocationKnown(n) }})}
	opts.Now, opts.BatchDelay = clock.Now, -1
	s = New(db, sites, opts)
	s.Start(false)
	t.Cleanup(func() {
		s.Stop()
		db.Close()
	})
	s.Heartbeat("eu", "eu-1", clock.Now())
	s.Heartbeat("us", "us-1", clock.Now())
	var out []*site.Site
	for i, st := range simSites {
		out = append(out, sites.put(t, int64(i+1), st.url, st.settings))
	}
	return s, out
}

// runSim plays the events on s: records one at a time (so both services
// give the same ids), prunes (prune is the service's Prune, or only its
// deletion of rows), compacts if compact, and answers every history
// endpoint at each comparison.
func runSim(t *testing.T, s *Service, sites []*site.Site, clock *manualClock, evs []simEvent, compact bool) []map[string]string {
	ctx := context.Background()
	var answers []map[string]string
	usSilent := [2]time.Time{evs[len(evs)/3].arrive, evs[len(evs)/3].arrive.Add(30 * time.Hour)}
	for _, ev := range evs {
		clock.Set(ev.arrive)
		s.Heartbeat("eu", "eu-1", ev.arrive)
		if ev.arrive.Before(usSilent[0]) || ev.arrive.After(usSilent[1]) {
			s.Heartbeat("us", "us-1", ev.arrive)
		}
		var err error
		switch ev.kind {
		case simRecord:
			st := sites[ev.site]
			if ev.loc == LocationLocal {
				_, err = s.record(st, ev.at, ev.res, false)
			} else {
				err = s.RecordFrom(st, ev.loc, ev.at, ev.res)
			}
		case simPrune:
			if compact {
				err = s.Prune(ctx)
			} else {
				err = s.prune(ctx, ev.arrive)
			}
		case simCompact:
			if compact {
				err = s.Compact(ctx)
			}
		case simCompare:
			answers = append(answers, simAnswers(t, s, sites, ev.probe))
		}
		if err != nil {
			t.Errorf("event %+v: %v", ev, err)
			return answers
		}
	}
	return answers
}

// simAnswers answers every history endpoint for every site: uptime,
// latency series, incidents, the site's overview row, the dashboard's
// overview, and every check paged through newest first, oldest first
// and back from a time, for the site and each of its locations.
func simAnswers(t *testing.T, s *Service, sites []*site.Site, p *simProbe) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(key string, v any, err error) {
		b, _ := json.Marshal(v)
		out[key] = string(b)
		if err != nil {
			out[key] = "error: " + err.Error()
		}
	}
	for i, st := range sites {
		id := st.ID
		for w := range uptimeWindows {
			u, err := s.SiteUptime(ctx, &UptimeParams{SiteID: id, Window: w})
			put(fmt.Sprintf("%d/uptime/%s", id, w), u, err)
		}
		for _, w := range []string{"1h", "6h", "24h", "48h", "7d", "30d", "90d", "365d"} {
			for _, step := range []string{"", w, p.step} {
				l, err := s.SiteLatency(ctx, &LatencyParams{SiteID: id, Window: w, Step: step})
				put(fmt.Sprintf("%d/latency/%s/%s", id, w, step), l, err)
			}
		}
		inc, err := s.SiteIncidents(ctx, &IncidentsParams{SiteID: id, Limit: 1000})
		put(fmt.Sprintf("%d/incidents", id), inc, err)
		ov, err := s.SiteOverviewOf(ctx, id)
		put(fmt.Sprintf("%d/overview", id), ov, err)
		for _, loc := range simSites[i].locs {
			// One location's series is read from the checks (rows and
			// blocks alike).
			for _, w := range []string{"6h", "48h", "7d"} {
				l, err := s.SiteLatency(ctx, &LatencyParams{SiteID: id, Window: w, Location: loc})
				put(fmt.Sprintf("%d/latency/%s/%s", id, w, loc), l, err)
			}
		}
		for _, loc := range append([]string{""}, simSites[i].locs...) {
			key := fmt.Sprintf("%d/checks/%s/", id, loc)
			out[key+"newest"] = pageChecks(t, s, ChecksParams{SiteID: id, Location: loc, Limit: p.limits[0]}, false)
			out[key+"since"] = pageChecks(t, s, ChecksParams{SiteID: id, Location: loc, Limit: p.limits[1],
				Since: strconv.FormatInt(p.since.UnixMilli(), 10)}, true)
			out[key+"before"] = pageChecks(t, s, ChecksParams{SiteID: id, Location: loc, Limit: p.limits[2],
				Before: p.before.Format(time.RFC3339Nano)}, false)
		}
	}
	all, err := s.Overview(ctx)
	put("overview", all, err)
	some, err := s.OverviewOf(ctx, sites[1:3])
	put("overviewOf", some, err)
	return out
}

// pageChecks follows a listing of checks to its last page and returns
// every page and cursor.
func pageChecks(t *testing.T, s *Service, p ChecksParams, forward bool) string {
	t.Helper()
	var b strings.Builder
	for page := 0; ; page++ {
		if page > 20000 {
			t.Errorf("paging %+v does not end", p)
			return b.String()
		}
		r, err := s.SiteChecks(context.Background(), &p)
		if err != nil {
			return b.String() + "error: " + err.Error()
		}
		j, _ := json.Marshal(r)
		b.Write(j)
		if r.Next == "" {
			return b.String()
		}
		if forward {
			p.Since = r.Next
		} else {
			p.Before = r.Next
		}
	}
}

// Every history endpoint answers the same from compacted history as from
// the rows alone. Two services record the same simulated weeks (long
// runs, flapping, outages, gaps, three locations, agents' results hours
// late, a location lost for a while) one check at a time, so that ids
// match; one only deletes rows past their retention (the history as it
// was stored before compaction), the other prunes and compacts at random
// moments, and both answer every endpoint at random times and at the
// end, with random page sizes, retention boundaries falling inside
// blocks and packs.
func TestCompactedHistoryAnswersAsRows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		seed         uint64
		days         int // simulated
		raw, rollups time.Duration
		packs        string // the resolutions that must have been packed
	}{
		{seed: 1, days: 38, raw: 7 * 24 * time.Hour, rollups: 400 * 24 * time.Hour, packs: "mhd"},
		// Day buckets are past the retention before their span is packed.
		{seed: 2, days: 14, raw: 5 * time.Hour, rollups: 6 * 24 * time.Hour, packs: "mh"},
		// The retention ends inside the day pack: it is trimmed.
		{seed: 3, days: 38, raw: 3 * 24 * time.Hour, rollups: 37 * 24 * time.Hour, packs: "mhd"},
	} {
		t.Run(fmt.Sprint(tc.seed), func(t *testing.T) {
			t.Parallel()
			// Start 5 days before a 32-day boundary of day packs, at an odd
			// time, so that 38 simulated days make packs of every kind.
			boundary := packStart(resDay, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()) + packSpan(resDay)
			t0 := time.UnixMilli(boundary).UTC().Add(-5*24*time.Hour + 7*time.Hour + 13*time.Minute + 17*time.Second)
			evs := simulate(tc.seed, t0, time.Duration(tc.days)*24*time.Hour)
			opts := Options{RawRetention: tc.raw, RollupRetention: tc.rollups}
			clocks := [2]*manualClock{{t: t0}, {t: t0}}
			ref, refSites := openSimService(t, clocks[0], opts)
			cmp, cmpSites := openSimService(t, clocks[1], opts)
			var got [2][]map[string]string
			done := make(chan struct{})
			go func() {
				defer close(done)
				got[0] = runSim(t, ref, refSites, clocks[0], evs, false)
			}()
			got[1] = runSim(t, cmp, cmpSites, clocks[1], evs, true)
			<-done
			if t.Failed() {
				return
			}
			assertCompacted(t, cmp, tc.packs)
			if len(got[0]) != len(got[1]) || len(got[0]) == 0 {
				t.Fatalf("%d and %d comparisons", len(got[0]), len(got[1]))
			}
			for i := range got[0] {
				compareAnswers(t, i, got[0][i], got[1][i])
			}
			if !slices.EqualFunc(readStoredChecks(t, ref), readStoredChecks(t, cmp), func(a, b storedCheck) bool { return a == b }) {
				t.Error("the stored checks differ")
			}
			if rollupsText(readStoredRollups(t, ref)) != rollupsText(readStoredRollups(t, cmp)) {
				t.Error("the stored rollups differ")
			}
		})
	}
}

// assertCompacted fails unless s holds blocks and packs of every
// resolution: a comparison of uncompacted history proves nothing.
func assertCompacted(t *testing.T, s *Service, packs string) {
	t.Helper()
	if n := countRows(t, s, `SELECT COUNT(*) FROM check_blocks`); n == 0 {
		t.Error("no check blocks")
	}
	for _, res := range strings.Split(packs, "") {
		if n := countRows(t, s, `SELECT COUNT(*) FROM rollup_packs WHERE res = $1`, res); n == 0 {
			t.Errorf("no %s packs", res)
		}
	}
}

// compareAnswers reports the endpoints whose answers differ.
func compareAnswers(t *testing.T, i int, want, got map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	bad := 0
	for _, k := range keys {
		if want[k] != got[k] {
			bad++
			if bad <= 5 {
				w, g := want[k], got[k]
				j := 0
				for j < len(w) && j < len(g) && w[j] == g[j] {
					j++
				}
				from := max(j-200, 0)
				t.Errorf("comparison %d, %s differs at byte %d:\nrows      …%.400s\ncompacted …%.400s", i, k, j, w[from:], g[from:])
			}
		}
	}
	if bad > 0 {
		t.Errorf("comparison %d: %d of %d answers differ", i, bad, len(keys))
	}
}

// rollupsText lists buckets in order, for comparing.
func rollupsText(m map[rollupKey]*rollup) string {
	keys := make([]rollupKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortRollupKeys(keys)
	var b strings.Builder
	for _, k := range keys {
		r := m[k]
		fmt.Fprintf(&b, "%v %d/%d/%d %d %d %s\n", k, r.Up, r.Down, r.Slow, r.LatencySum, r.LatencyMax, encodeHist(r.Hist))
	}
	return b.String()
}
