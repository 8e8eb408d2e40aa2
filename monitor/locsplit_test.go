package monitor

import (
	"context"
	"reflect"
	"testing"
	"time"

	"upmon/site"
)

// TestLocationSplits: a site whose live locations disagree is split
// (down and up named), one whose locations agree or that is checked from
// one location is not, and a location that became unavailable takes no
// side.
func TestLocationSplits(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: t0}
	s, sites := openLocRecorder(t, clock)
	s.Heartbeat("eu", "eu-1", t0)
	s.Heartbeat("us", "us-1", t0)
	if err := s.syncLiveness(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	split := sites.put(t, 1, "https://split.upmon.test", `{"locations":["local","eu","us"],"quorum":2}`)
	agree := sites.put(t, 2, "https://agree.upmon.test", `{"locations":["eu","us"]}`)
	single := sites.put(t, 3, "https://single.upmon.test", "")
	rec := func(st *site.Site, loc string, r Result) {
		t.Helper()
		r.Attempts = 1
		var err error
		if loc == LocationLocal {
			_, err = s.record(st, t0, r, false)
		} else {
			err = s.RecordFrom(st, loc, t0, r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rec(split, "eu", resDown)
	rec(split, "us", resUp)
	rec(split, LocationLocal, resSlow)
	rec(agree, "eu", resDown)
	rec(agree, "us", resDown)
	rec(single, LocationLocal, resDown)

	got, err := s.LocationSplits(context.Background(), []*site.Site{split, agree, single})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]*LocationSplit{split.ID: {Down: []string{"eu"}, Up: []string{"local", "us"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splits = %v, want %v", got, want)
	}
	// eu's agent goes silent: eu is unavailable and takes no side.
	clock.Set(t0.Add(time.Minute))
	s.Heartbeat("us", "us-1", clock.Now())
	if err := s.syncLiveness(context.Background(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LocationSplits(context.Background(), []*site.Site{split, agree, single}); err != nil || len(got) != 0 {
		t.Fatalf("with eu unavailable: splits = %v, %v; want none", got, err)
	}
}
