package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"upmon/site"
)

// TestSaturatedSchedulerDoesNotSpin checks that a scheduler whose every
// slot is taken (here by hanging checks) waits for a slot instead of
// looking for its next wake-up every few milliseconds: with many sites
// due, each look found one due within milliseconds, so a backed-up
// scheduler spent a fifth of the process's CPU reading the schedule.
func TestSaturatedSchedulerDoesNotSpin(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dialer := newPipeDialer(func(addr string) time.Duration {
			if strings.HasPrefix(addr, "hang-") {
				return 4 * time.Minute
			}
			return 10 * time.Millisecond
		})
		sites, mon, closeDBs := openBubbleServices(t, Options{Dialer: dialer.dial, SchedulerConcurrency: 2})
		defer closeDBs()
		ctx := context.Background()
		add := func(url string, timeout time.Duration) {
			p := &site.AddParams{URL: url}
			p.Interval = site.Duration(time.Minute)
			p.Timeout = site.Duration(timeout)
			if _, err := sites.Add(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 2 {
			add(fmt.Sprintf("tcp://hang-%d.upmon.test:80", i), 5*time.Minute)
		}
		for i := range 200 {
			add(fmt.Sprintf("tcp://site-%d.upmon.test:80", i), 10*time.Second)
		}
		if err := mon.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		mon.Start(true)
		time.Sleep(2 * time.Minute)
		reads := mon.nextDueReads.Load()
		mon.Stop()
		// Two minutes at one look per claimAhead/2 at most.
		if limit := int64(2 * time.Minute / (claimAhead / 2)); reads > limit {
			t.Errorf("the saturated scheduler looked for its next wake-up %d times in 2 minutes, want at most %d", reads, limit)
		}
		t.Logf("%d looks for the next wake-up", reads)
	})
}

// TestStopGivesBackSitesClaimedAhead checks that a site claimed ahead of
// its due time by a process that then stops (SIGTERM) is due again at
// that time, not leased until its lease runs out: a restart would
// otherwise leave every site claimed in the last 400 ms unchecked for a
// timeout and more.
func TestStopGivesBackSitesClaimedAhead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		dialer := newPipeDialer(func(string) time.Duration { return 10 * time.Millisecond })
		sites, mon, closeDBs := openBubbleServices(t, Options{Dialer: dialer.dial})
		defer closeDBs()
		ctx := context.Background()
		p := &site.AddParams{URL: "tcp://site.upmon.test:80"}
		p.Interval = site.Duration(time.Minute)
		st, err := sites.Add(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := mon.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		due, _, _ := stateRow(t, mon, st.ID)
		mon.Start(true)
		time.Sleep(time.Until(time.UnixMilli(due)) - claimAhead/4) // claimed, waiting for its time
		synctest.Wait()
		var lease int64
		if err := mon.db.QueryRow(`SELECT lease_until FROM site_state WHERE site_id = $1`, st.ID).Scan(&lease); err != nil || lease == 0 {
			t.Fatalf("the site is not claimed %v before it is due (lease %d, %v)", claimAhead/4, lease, err)
		}
		mon.Stop()
		var next int64
		if err := mon.db.QueryRow(`SELECT next_check_at, lease_until FROM site_state WHERE site_id = $1`, st.ID).Scan(&next, &lease); err != nil {
			t.Fatal(err)
		}
		if next != due || lease != 0 {
			t.Fatalf("after a stop: next check %d, lease until %d; want due at %d again, no lease", next, lease, due)
		}
		if n := len(checkTimes(t, mon)[st.ID]); n != 0 {
			t.Fatalf("%d checks recorded; the stop came before the site was due", n)
		}
	})
}
