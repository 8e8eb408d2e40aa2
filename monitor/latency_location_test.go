package monitor

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"upmon/platform/api"
)

// TestLatencyPerLocation records checks of one site from three locations
// with different latencies: ?location= gives each location's series (the
// same histogram as the rollups), no parameter the combined series as
// before; an unknown or malformed location is a 400 naming "location", on
// /latency and /checks; a site on one location answers ?location= of it
// exactly as without.
func TestLatencyPerLocation(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: t0}
	s, sites := openLocRecorder(t, clock)
	s.Heartbeat("eu", "eu-1", t0)
	s.Heartbeat("us", "us-1", t0)
	st := sites.put(t, 1, "https://multi.upmon.test", `{"locations":["local","eu","us"],"quorum":2}`)
	single := sites.put(t, 2, "https://single.upmon.test", "")

	lat := map[string]time.Duration{"local": 20 * time.Millisecond, "eu": 80 * time.Millisecond, "us": 400 * time.Millisecond}
	for i := range 30 {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		for _, loc := range []string{"local", "eu", "us"} {
			r := Result{Up: true, StatusCode: 200, Latency: lat[loc] + time.Duration(i)*time.Millisecond, Attempts: 1}
			if loc == "us" && i%10 == 0 {
				r = Result{StatusCode: 503, Latency: lat[loc], Err: "HTTP 503", Attempts: 1}
			}
			var err error
			if loc == LocationLocal {
				_, err = s.record(st, at, r, false)
			} else {
				err = s.RecordFrom(st, loc, at, r)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.record(single, at, Result{Up: true, StatusCode: 200, Latency: 50 * time.Millisecond, Attempts: 1}, false); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(t0.Add(10 * time.Minute))
	series := func(id int64, loc string) *LatencyResponse {
		t.Helper()
		r, err := s.SiteLatency(context.Background(), &LatencyParams{SiteID: id, Window: "1h", Step: "5m", Location: loc})
		if err != nil {
			t.Fatalf("latency of site %d at %q: %v", id, loc, err)
		}
		return r
	}
	all := series(st.ID, "")
	var total int64
	for _, p := range all.Points {
		total += p.Count
	}
	if total != 90 {
		t.Fatalf("combined series counts %d checks, want 90 (3 locations × 30)", total)
	}
	for loc, base := range lat {
		r := series(st.ID, loc)
		var n, down int64
		for _, p := range r.Points {
			n += p.Count
			down += p.Down
			if p.Up > 0 && (p.MaxMS < float64(base.Milliseconds()) || p.MaxMS > float64(base.Milliseconds()+30)) {
				t.Errorf("%s: point %+v has a max outside its checks' latencies", loc, p)
			}
		}
		wantDown := int64(0)
		if loc == "us" {
			wantDown = 3
		}
		if n != 30 || down != wantDown {
			t.Errorf("%s: %d checks, %d down; want 30 and %d", loc, n, down, wantDown)
		}
	}
	// The same checks in a rollup give the same point: eu's checks all
	// fall in the first 5-minute step.
	var want rollup
	for i := range 30 {
		want.add(Result{Up: true, Latency: lat["eu"] + time.Duration(i)*time.Millisecond})
	}
	eu := series(st.ID, "eu")
	if len(eu.Points) != 1 || eu.Points[0] != latencyPointOf(&want, t0.UnixMilli()) || eu.Step != "5m" || eu.Window != "1h" {
		t.Errorf("eu's series = %+v (step %s), want one point %+v", eu.Points, eu.Step, latencyPointOf(&want, t0.UnixMilli()))
	}

	// A site on one location: ?location= of it is the combined answer.
	if a, b := series(single.ID, ""), series(single.ID, LocationLocal); !reflect.DeepEqual(a, b) {
		t.Errorf("single-location site: %+v with ?location=local, %+v without", b, a)
	}

	for _, tc := range []struct{ loc string }{{"mars"}, {"EU"}, {"a.b"}} {
		_, err := s.SiteLatency(context.Background(), &LatencyParams{SiteID: st.ID, Window: "1h", Location: tc.loc})
		if e := api.AsError(err); err == nil || e.Code != api.InvalidArgument || fmt.Sprint(e.Details) != fmt.Sprint(map[string]string{"field": "location"}) {
			t.Errorf("latency at %q: %v, want a 400 naming location", tc.loc, err)
		}
		_, err = s.SiteChecks(context.Background(), &ChecksParams{SiteID: st.ID, Location: tc.loc})
		if e := api.AsError(err); err == nil || e.Code != api.InvalidArgument || fmt.Sprint(e.Details) != fmt.Sprint(map[string]string{"field": "location"}) {
			t.Errorf("checks at %q: %v, want a 400 naming location", tc.loc, err)
		}
	}
}
