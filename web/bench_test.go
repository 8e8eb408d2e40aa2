package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// newBenchHandler serves the overview of n sites, a tenth of them down,
// from the in-memory fakes: it measures the dashboard's own work (join,
// sort, page, render) without the databases. BenchmarkOverview5000SQLite
// (bench_sqlite_test.go) measures the whole page over the real services
// and is the number docs/performance.md reports.
func newBenchHandler(tb testing.TB, n int) http.Handler {
	tb.Helper()
	sites, mon := newFakeSites(), newFakeMonitor()
	now := time.Now()
	for i := range n {
		s, err := sites.Add(context.Background(), &site.AddParams{URL: fmt.Sprintf("https://site-%05d.example.com/health", i)})
		if err != nil {
			tb.Fatal(err)
		}
		sites.settings[s.ID] = SiteSettings{Name: fmt.Sprintf("Service %05d", i), Tags: []string{"prod"}}
		state := StateUp
		if i%10 == 3 {
			state = StateDown
		}
		rc := make([]RecentCheck, 30)
		for j := range rc {
			rc[j] = RecentCheck{At: now.Add(time.Duration(j-30) * time.Minute), Up: state == StateUp || j < 25, LatencyMS: int64(40 + (i+j)%90)}
		}
		mon.set(&SiteOverview{SiteID: s.ID, State: state, CheckedAt: now.Add(-time.Minute), LatencyMS: 84,
			StatusCode: 200, Uptime24h: ptr(99.5), Recent: rc})
	}
	h := New(Options{Sites: sites, Monitor: mon, Settings: sites})
	srv := api.NewServer(nil)
	h.Register(srv)
	return Protect(nil, srv)
}

// BenchmarkOverview5000 renders the 5,000-site overview from the fakes.
func BenchmarkOverview5000(b *testing.B) {
	benchPage(b, newBenchHandler(b, 5000), "/frontend/")
}

// TestOverviewBudget keeps the 5,000-site overview under the page-size
// budget (300 KB) with the down sites first.
func TestOverviewBudget(t *testing.T) {
	h := newBenchHandler(t, 5000)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/frontend/", nil))
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if n := w.Body.Len(); n > 300<<10 {
		t.Errorf("overview is %d bytes, over the 300 KB budget", n)
	}
	body := w.Body.String()
	for _, want := range []string{`<b id="t-down">500</b> down`, `<b id="t-up">4500</b> up`, "Showing 1–100 of 5000"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, `data-state="up"`) {
		t.Error("an up site is on page 1 although 500 sites are down")
	}
}
