package monitor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/sqldb"
	"upmon/platform/stall"
)

// lockSchedule blocks site_state from another transaction (SQLite's write
// lock; a PostgreSQL table lock, which blocks reads too) until release.
func lockSchedule(t *testing.T, db *sqldb.DB) (release func()) {
	t.Helper()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := `UPDATE site_state SET error = error`
	if db.Dialect == sqldb.Postgres {
		q = `LOCK TABLE site_state IN ACCESS EXCLUSIVE MODE`
	}
	if _, err := tx.Exec(q); err != nil {
		t.Fatal(err)
	}
	return func() { _ = tx.Rollback() }
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A scheduler claim that hangs on the database is cut off by the
// deadline and reported (stalled, counted), and the report clears once the
// database answers again.
func TestSchedulerClaimHasDeadline(t *testing.T) {
	reg := prometheus.NewRegistry()
	set := stall.NewSet(100*time.Millisecond, reg)
	s, sites := openRecorder(t, Options{DBStall: set, PollInterval: 50 * time.Millisecond})
	st := sites.put(t, 1, "https://a.example", `{"interval":"1h"}`)
	// Setting up is bounded by the same 100 ms deadline: on a busy
	// machine (-race, parallel packages) one attempt may run past it.
	waitFor(t, "the site's schedule row", func() bool { return s.SyncSite(context.Background(), st) == nil })
	release := lockSchedule(t, s.db)
	s.schedDone = make(chan struct{})
	go s.schedule()
	waitFor(t, "the scheduler to report a stall", func() bool { return fmt.Sprint(set.Stalled()) == "[scheduler]" })
	release()
	if n := stallCount(t, reg, "scheduler"); n < 1 {
		t.Fatalf("upmon_db_stalls_total{component=scheduler} = %v after a stall", n)
	}
	waitFor(t, "the stall to clear", func() bool { return len(set.Stalled()) == 0 })
}

// stallCount reads upmon_db_stalls_total of a component from reg.
func stallCount(t *testing.T, reg *prometheus.Registry, component string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "upmon_db_stalls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "component" && l.GetValue() == component {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
