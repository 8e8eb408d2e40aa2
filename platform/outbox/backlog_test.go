package outbox_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/outbox"
	"upmon/platform/sqldb/sqldbtest"
)

// TestBacklogGaugeAfterEachPass checks upmon_outbox_backlog: a pass that
// read a full batch counts what is left; a pass that read and sent every
// row sets it to zero (without counting the table).
func TestBacklogGaugeAfterEachPass(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	reg := prometheus.NewRegistry()
	r := newRelay(db, &broker{}, outbox.Config{Batch: 2, Registerer: reg})
	gauge := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "upmon_outbox_backlog" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no upmon_outbox_backlog")
		return 0
	}
	insert(t, db, "a", 5)
	ctx := context.Background()
	for i, want := range []float64{3, 1, 0} {
		if _, err := r.RelayOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := gauge(); got != want {
			t.Fatalf("after pass %d: backlog gauge %v, want %v", i+1, got, want)
		}
	}
}
