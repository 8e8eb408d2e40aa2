package monitor

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Two replicas record checks of the same sites (old enough to be
// compacted at once) while both compact over and over: compaction locks
// the sites' state rows as the writers do, so no check and no rollup
// contribution is lost or counted twice, and what is stored equals the
// recomputation from the stored checks.
func TestCompactionBesideConcurrentReplicas(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 5, 10, 15, 30, 0, 0, time.UTC)
	clock := &manualClock{t: end}
	a, b, sites := openReplicas(t, clock, 6)
	ctx := context.Background()
	recorded := make(chan struct{})
	var writers, compactors sync.WaitGroup
	for i, s := range []*Service{a, b} {
		writers.Add(1)
		go func() {
			defer writers.Done()
			recordHistory(t, s, sites, end.Add(-2*time.Hour), 4*24*time.Hour, 120, uint64(20+i))
		}()
		compactors.Add(1)
		go func() {
			defer compactors.Done()
			for {
				if err := s.Compact(ctx); err != nil {
					t.Error(err)
					return
				}
				select {
				case <-recorded:
					return
				default:
				}
			}
		}()
	}
	writers.Wait()
	close(recorded)
	compactors.Wait()
	if err := a.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM checks`); n != 0 {
		t.Errorf("%d checks rows left after compacting", n)
	}
	stored := readStoredChecks(t, a)
	if len(stored) != 2*6*120 {
		t.Fatalf("%d checks stored, want %d", len(stored), 2*6*120)
	}
	raw := make([]rawCheck, len(stored))
	for i, c := range stored {
		if i > 0 && c.ID == stored[i-1].ID {
			t.Fatalf("check %d stored twice", c.ID)
		}
		raw[i] = rawCheck{site: c.site, up: c.Up, slow: c.State == StateDegraded, latency: c.LatencyMS, at: c.At}
	}
	if got, want := rollupsText(readStoredRollups(t, a)), rollupsText(recomputeRollups(raw)); got != want {
		t.Errorf("stored rollups differ from the recomputation:\n%.2000s\nwant\n%.2000s", got, want)
	}
	if n := countRows(t, a, `SELECT COUNT(*) FROM rollup_packs`); n == 0 {
		t.Error("nothing was packed")
	}
	// Forgetting a site deletes its compacted history too.
	if err := b.Forget(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, a, `SELECT (SELECT COUNT(*) FROM check_blocks WHERE site_id = 1) + (SELECT COUNT(*) FROM rollup_packs WHERE site_id = 1)`); n != 0 {
		t.Errorf("%d blocks and packs of a forgotten site left", n)
	}
}
