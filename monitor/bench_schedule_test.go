package monitor

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// processCPU is the CPU time (user + system) the process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScheduledChecks measures the scheduler's whole path in real
// time: 2,000 tcp:// sites every 6 s (333 checks a second, spread at
// their phases) claimed, checked through an in-memory dialer (no
// network) and recorded by the batching writer. After one interval of
// warm-up it waits for b.N more recorded checks and reports the process's
// CPU time per 1,000 checks (cpu-ms/1k-checks: the claims, the checks,
// the writes and the runtime's own work) and the achieved rate. Run with
// -benchtime Nx (N checks; 2000x is one interval).
func BenchmarkScheduledChecks(b *testing.B) {
	const (
		nSites   = 2000
		interval = 6 * time.Second
	)
	sites := &benchSites{}
	for i := 1; i <= nSites; i++ {
		sites.sites = append(sites.sites, &site.Site{ID: int64(i), URL: fmt.Sprintf("tcp://bench-%d.upmon.test:80", i), Kind: site.KindTCP,
			Settings: site.Settings{Interval: site.Duration(interval), Timeout: site.Duration(10 * time.Second),
				FailureThreshold: 1, SuccessThreshold: 1, Locations: []string{"local"}}})
	}
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(b), "monitor", Migrations())
	if err != nil {
		b.Fatal(err)
	}
	var recorded atomic.Int64
	dialer := newPipeDialer(func(string) time.Duration { return 0 })
	s := New(db, sites, Options{Dialer: dialer.dial, OnRecorded: func(Recorded) { recorded.Add(1) }})
	ctx := context.Background()
	if err := s.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	s.Start(true)
	b.Cleanup(func() { s.Stop(); db.Close() })
	waitChecks := func(n int64) {
		deadline := time.Now().Add(interval*time.Duration(n/nSites+2) + time.Minute)
		for recorded.Load() < n {
			if time.Now().After(deadline) {
				b.Fatalf("%d checks recorded, want %d", recorded.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitChecks(nSites) // the first round
	from := recorded.Load()
	cpu0 := processCPU(b)
	b.ResetTimer()
	waitChecks(from + int64(b.N))
	b.StopTimer()
	done := recorded.Load() - from
	cpu := processCPU(b) - cpu0
	b.ReportMetric(float64(cpu.Milliseconds())/float64(done)*1000, "cpu-ms/1k-checks")
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "checks/s")
}
