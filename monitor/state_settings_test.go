package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// testSites is the real site service on its own private database, with
// a helper that adds sites in id order.
type testSites struct {
	*site.Service
}

// put adds an http site with settings (a JSON object) through the site
// service, which validates and fills them in; ids are given in order
// (1, 2, …) and checked.
func (f *testSites) put(t testing.TB, id int64, url, settings string) *site.Site {
	t.Helper()
	fields := map[string]json.RawMessage{}
	if settings != "" {
		if err := json.Unmarshal([]byte(settings), &fields); err != nil {
			t.Fatal(err)
		}
	}
	fields["url"], _ = json.Marshal(url)
	body, _ := json.Marshal(fields)
	var p site.AddParams
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	st, err := f.Add(context.Background(), &p)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != id {
		t.Fatalf("site %s got id %d, want %d", url, st.ID, id)
	}
	return st
}

// manualClock is a settable clock for Options.Now.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// openRecorder opens a monitor service with its batching writer on a
// private database (SQLite, or PostgreSQL when UPMON_TEST_POSTGRES_URL is
// set) over the real site service on its own database.
func openRecorder(t testing.TB, opts Options) (*Service, *testSites) {
	t.Helper()
	cfg := sqldbtest.Config(t)
	db, err := sqldb.Open(context.Background(), cfg, "monitor", Migrations())
	if err != nil {
		t.Fatal(err)
	}
	siteDB, err := sqldb.Open(context.Background(), cfg, "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { siteDB.Close() })
	sites := &testSites{site.New(siteDB, site.Options{Defaults: site.Defaults{Interval: time.Minute, Timeout: time.Second}})}
	s := New(db, sites, withTestBatchDelay(opts))
	s.Start(false)
	t.Cleanup(func() {
		s.Stop()
		db.Close()
	})
	return s, sites
}

// mustRecord commits one check result of st at at.
func mustRecord(t testing.TB, s *Service, st *site.Site, at time.Time, r Result) *pending {
	t.Helper()
	if r.Attempts == 0 {
		r.Attempts = 1
	}
	p, err := s.record(st, at, r, false)
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	return p
}

// outboxEvents decodes the events of one topic waiting in the outbox, in
// order.
func outboxEvents[T any](t testing.TB, s *Service, topic string) []T {
	t.Helper()
	rows, err := s.db.Query(`SELECT payload FROM outbox WHERE topic = $1 ORDER BY id`, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var payload string
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var ev T
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

var (
	resUp   = Result{Up: true, StatusCode: 200, Latency: 20 * time.Millisecond}
	resDown = Result{StatusCode: 503, Latency: 20 * time.Millisecond, Err: "HTTP 503"}
	resSlow = Result{Up: true, Slow: true, StatusCode: 200, Latency: 1500 * time.Millisecond, Err: "slow: 1.5s > max 1s"}
)

func TestStateMachineThresholds(t *testing.T) {
	t.Parallel()
	// Each step is a check (U up, D down, S slow) and the state after it.
	tests := []struct {
		name         string
		fail, ok     int
		steps        string
		states       string // u up, d down, g degraded
		upEvents     int
		degradeEvent int
	}{
		{"defaults: every change is reported", 1, 1, "UDUDU", "ududu", 4, 0},
		{"failure 3: two failures then a success", 3, 1, "DDUDD", "uuuuu", 0, 0},
		{"failure 3: three failures", 3, 1, "DDDDD", "uuddd", 1, 0},
		{"success 2: one success after down", 1, 2, "DUDU", "dddd", 1, 0},
		{"success 2: two successes after down", 1, 2, "DUU", "ddu", 2, 0},
		{"slow successes count toward coming back", 1, 2, "DSS", "ddg", 2, 1},
		{"degraded with failure threshold 2", 2, 1, "SUSSU", "uuugu", 0, 2},
		{"degraded needs consecutive slow", 3, 1, "SSUSSS", "uuuuug", 0, 1},
		{"success threshold applies to degraded recovery", 1, 3, "SUUU", "gggu", 0, 2},
		{"down supersedes degraded", 1, 1, "SDU", "gdu", 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s siteState
			s.Up = true // a new site counts as up
			var states strings.Builder
			ups, degs := 0, 0
			for i, c := range tc.steps {
				r := map[rune]Result{'U': resUp, 'D': resDown, 'S': resSlow}[c]
				ch := s.apply(r, int64(i+1), tc.fail, tc.ok)
				if ch.upChanged {
					ups++
				}
				if ch.degradedChanged {
					degs++
				}
				states.WriteByte(map[string]byte{StateUp: 'u', StateDown: 'd', StateDegraded: 'g'}[s.State()])
			}
			if states.String() != tc.states || ups != tc.upEvents || degs != tc.degradeEvent {
				t.Fatalf("%s: states %s (want %s), up/down events %d (want %d), degraded events %d (want %d)",
					tc.steps, states.String(), tc.states, ups, tc.upEvents, degs, tc.degradeEvent)
			}
			if s.Seq != int64(ups) || s.DSeq != int64(degs) {
				t.Fatalf("seq %d dseq %d, want %d and %d", s.Seq, s.DSeq, ups, degs)
			}
		})
	}
}

func TestRecordThresholdsEventsAndIncidents(t *testing.T) {
	t.Parallel()
	s, sites := openRecorder(t, Options{})
	st := sites.put(t, 1, "https://flaky.upmon.test", `{"failure_threshold":3,"success_threshold":2}`)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

	// Two failures then a success: nothing.
	for i, r := range []Result{resDown, resDown, resUp} {
		if p := mustRecord(t, s, st, at(i), r); p.events != 0 || p.state.State() != StateUp {
			t.Fatalf("check %d: %d events, state %s", i, p.events, p.state.State())
		}
	}
	// Three failures: one down event, on the third.
	for i := 3; i < 6; i++ {
		p := mustRecord(t, s, st, at(i), resDown)
		if want := i == 5; (p.events == 1) != want {
			t.Fatalf("failure %d: %d events", i-2, p.events)
		}
	}
	// One success after down: nothing; the second: back up.
	if p := mustRecord(t, s, st, at(6), resUp); p.events != 0 || p.state.State() != StateDown {
		t.Fatalf("first success after down: %d events, state %s", p.events, p.state.State())
	}
	if p := mustRecord(t, s, st, at(7), resUp); p.events != 1 || p.state.State() != StateUp {
		t.Fatalf("second success after down: %d events, state %s", p.events, p.state.State())
	}
	evs := outboxEvents[TransitionEvent](t, s, TopicUptimeTransition)
	if len(evs) != 2 || evs[0].Up || !evs[1].Up || evs[0].Seq != 1 || evs[1].Seq != 2 {
		t.Fatalf("transition events = %+v", evs)
	}
	if evs[0].Reason != "HTTP 503 after 3 failed checks" || evs[1].Reason != "HTTP 200 after 2 successful checks" ||
		!evs[0].CheckedAt.Equal(at(5)) || evs[0].Site.URL != st.URL || evs[0].Maintenance {
		t.Fatalf("transition events = %+v", evs)
	}

	// The incident opened at the down transition and closed at the up one.
	res, err := s.SiteIncidents(context.Background(), &IncidentsParams{SiteID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Incidents) != 1 {
		t.Fatalf("incidents = %+v", res.Incidents)
	}
	inc := res.Incidents[0]
	if inc.Ongoing || !inc.Start.Equal(at(5)) || inc.End == nil || !inc.End.Equal(at(7)) || inc.DurationSeconds != 120 ||
		inc.Reason != "HTTP 503 after 3 failed checks" {
		t.Fatalf("incident = %+v", inc)
	}
	// A check older than the latest is history: it changes no state.
	if p := mustRecord(t, s, st, at(1), resDown); p.events != 0 || p.state.State() != StateUp {
		t.Fatalf("late check: %d events, state %s", p.events, p.state.State())
	}
}

func TestRecordDegradedEvents(t *testing.T) {
	t.Parallel()
	s, sites := openRecorder(t, Options{})
	st := sites.put(t, 1, "https://slow.upmon.test", `{"max_latency":"1s","failure_threshold":2}`)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// failure_threshold 2 counts slow checks too; one failure is not yet down.
	seq := []Result{resSlow, resSlow, resSlow, resUp, resDown, resUp}
	wantStates := []string{StateUp, StateDegraded, StateDegraded, StateUp, StateUp, StateUp}
	for i, r := range seq {
		p := mustRecord(t, s, st, t0.Add(time.Duration(i)*time.Minute), r)
		if p.state.State() != wantStates[i] {
			t.Fatalf("check %d: state %s, want %s", i, p.state.State(), wantStates[i])
		}
	}
	degs := outboxEvents[DegradedEvent](t, s, TopicDegraded)
	if len(degs) != 2 || !degs[0].Degraded || degs[1].Degraded || degs[0].Seq != 1 || degs[1].Seq != 2 {
		t.Fatalf("degraded events = %+v", degs)
	}
	if degs[0].Reason != "slow: 1.5s > max 1s after 2 slow checks" || degs[1].Reason != "answered within 1s after 1 check" {
		t.Fatalf("degraded reasons = %q, %q", degs[0].Reason, degs[1].Reason)
	}
	// Degraded is a state of its own: the checks say so.
	out, err := s.SiteChecks(context.Background(), &ChecksParams{SiteID: 1, Since: "0"})
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, c := range out.Checks {
		states = append(states, c.State)
	}
	if got := strings.Join(states, ","); got != "degraded,degraded,degraded,up,down,up" {
		t.Fatalf("check states = %s", got)
	}
}

func TestRecordCertExpiringOncePerThreshold(t *testing.T) {
	t.Parallel()
	s, sites := openRecorder(t, Options{})
	st := sites.put(t, 1, "https://cert.upmon.test", "")
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	days := []int{30, 15, 14, 13, 10, 4, 3, 2, 1, 0, 90, 12, 2}
	// want the threshold each check announces (0: none)
	want := []int{0, 0, 14, 0, 0, 0, 3, 0, 0, 0, 0, 14, 3}
	for i, d := range days {
		r := resUp
		r.TLSDaysLeft = &d
		r.TLSExpires = t0.Add(time.Duration(d) * 24 * time.Hour)
		p := mustRecord(t, s, st, t0.Add(time.Duration(i)*time.Hour), r)
		if got := p.events; (got == 1) != (want[i] != 0) || got > 1 {
			t.Fatalf("check %d (%d days left): %d events, want threshold %d", i, d, got, want[i])
		}
	}
	evs := outboxEvents[CertExpiringEvent](t, s, TopicCertExpiring)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%d@%d", e.Threshold, e.DaysLeft))
	}
	if strings.Join(got, " ") != "14@14 3@3 14@12 3@2" {
		t.Fatalf("cert events (threshold@days) = %v", got)
	}
	out, err := s.SiteChecks(context.Background(), &ChecksParams{SiteID: 1, Limit: 1})
	if err != nil || len(out.Checks) != 1 || out.Checks[0].TLSDaysLeft == nil || *out.Checks[0].TLSDaysLeft != 2 {
		t.Fatalf("latest check's tls_days_left: %+v, %v", out, err)
	}
	// A fresh site first seen 2 days before expiry hears only the 3-day
	// warning.
	st2 := sites.put(t, 2, "https://cert2.upmon.test", "")
	two := 2
	mustRecord(t, s, st2, t0, Result{Up: true, TLSDaysLeft: &two, TLSExpires: t0.Add(49 * time.Hour)})
	mustRecord(t, s, st2, t0.Add(time.Hour), Result{Up: true, TLSDaysLeft: &two, TLSExpires: t0.Add(49 * time.Hour)})
	evs = outboxEvents[CertExpiringEvent](t, s, TopicCertExpiring)
	if n := len(evs); n != 5 || evs[4].Site.ID != 2 || evs[4].Threshold != 3 || evs[4].DaysLeft != 2 {
		t.Fatalf("cert events after a fresh 2-day site = %+v", evs)
	}
}

func TestRecordMaintenanceFlagsEvents(t *testing.T) {
	t.Parallel()
	clock := &manualClock{t: time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)} // a Monday
	s, sites := openRecorder(t, Options{Now: clock.Now})
	ctx := context.Background()
	byID := sites.put(t, 1, "https://a.upmon.test", "")
	byTag := sites.put(t, 2, "https://b.upmon.test", `{"tags":["db","eu"]}`)
	other := sites.put(t, 3, "https://c.upmon.test", `{"tags":["web"]}`)
	now := clock.Now()
	if _, err := s.AddMaintenance(ctx, &MaintenanceParams{Sites: []int64{1}, Start: now.Add(-time.Hour), End: now.Add(time.Hour), Note: "upgrade"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddMaintenance(ctx, &MaintenanceParams{Tags: []string{"db"}, Start: now.Add(-30 * time.Minute), End: now.Add(30 * time.Minute), Recurrence: "weekly"}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*site.Site{byID, byTag, other} {
		mustRecord(t, s, st, now, resDown)
	}
	// A week later the weekly window is back; the one-off is over.
	week := now.Add(7 * 24 * time.Hour)
	for _, st := range []*site.Site{byID, byTag} {
		mustRecord(t, s, st, week, resUp)
	}
	evs := outboxEvents[TransitionEvent](t, s, TopicUptimeTransition)
	got := map[string]bool{}
	for _, e := range evs {
		got[fmt.Sprintf("%d/%v", e.Site.ID, e.Up)] = e.Maintenance
	}
	// Site 1's recovery undoes a change that was held back: held too.
	want := map[string]bool{"1/false": true, "2/false": true, "3/false": false, "1/true": true, "2/true": true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("maintenance flags (site/up: held back) = %v, want %v", got, want)
	}
	// Checks continue and are recorded during maintenance.
	out, err := s.SiteChecks(ctx, &ChecksParams{SiteID: 1})
	if err != nil || len(out.Checks) != 2 {
		t.Fatalf("checks recorded in maintenance: %+v, %v", out, err)
	}
	// The dashboard's flag.
	for id, want := range map[int64]bool{1: true, 2: true, 3: false} {
		st, err := sites.Get(ctx, &site.GetParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		in, err := s.InMaintenance(ctx, st, now)
		if err != nil || in != want {
			t.Errorf("InMaintenance(site %d) = %v, %v; want %v", id, in, err, want)
		}
	}
	list, err := s.ListMaintenance(ctx, nil)
	if err != nil || len(list.Maintenance) != 2 || list.Maintenance[1].Recurrence != "weekly" || list.Maintenance[0].Note != "upgrade" {
		t.Fatalf("ListMaintenance = %+v, %v", list, err)
	}
}

func TestMaintenanceValidation(t *testing.T) {
	t.Parallel()
	s, _ := openRecorder(t, Options{})
	now := time.Now()
	tests := []struct {
		p     MaintenanceParams
		field string
	}{
		{MaintenanceParams{Start: now, End: now.Add(time.Hour)}, "sites"},
		{MaintenanceParams{Sites: []int64{0}, Start: now, End: now.Add(time.Hour)}, "sites"},
		{MaintenanceParams{Tags: []string{""}, Start: now, End: now.Add(time.Hour)}, "tags"},
		{MaintenanceParams{Sites: []int64{1}, End: now}, "start"},
		{MaintenanceParams{Sites: []int64{1}, Start: now, End: now}, "end"},
		{MaintenanceParams{Sites: []int64{1}, Start: now, End: now.Add(8 * 24 * time.Hour), Recurrence: "weekly"}, "end"},
		{MaintenanceParams{Sites: []int64{1}, Start: now, End: now.Add(time.Hour), Recurrence: "daily"}, "recurrence"},
		{MaintenanceParams{Sites: []int64{1}, Start: now, End: now.Add(time.Hour), Note: strings.Repeat("x", 501)}, "note"},
	}
	for i, tc := range tests {
		_, err := s.AddMaintenance(context.Background(), &tc.p)
		if e := api.AsError(err); err == nil || e.Code != api.InvalidArgument || fmt.Sprint(e.Details) != fmt.Sprint(map[string]string{"field": tc.field}) {
			t.Errorf("case %d: %v (details %v), want a 400 naming %s", i, err, api.AsError(err).Details, tc.field)
		}
	}
}

func TestPausedSiteNeverChecked(t *testing.T) {
	t.Parallel()
	s, sites := openRecorder(t, Options{})
	ctx := context.Background()
	st := sites.put(t, 1, "http://127.0.0.1:1/never", `{"paused":true}`)
	if _, err := s.CheckSite(ctx, st); !api.IsCode(err, api.FailedPrecondition) {
		t.Fatalf("CheckSite(paused) = %v, want failed_precondition", err)
	}
	res, err := s.CheckAll(ctx, &CheckAllParams{})
	if err != nil || res.Paused != 1 || res.Checked != 0 {
		t.Fatalf("CheckAll = %+v, %v", res, err)
	}
	// Adding it (the site-added subscription) schedules it paused and
	// does not check it.
	if err := s.onSiteAdded(ctx, &site.AddedEvent{ID: "e1", Site: st.Ref()}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM checks`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("checks of a paused site: %d, %v", n, err)
	}
	var paused bool
	if err := s.db.QueryRow(`SELECT paused FROM site_state WHERE site_id = 1`).Scan(&paused); err != nil || !paused {
		t.Fatalf("schedule row paused = %v, %v", paused, err)
	}
	due, err := s.claimDue(ctx, time.Now().Add(48*time.Hour), 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("claimDue returned a paused site: %+v, %v", due, err)
	}
}
