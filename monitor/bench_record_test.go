package monitor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// benchSites is a fixed in-memory site list for benchmarks.
type benchSites struct{ sites []*site.Site }

func (b *benchSites) Get(_ context.Context, p *site.GetParams) (*site.Site, error) {
	if p.ID < 1 || int(p.ID) > len(b.sites) {
		return nil, api.Errorf(api.NotFound, "site %d not found", p.ID)
	}
	return b.sites[p.ID-1], nil
}

func (b *benchSites) List(context.Context, *site.ListParams) (*site.ListResponse, error) {
	return &site.ListResponse{Sites: b.sites}, nil
}

func (b *benchSites) IDs(context.Context) ([]int64, error) {
	ids := make([]int64, len(b.sites))
	for i, st := range b.sites {
		ids[i] = st.ID
	}
	return ids, nil
}

func (b *benchSites) GetByPushToken(context.Context, string) (*site.Site, error) {
	return nil, api.Errorf(api.NotFound, "unknown push token")
}

func newBenchSites(n int, interval time.Duration) *benchSites {
	b := &benchSites{}
	for i := 1; i <= n; i++ {
		b.sites = append(b.sites, &site.Site{ID: int64(i), URL: fmt.Sprintf("http://127.0.0.1:1/t/%d", i), Kind: site.KindHTTP,
			Settings: site.Settings{Interval: site.Duration(interval), Timeout: site.Duration(10 * time.Second),
				FailureThreshold: 1, SuccessThreshold: 1}})
	}
	return b
}

// newBenchService opens a monitor service on a fresh database (SQLite in
// a temp dir, or PostgreSQL when UPMON_TEST_POSTGRES_URL is set) with the
// batching writer started and no scheduler.
func newBenchService(tb testing.TB, sites Sites, now func() time.Time) *Service {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(tb), "monitor", Migrations())
	if err != nil {
		tb.Fatal(err)
	}
	// No batch delay: the storage benchmark records a year of one site
	// check by check.
	s := New(db, sites, Options{Now: now, BatchDelay: -1})
	s.Start(false)
	tb.Cleanup(func() { s.Stop(); db.Close() })
	return s
}

// BenchmarkRecord measures the write path of a check (the batching
// writer: check row, state compare-and-set, rollups) with 10,000 sites
// and 256 checks in flight, as the scheduler produces them. ns/op is the
// amortised cost of storing one check.
func BenchmarkRecord(b *testing.B) {
	const nSites = 10000
	sites := newBenchSites(nSites, 30*time.Second)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	s := newBenchService(b, sites, func() time.Time { return time.UnixMilli(clock.Load()) })
	res := Result{Up: true, StatusCode: 200, Latency: 3 * time.Millisecond, Attempts: 1}
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/256 + 1
	for range 256 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				st := sites.sites[n%nSites]
				at := time.UnixMilli(clock.Add(3)) // ~333 checks/s of simulated time
				if _, err := s.record(st, at, res, false); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}
