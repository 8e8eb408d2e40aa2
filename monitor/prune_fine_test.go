package monitor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"upmon/site"
)

// historyAnswers returns every history endpoint's answer for a site:
// uptime over each window, and the latency series of each window with
// its default step and with a step of the whole window.
func historyAnswers(t *testing.T, s *Service, siteID int64) string {
	t.Helper()
	out := fmt.Sprint(uptimeAnswers(t, s, siteID))
	for _, w := range []string{"1h", "24h", "48h", "7d", "30d", "90d", "365d"} {
		for _, step := range []string{"", w} {
			lat, err := s.SiteLatency(context.Background(), &LatencyParams{SiteID: siteID, Window: w, Step: step})
			if err != nil {
				t.Fatal(err)
			}
			out += fmt.Sprintf("\n%s/%s: %v", w, step, lat.Points)
		}
	}
	return out
}

// Rollups are kept only as fine as the windows that read them need:
// minute rows for two days (a 24 h window with a step of up to a day
// reaches back two days), hour rows for 180 days (a 90-day window, a step
// of up to 90 days), day rows for the rollup retention. Every history
// endpoint answers the same after pruning.
func TestPruneKeepsRollupsOnlyAsFineAsTheirWindows(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	clock := &manualClock{t: end}
	// Default retention (7 d raw, 400 d rollups); no batch delay for the
	// checks recorded one by one.
	s, list := openRecorder(t, Options{Now: clock.Now, BatchDelay: -1})
	st := list.put(t, 1, "https://a.upmon.test", "")
	sites := []*site.Site{st}
	recordHistory(t, s, sites, end.Add(-4*24*time.Hour), 250*24*time.Hour, 1500, 4)
	recordHistory(t, s, sites, end, 4*24*time.Hour, 1500, 5)

	before := historyAnswers(t, s, 1)
	if err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countBuckets(t, s, resMinute, end.Add(-48*time.Hour-time.Minute).UnixMilli()); n != 0 {
		t.Errorf("%d minute rollups older than two days left", n)
	}
	if n := countBuckets(t, s, resHour, end.Add(-180*24*time.Hour-time.Hour).UnixMilli()); n != 0 {
		t.Errorf("%d hour rollups older than 180 days left", n)
	}
	if n := countBuckets(t, s, resDay, end.Add(-200*24*time.Hour).UnixMilli()); n == 0 {
		t.Error("day rollups within the rollup retention were pruned")
	}
	if after := historyAnswers(t, s, 1); after != before {
		t.Errorf("history answers changed by pruning:\nbefore %s\nafter  %s", before, after)
	}
}
