package monitor

import (
	"context"
	"reflect"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// openLocRecorder is openRecorder whose site service knows the
// locations the monitor heard from.
func openLocRecorder(t *testing.T, clock *manualClock) (*Service, *testSites) {
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
	var s *Service
	sites := &testSites{site.New(siteDB, site.Options{Defaults: site.Defaults{Interval: time.Minute, Timeout: time.Second},
		LocationKnown: func(n string) bool { return s.LocationKnown(n) }})}
	s = New(db, sites, withTestBatchDelay(Options{Now: clock.Now}))
	s.Start(false)
	t.Cleanup(func() {
		s.Stop()
		db.Close()
	})
	return s, sites
}

func TestRecordByQuorumOfLocations(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: t0}
	s, sites := openLocRecorder(t, clock)
	s.Heartbeat("eu", "eu-1", t0)
	s.Heartbeat("us", "us-1", t0)
	st := sites.put(t, 1, "https://quorum.upmon.test", `{"locations":["local","eu","us"],"quorum":2}`)
	single := sites.put(t, 2, "https://single.upmon.test", "")

	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	from := func(loc string, i int, r Result) {
		t.Helper()
		r.Attempts = 1
		var err error
		if loc == LocationLocal {
			_, err = s.record(st, at(i), r, false)
		} else {
			err = s.RecordFrom(st, loc, at(i), r)
		}
		if err != nil {
			t.Fatalf("record from %s: %v", loc, err)
		}
	}
	events := func() []TransitionEvent {
		return outboxEvents[TransitionEvent](t, s, TopicUptimeTransition)
	}

	from("eu", 1, resDown) // one location of three: no alert
	from("eu", 2, resDown)
	if ev := events(); len(ev) != 0 {
		t.Fatalf("one location down: %d events, want none", len(ev))
	}
	from("local", 3, resDown) // two: exactly one alert, naming them
	from("us", 4, resDown)    // three: still that one
	ev := events()
	if len(ev) != 1 || ev[0].Up || ev[0].Where != "2 of 3 locations: local, eu" || !reflect.DeepEqual(ev[0].Locations, []string{"local", "eu"}) {
		t.Fatalf("two locations down: events %+v, want one down event from local and eu", ev)
	}
	from("eu", 0, resUp) // an older result from eu: history only
	from("local", 5, resUp)
	if ev := events(); len(ev) != 1 {
		t.Fatalf("one location back of three down: %d events, want still 1", len(ev))
	}
	from("eu", 6, resUp)
	ev = events()
	if len(ev) != 2 || !ev[1].Up || ev[1].Where != "2 of 3 locations: local, eu" {
		t.Fatalf("two locations back: events %+v, want a recovery", ev)
	}

	// us's agent dies (no heartbeat for 3 intervals) while it saw the
	// site down: it leaves the quorum; one more location down is not a
	// quorum of the two live ones.
	clock.Set(t0.Add(time.Duration(LostAfter)*DefaultHeartbeat + time.Second))
	s.Heartbeat("eu", "eu-1", clock.Now())
	from("eu", 20, resDown)
	if ev := events(); len(ev) != 2 {
		t.Fatalf("eu down with us unavailable: %d events, want still 2", len(ev))
	}

	// The default location alone is recorded as before: local rows, no
	// location state.
	if _, err := s.record(single, at(1), resDown, false); err != nil {
		t.Fatal(err)
	}
	var perLoc map[string]int = map[string]int{}
	rows, err := s.db.Query(`SELECT location, COUNT(*) FROM checks WHERE site_id = $1 GROUP BY location`, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			loc string
			n   int
		)
		if err := rows.Scan(&loc, &n); err != nil {
			t.Fatal(err)
		}
		perLoc[loc] = n
	}
	if want := map[string]int{"local": 2, "eu": 5, "us": 1}; !reflect.DeepEqual(perLoc, want) {
		t.Errorf("checks per location = %v, want %v", perLoc, want)
	}
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM location_state WHERE site_id = $1`, single.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("location rows of a default site = %d, %v; want none", n, err)
	}
	if err := s.Forget(t.Context(), st.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM location_state WHERE site_id = $1`, st.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("location rows of a forgotten site = %d, %v; want none", n, err)
	}
}
