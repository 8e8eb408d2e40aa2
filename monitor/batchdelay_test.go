package monitor

import (
	"context"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

// testBatchDelay is the batch delay of the tests that record histories
// check after check (each record waits out the delay): SQLite's default,
// on both engines. With PostgreSQL's default of 300 ms the package's
// tests took 450 s instead of 180 s on PostgreSQL; batching itself is
// the same code whatever the delay, and TestDefaultBatchDelay checks
// each engine's default.
const testBatchDelay = 20 * time.Millisecond

// withTestBatchDelay returns o with testBatchDelay unless o sets a batch
// delay of its own.
func withTestBatchDelay(o Options) Options {
	if o.BatchDelay == 0 {
		o.BatchDelay = testBatchDelay
	}
	return o
}

// TestDefaultBatchDelay: 20 ms on SQLite, 300 ms on PostgreSQL, and a
// delay given is kept.
func TestDefaultBatchDelay(t *testing.T) {
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(t), "monitor", Migrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := 20 * time.Millisecond
	if db.Dialect == sqldb.Postgres {
		want = 300 * time.Millisecond
	}
	if got := New(db, &benchSites{}, Options{}).opts.BatchDelay; got != want {
		t.Errorf("default BatchDelay on %s = %v, want %v", db.Dialect, got, want)
	}
	if got := New(db, &benchSites{}, Options{BatchDelay: time.Second}).opts.BatchDelay; got != time.Second {
		t.Errorf("BatchDelay given 1s = %v", got)
	}
}
