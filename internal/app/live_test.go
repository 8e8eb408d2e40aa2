package app

import (
	"encoding/json"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"upmon/monitor"
)

// TestLiveBatcherSendsFullBatchesAtOnceAndTheRestSoon checks the live
// feed's batching: a full batch goes at once, the rest within liveFlush,
// every check exactly once and in order.
func TestLiveBatcherSendsFullBatchesAtOnceAndTheRestSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			batches [][]monitor.Recorded
		)
		b := &liveBatcher{send: func(rs []monitor.Recorded) {
			mu.Lock()
			batches = append(batches, rs)
			mu.Unlock()
		}}
		const n = liveMaxBatch + 10
		for i := range n {
			b.add(monitor.Recorded{SiteID: int64(i + 1)})
		}
		mu.Lock()
		if len(batches) != 1 || len(batches[0]) != liveMaxBatch {
			t.Fatalf("after %d checks: %d batches sent, want one full batch at once", n, len(batches))
		}
		mu.Unlock()
		time.Sleep(liveFlush - time.Millisecond)
		synctest.Wait()
		mu.Lock()
		if len(batches) != 1 {
			t.Fatalf("the rest was sent before liveFlush")
		}
		mu.Unlock()
		time.Sleep(time.Millisecond)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(batches) != 2 || len(batches[1]) != n-liveMaxBatch {
			t.Fatalf("%d batches after liveFlush, want the remaining %d checks in a second one", len(batches), n-liveMaxBatch)
		}
		next := int64(1)
		for _, bt := range batches {
			for _, r := range bt {
				if r.SiteID != next {
					t.Fatalf("check of site %d sent where %d was due", r.SiteID, next)
				}
				next++
			}
		}
	})
}

// TestDecodeLiveReadsBatchesAndSingleChecks checks that a replica reads
// batches and the single checks replicas before batching sent.
func TestDecodeLiveReadsBatchesAndSingleChecks(t *testing.T) {
	one, _ := json.Marshal(monitor.Recorded{SiteID: 7, State: "down"})
	many, _ := json.Marshal([]monitor.Recorded{{SiteID: 1}, {SiteID: 2}})
	if got := decodeLive(one); len(got) != 1 || got[0].SiteID != 7 || got[0].State != "down" {
		t.Errorf("single check: %+v", got)
	}
	if got := decodeLive(many); len(got) != 2 || got[0].SiteID != 1 || got[1].SiteID != 2 {
		t.Errorf("batch: %+v", got)
	}
	if got := decodeLive([]byte("[{")); got != nil {
		t.Errorf("broken message: %+v, want nothing", got)
	}
}
