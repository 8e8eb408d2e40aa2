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
