package monitor

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// openLivenessReplicas opens n monitor services on one database (SQLite file, or
// PostgreSQL when UPMON_TEST_POSTGRES_URL is set), as n serve replicas
// would, each with its own connection pool and memory. They are not
// started: the tests run the liveness passes themselves.
func openLivenessReplicas(t *testing.T, n int, clock *manualClock) []*Service {
	t.Helper()
	cfg := sqldbtest.Config(t)
	siteDB, err := sqldb.Open(context.Background(), cfg, "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { siteDB.Close() })
	sites := &testSites{site.New(siteDB, site.Options{Defaults: site.Defaults{Interval: time.Minute, Timeout: time.Second}})}
	out := make([]*Service, n)
	for i := range out {
		db, err := sqldb.Open(context.Background(), cfg, "monitor", Migrations())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = New(db, sites, Options{Now: clock.Now, Heartbeat: time.Second})
		t.Cleanup(func() { db.Close() })
	}
	return out
}

func locationEvents(t *testing.T, s *Service) []LocationEvent {
	t.Helper()
	return outboxEvents[LocationEvent](t, s, TopicLocationChange)
}

func locationsOf(t *testing.T, s *Service) []LocationInfo {
	t.Helper()
	r, err := s.Locations(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.Locations
}

func TestLocationLostAndBackEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: t0}
	s := openLivenessReplicas(t, 1, clock)[0]
	s.Heartbeat("eu", "eu-1", t0)
	s.Heartbeat("us", "us-1", t0)
	pass := func(at time.Time) {
		t.Helper()
		clock.Set(at)
		if err := s.syncLiveness(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}

	pass(t0.Add(3 * time.Second)) // 3 missed is still live
	if ev := locationEvents(t, s); len(ev) != 0 {
		t.Fatalf("within 3 heartbeats: %+v", ev)
	}
	s.Heartbeat("us", "us-1", t0.Add(3*time.Second))
	pass(t0.Add(3*time.Second + time.Millisecond))
	pass(t0.Add(4 * time.Second)) // once only
	ev := locationEvents(t, s)
	if len(ev) != 1 || ev[0].Type != EventLocationLost || ev[0].Location != "eu" || ev[0].Available {
		t.Fatalf("eu silent for 3 heartbeats: %+v, want one location-lost", ev)
	}
	if l := locationsOf(t, s); len(l) != 3 || l[0].Name != LocationLocal || !l[0].Own || l[1].Name != "eu" ||
		l[1].State != LocationUnavailable || l[2].State != LocationLive || len(l[1].Agents) != 1 || l[1].Agents[0].State != LocationUnavailable {
		t.Fatalf("GET /locations = %+v", l)
	}
	s.Heartbeat("eu", "eu-2", t0.Add(5*time.Second)) // a new agent
	pass(t0.Add(5 * time.Second))
	ev = locationEvents(t, s)
	if len(ev) != 2 || ev[1].Type != EventLocationBack || ev[1].Location != "eu" || !ev[1].Available {
		t.Fatalf("eu back: %+v, want one location-back", ev)
	}
	// An agent silent for an hour is forgotten; its location stays known.
	s.Heartbeat("eu", "eu-2", t0.Add(agentForget))
	s.Heartbeat("us", "us-1", t0.Add(agentForget))
	pass(t0.Add(agentForget + time.Second))
	if l := locationsOf(t, s); len(l[1].Agents) != 1 || l[1].Agents[0].ID != "eu-2" {
		t.Fatalf("after an hour, eu's agents = %+v, want eu-1 forgotten", l[1].Agents)
	}
}

// TestLivenessOfReplicasPublishesOnce runs the liveness passes of three
// replicas on one database at the same moments, each hearing the same
// heartbeats: each loss and each return is one event, whichever replica
// writes it, and every replica answers GET /locations the same. A replica
// started later knows the locations from the database.
func TestLivenessOfReplicasPublishesOnce(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: t0}
	reps := openLivenessReplicas(t, 3, clock)
	beat := func(loc, agent string, at time.Time) {
		for _, s := range reps {
			s.Heartbeat(loc, agent, at)
		}
	}
	passes := func(at time.Time) {
		t.Helper()
		clock.Set(at)
		var wg sync.WaitGroup
		errs := make(chan error, 3*len(reps))
		for range 3 {
			for _, s := range reps {
				wg.Go(func() { errs <- s.syncLiveness(context.Background(), at) })
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	same := func(what string) []LocationInfo {
		t.Helper()
		first := locationsOf(t, reps[0])
		for i, s := range reps[1:] {
			if got := locationsOf(t, s); !reflect.DeepEqual(got, first) {
				t.Fatalf("%s: replica %d answers %+v, replica 0 %+v", what, i+1, got, first)
			}
		}
		return first
	}

	for i := range 4 {
		at := t0.Add(time.Duration(i) * time.Second)
		beat("eu", "eu-1", at)
		beat("us", "us-1", at)
		passes(at)
	}
	if l := same("all live"); len(l) != 3 || l[1].State != LocationLive || l[2].State != LocationLive {
		t.Fatalf("all live: %+v", l)
	}
	// eu's agent stops; us goes on.
	for i := 4; i < 10; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		beat("us", "us-1", at)
		passes(at)
	}
	ev := locationEvents(t, reps[0])
	if len(ev) != 1 || ev[0].Type != EventLocationLost || ev[0].Location != "eu" {
		t.Fatalf("eu stopped, three replicas: events %+v, want one location-lost", ev)
	}
	if l := same("eu lost"); l[1].Name != "eu" || l[1].State != LocationUnavailable {
		t.Fatalf("eu lost: %+v", l)
	}
	// eu's agent comes back (the same one, after a partition).
	for i := 10; i < 13; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		beat("eu", "eu-1", at)
		beat("us", "us-1", at)
		passes(at)
	}
	ev = locationEvents(t, reps[0])
	if len(ev) != 2 || ev[1].Type != EventLocationBack || ev[1].Location != "eu" {
		t.Fatalf("eu back, three replicas: events %+v, want one location-back after the loss", ev)
	}
	same("eu back")

	// A replica started now has heard nothing: it knows eu and us from the
	// database after its first pass, and decides nothing lost during its
	// first three heartbeats (it cannot have heard the agents yet).
	clock.Set(t0.Add(40 * time.Second))
	late := New(reps[0].db, reps[0].sites, Options{Now: clock.Now, Heartbeat: time.Second})
	if err := late.syncLiveness(context.Background(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	if !late.LocationKnown("eu") || !late.LocationKnown("us") {
		t.Fatal("a replica started late does not know the locations the others heard")
	}
	if ev := locationEvents(t, late); len(ev) != 2 {
		t.Fatalf("a replica's first pass after a silence decided: %+v", ev[2:])
	}
	if err := late.syncLiveness(context.Background(), clock.Now().Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if ev := locationEvents(t, late); len(ev) != 4 || ev[2].Location != "eu" || ev[3].Location != "us" || ev[2].Available || ev[3].Available {
		t.Fatalf("both silent past the grace: %+v, want eu and us lost", ev)
	}
}

func TestDecideLiveness(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	locs := []locationRow{{Name: "ap", Available: true}, {Name: "eu", Available: true}, {Name: "local", Available: true},
		{Name: "us", Available: false}, {Name: "za", Available: false}}
	agents := []heartbeatRow{
		{"ap", "ap-1", ms(3*time.Second + time.Millisecond)}, // just past 3 heartbeats
		{"eu", "eu-1", ms(10 * time.Second)},
		{"eu", "eu-2", ms(3 * time.Second)}, // one live agent is enough
		{"us", "us-1", ms(0)},
		{"za", "za-1", ms(time.Minute)},
	}
	for _, tc := range []struct {
		name    string
		mayLose bool
		want    []livenessChange
	}{
		{"lost and back", true, []livenessChange{{"ap", false}, {"us", true}}},
		{"grace: back only", false, []livenessChange{{"us", true}}},
	} {
		got := decideLiveness(locs, agents, "local", now, time.Second, tc.mayLose)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
