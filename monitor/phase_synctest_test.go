package monitor

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"upmon/site"
)

// busiestOverMean returns the busiest second's count divided by the mean
// count per second of the checks in [from, from+window).
func busiestOverMean(times map[int64][]time.Time, from time.Time, window time.Duration) (float64, int) {
	perSecond := map[int64]int{}
	total := 0
	for _, ts := range times {
		for _, at := range ts {
			if !at.Before(from) && at.Before(from.Add(window)) {
				perSecond[at.Unix()]++
				total++
			}
		}
	}
	busiest := 0
	for _, n := range perSecond {
		busiest = max(busiest, n)
	}
	if total == 0 {
		return 0, 0
	}
	return float64(busiest) / (float64(total) / window.Seconds()), total
}

// Sites added in one burst, each checked at once as the site-added
// handler does, are checked spread over their interval from then on: the
// first check's schedule row is aligned to the site's phase, not to the
// moment it was added. After a change of interval they stay spread.
func TestBurstOfNewSitesSpreadsOverInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		n := 600
		if schedTestRace {
			n = 150
		}
		const iv = 60 * time.Second
		dialer := newPipeDialer(func(string) time.Duration { return 10 * time.Millisecond })
		sites, mon, closeDBs := openBubbleServices(t, Options{Dialer: dialer.dial})
		defer closeDBs()
		ctx := context.Background()
		var all []*site.Site
		for i := range n {
			p := &site.AddParams{URL: fmt.Sprintf("tcp://site-%d.upmon.test:80", i)}
			p.Interval = site.Duration(iv)
			st, err := sites.Add(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, st)
		}
		mon.Start(true)
		// The handler's path: an immediate check, then the schedule sync.
		for _, st := range all {
			if _, err := mon.CheckSite(ctx, st); err != nil {
				t.Fatal(err)
			}
			if err := mon.SyncSite(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		time.Sleep(3 * iv)
		ratio, total := busiestOverMean(checkTimes(t, mon), start.Add(iv), 2*iv)
		if total < 2*n-n/50 {
			t.Errorf("%d checks in two intervals, want about %d", total, 2*n)
		}
		if ratio > 1.5+float64(60)/float64(n) {
			t.Errorf("busiest second carries %.2f× the mean rate, want at most 1.5×", ratio)
		}

		// A new interval for every site at once: still spread.
		const iv2 = 30 * time.Second
		for _, st := range all {
			up := *st
			up.Interval = site.Duration(iv2)
			if err := mon.SyncSite(ctx, &up); err != nil {
				t.Fatal(err)
			}
		}
		changed := time.Now()
		time.Sleep(3 * iv2)
		mon.Stop()
		ratio, total = busiestOverMean(checkTimes(t, mon), changed.Add(iv2), 2*iv2)
		if total < 2*n-n/50 {
			t.Errorf("after the change: %d checks in two intervals, want about %d", total, 2*n)
		}
		if ratio > 1.5+float64(30)/float64(n) {
			t.Errorf("after the change: busiest second carries %.2f× the mean rate, want at most 1.5×", ratio)
		}
	})
}

// The phase is a pure function of the site id and interval, the same in Go
// and in SQL, and within the interval.
func TestPhaseOfMatchesSQL(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		_, mon, closeDBs := openBubbleServices(t, Options{})
		defer closeDBs()
		for _, c := range []struct{ id, iv int64 }{{1, 30000}, {2, 30000}, {12345, 60000}, {1 << 40, 86400000}, {7, 1000}} {
			var got int64
			if err := mon.db.QueryRow(`SELECT `+phaseSQL("CAST($1 AS BIGINT)", "CAST($2 AS BIGINT)"), c.id, c.iv).Scan(&got); err != nil {
				t.Fatal(err)
			}
			want := phaseOf(c.id, c.iv)
			if got != want || want < 0 || want >= c.iv {
				t.Errorf("phase of site %d every %d ms: SQL %d, Go %d", c.id, c.iv, got, want)
			}
		}
	})
}
