package monitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// addPush adds a push monitor and schedules it.
func addPush(t *testing.T, s *Service, sites *testSites, every, grace time.Duration) *site.Site {
	t.Helper()
	p := &site.AddParams{Kind: site.KindPush, Name: "job"}
	p.Interval, p.Grace = site.Duration(every), site.Duration(grace)
	st, err := sites.Add(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SyncSite(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return st
}

// The moment a push's "up" is committed, its deadline is restarted too: a
// deadline check in between (a claim of the overdue monitor) must not see
// the old deadline and record a false "down".
func TestPushUpAndDeadlineCommitTogether(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: start}
	var (
		svc      *Service
		pushID   int64
		overdue  = make(chan bool, 1)
		checkErr = make(chan error, 1)
	)
	s, sites := openRecorder(t, Options{Now: clock.Now, Hooks: Hooks{AfterCommit: func(id int64) {
		if id != pushID {
			return
		}
		st, err := svc.sites.Get(context.Background(), &site.GetParams{ID: id})
		if err != nil {
			checkErr <- err
			return
		}
		_, _, skip, err := svc.evalPush(context.Background(), st, clock.Now())
		checkErr <- err
		overdue <- !skip
	}}})
	svc = s
	st := addPush(t, s, sites, time.Minute, 10*time.Second)
	pushID = st.ID
	clock.Set(start.Add(2 * time.Minute)) // overdue: the next claim records down

	srv := api.NewServer(nil)
	s.Register(srv)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	resp, err := http.Post(hs.URL+"/push/"+st.PushToken, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push: HTTP %d", resp.StatusCode)
	}
	if err := <-checkErr; err != nil {
		t.Fatal(err)
	}
	if <-overdue {
		t.Fatal("right after the push's up was committed, a deadline check found the monitor overdue")
	}
}

// A missed-deadline check whose decision was taken before a push
// committed records nothing: the record's transaction checks again.
func TestPushDeadlineCheckedAgainWhenRecorded(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: start}
	s, sites := openRecorder(t, Options{Now: clock.Now})
	st := addPush(t, s, sites, time.Minute, 10*time.Second)
	clock.Set(start.Add(2 * time.Minute))
	res, _, skip, err := s.evalPush(context.Background(), st, clock.Now())
	if err != nil || skip {
		t.Fatalf("evalPush: skip %v, err %v; want overdue", skip, err)
	}
	// The push lands between the decision and its record.
	if err := s.enqueue(&pending{st: st, at: clock.Now(), res: Result{Up: true, Attempts: 1}, push: true}); err != nil {
		t.Fatal(err)
	}
	clock.Set(clock.Now().Add(time.Millisecond))
	p := &pending{st: st, at: clock.Now(), res: res, scheduled: true, pushWait: (70 * time.Second).Milliseconds()}
	if err := s.enqueue(p); err != nil {
		t.Fatal(err)
	}
	_, up := recordedChecksOf(t, s, st.ID)
	if !p.skipped || len(up) != 1 || !up[0] {
		t.Fatalf("checks recorded %v (skipped %v); want only the push's up", up, p.skipped)
	}
}

// recordedChecksOf returns a site's recorded check times and outcomes.
func recordedChecksOf(t *testing.T, s *Service, id int64) (at []int64, up []bool) {
	t.Helper()
	rows, err := s.db.Query(`SELECT checked_at, up FROM checks WHERE site_id = $1 ORDER BY checked_at, id`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ms int64
		var u bool
		if err := rows.Scan(&ms, &u); err != nil {
			t.Fatal(err)
		}
		at, up = append(at, ms), append(up, u)
	}
	return at, up
}

// A scheduled look at a push monitor that is not overdue gives its claim
// back due at the deadline; a push that arrived since moves the deadline
// on, and the release keeps that.
func TestPushClaimReleaseKeepsNewerPush(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: start}
	s, sites := openRecorder(t, Options{Now: clock.Now})
	ctx := context.Background()
	st := addPush(t, s, sites, time.Minute, 10*time.Second)
	clock.Set(start.Add(30 * time.Second))
	_, deadline, skip, err := s.evalPush(ctx, st, clock.Now())
	if err != nil || !skip {
		t.Fatalf("evalPush: skip %v, err %v; want not due", skip, err)
	}
	if err := s.enqueue(&pending{st: st, at: clock.Now(), res: Result{Up: true, Attempts: 1}, push: true}); err != nil {
		t.Fatal(err)
	}
	if err := releasePushClaim(ctx, s.db, st.ID, deadline); err != nil {
		t.Fatal(err)
	}
	next, _, _ := stateRow(t, s, st.ID)
	if want := clock.Now().Add(70 * time.Second).UnixMilli(); next != want {
		t.Fatalf("next_check_at %d after the release, want the new push's deadline %d (the old one was %d)", next, want, deadline)
	}
}
