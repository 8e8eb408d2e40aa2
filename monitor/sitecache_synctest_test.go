package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"upmon/site"
)

// countingSites counts the point reads of sites.
type countingSites struct {
	Sites
	gets atomic.Int64
}

func (c *countingSites) Get(ctx context.Context, p *site.GetParams) (*site.Site, error) {
	c.gets.Add(1)
	return c.Sites.Get(ctx, p)
}

// Scheduled checks read a site's settings once per change, not once per
// check, and a change made through another replica (its site-updated
// handler) reaches this replica's next check of the site.
func TestScheduledChecksReadSettingsOncePerChange(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		dialer := newPipeDialer(func(string) time.Duration { return 10 * time.Millisecond })
		sites, first, closeDBs := openBubbleServices(t, Options{Dialer: dialer.dial})
		defer closeDBs()
		counted := &countingSites{Sites: sites}
		a := New(first.db, counted, Options{Dialer: dialer.dial}) // the replica under test
		b := New(first.db, sites, Options{Dialer: dialer.dial})   // another replica
		ctx := context.Background()
		var ids []int64
		for i := range n {
			p := &site.AddParams{URL: fmt.Sprintf("tcp://site-%d.upmon.test:80", i)}
			p.Interval = site.Duration(time.Minute)
			st, err := sites.Add(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, st.ID)
		}
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		a.Start(true)
		b.Start(false)
		time.Sleep(10 * time.Minute)
		checks := 0
		for _, ts := range checkTimes(t, a) {
			checks += len(ts)
		}
		if gets := counted.gets.Load(); checks < 8*n || gets > n {
			t.Errorf("%d scheduled checks read the site %d times, want at most once per site (%d)", checks, gets, n)
		}

		// Another replica handles the change of one site's URL.
		var patch site.PatchParams
		if err := json.Unmarshal([]byte(`{"url":"tcp://moved.upmon.test:80"}`), &patch); err != nil {
			t.Fatal(err)
		}
		patch.ID = ids[0]
		if _, err := sites.Patch(ctx, &patch); err != nil {
			t.Fatal(err)
		}
		if err := b.onSiteUpdated(ctx, &site.UpdatedEvent{SiteID: ids[0]}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		a.Stop()
		b.Stop()
		dialer.mu.Lock()
		moved := dialer.maxSeen["moved.upmon.test:80"]
		dialer.mu.Unlock()
		if moved == 0 {
			t.Error("the replica never checked the site's new URL")
		}
	})
}
