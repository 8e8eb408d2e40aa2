package monitor

import (
	"context"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/site"
)

// listHook is a Sites whose List runs a function after reading the list,
// the moment a concurrent add lands in a real sweep.
type listHook struct {
	Sites
	afterList func()
}

func (l *listHook) List(ctx context.Context, p *site.ListParams) (*site.ListResponse, error) {
	resp, err := l.Sites.List(ctx, p)
	if err == nil && l.afterList != nil {
		l.afterList()
	}
	return resp, err
}

// stateRow reads a site's schedule and sequence; ok is false when the
// site has no row.
func stateRow(t testing.TB, s *Service, id int64) (next, seq int64, ok bool) {
	t.Helper()
	rows, err := s.db.Query(`SELECT next_check_at, seq FROM site_state WHERE site_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, 0, false
	}
	if err := rows.Scan(&next, &seq); err != nil {
		t.Fatal(err)
	}
	return next, seq, true
}

// A site added (and scheduled, and checked) after a sweep read the site
// list keeps its schedule row and its transition sequence; a site deleted
// before the sweep still loses its row.
func TestSyncKeepsSiteAddedDuringSweep(t *testing.T) {
	clock := &manualClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s, sites := openRecorder(t, Options{Now: clock.Now})
	ctx := context.Background()
	gone := sites.put(t, 1, "https://gone.example", "")
	if err := s.SyncSite(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := sites.Delete(ctx, &site.GetParams{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	var added *site.Site
	s.sites = &listHook{Sites: s.sites, afterList: func() {
		added = sites.put(t, 2, "https://new.example", "")
		if err := s.SyncSite(ctx, added); err != nil {
			t.Error(err)
		}
		// Its first check takes it down: seq 1.
		mustRecord(t, s, added, clock.Now(), Result{Up: false, Err: "refused"})
	}}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if added == nil {
		t.Fatal("the sweep did not read the site list")
	}
	next, seq, ok := stateRow(t, s, added.ID)
	if !ok {
		t.Fatal("the sweep deleted the schedule of a site added while it ran")
	}
	if seq != 1 || next <= clock.Now().UnixMilli() {
		t.Fatalf("site added during the sweep: next_check_at %d (now %d), seq %d; want a future slot and seq 1",
			next, clock.Now().UnixMilli(), seq)
	}
	if _, _, ok := stateRow(t, s, gone.ID); ok {
		t.Fatal("the sweep kept the schedule of a deleted site")
	}
}

// A settings change that races a claim never hands the claimed slot out
// again. A transaction claims the site and holds the row while the
// settings change (a new timeout, so a new lease; same interval) runs;
// once the claim commits, the site's next check must still be the slot
// the claim moved it to. On SQLite the write lock serialises the two
// whole transactions; on PostgreSQL the settings change must not write
// back a next_check_at it read before the claim.
func TestSettingsChangeKeepsConcurrentClaim(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: start}
	s, sites := openRecorder(t, Options{Now: clock.Now})
	ctx := context.Background()
	st := sites.put(t, 1, "https://a.example", `{"interval":"1m","timeout":"5s"}`)
	if err := s.SyncSite(ctx, st); err != nil {
		t.Fatal(err)
	}
	before, _, _ := stateRow(t, s, st.ID)
	clock.Set(time.UnixMilli(before).Add(time.Second)) // due

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	got, err := claimDueIn(ctx, tx, s.db.Dialect.SkipLocked(), clock.Now(), claimAhead, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v, %d sites", err, len(got))
	}
	claimedNext := got[0].due + got[0].interval

	changed := *st
	changed.Timeout = site.Duration(20 * time.Second)
	done := make(chan error, 1)
	go func() { done <- s.SyncSite(ctx, &changed) }()
	if s.db.Dialect == sqldb.Postgres {
		waitForLockWaiter(t, s)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	next, _, _ := stateRow(t, s, st.ID)
	if next != claimedNext {
		t.Fatalf("after a claim and a concurrent settings change next_check_at = %d, want the claimed slot's successor %d (was %d before the claim)",
			next, claimedNext, before)
	}
	// Nothing is due again before that slot.
	again, err := s.claimDue(ctx, clock.Now().Add(time.Minute-2*time.Second), 10)
	if err != nil || len(again) != 0 {
		t.Fatalf("claim within the slot: %v, %d sites; want none", err, len(again))
	}
}

// waitForLockWaiter waits until some session of the test database waits
// on a row lock (PostgreSQL).
func waitForLockWaiter(t *testing.T, s *Service) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := s.db.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the settings change never waited on the claimed row")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
