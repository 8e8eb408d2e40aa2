package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// Two replicas on one database record checks of the same sites into the
// same buckets at the same time: the set-wise rollup merge (a locked read
// of the batch's bucket rows, an upsert of the merged rows, an insert of
// the new ones that retries a row the other replica created meanwhile)
// loses and doubles nothing, and the rollups equal the recomputation from
// the raw checks.
func TestRollupsOfConcurrentReplicasEqualRecomputation(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 5, 10, 15, 30, 0, 0, time.UTC)
	clock := &manualClock{t: end}
	a, b, sites := openReplicas(t, clock, 6)
	var wg sync.WaitGroup
	for i, s := range []*Service{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recordHistory(t, s, sites, end, 20*time.Minute, 150, uint64(10+i))
		}()
	}
	wg.Wait()

	raw := readRawChecks(t, a)
	if len(raw) != 2*6*150 {
		t.Fatalf("%d raw checks, want %d", len(raw), 2*6*150)
	}
	want := recomputeRollups(raw)
	got := readAllRollups(t, a)
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
	}
}

// openReplicas opens two monitor services on one database (two
// replicas), each over its own site service on one shared site database,
// with n sites.
func openReplicas(t *testing.T, clock *manualClock, n int) (a, b *Service, sites []*site.Site) {
	t.Helper()
	cfg := sqldbtest.Config(t)
	open := func() *Service {
		db, err := sqldb.Open(context.Background(), cfg, "monitor", Migrations())
		if err != nil {
			t.Fatal(err)
		}
		siteDB, err := sqldb.Open(context.Background(), cfg, "site", site.Migrations())
		if err != nil {
			t.Fatal(err)
		}
		sites := &testSites{site.New(siteDB, site.Options{Defaults: site.Defaults{Interval: time.Minute, Timeout: time.Second}})}
		s := New(db, sites, withTestBatchDelay(Options{Now: clock.Now}))
		s.Start(false)
		t.Cleanup(func() {
			s.Stop()
			db.Close()
			siteDB.Close()
		})
		return s
	}
	a, b = open(), open()
	list := a.sites.(*testSites)
	for i := range n {
		sites = append(sites, list.put(t, int64(i+1), "https://r"+string(rune('a'+i))+".upmon.test", ""))
	}
	return a, b, sites
}
