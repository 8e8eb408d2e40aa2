package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"upmon/monitor"
	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// wholeSites and wholeMonitor hide the paging methods, so the overview
// joins every site as before: the reference the paged view must match.
type wholeSites struct{ SiteSource }
type wholeMonitor struct{ MonitorSource }

// countingMonitor counts calls of Overview, the read of every site.
type countingMonitor struct {
	*monitor.Service
	whole atomic.Int64
}

func (c *countingMonitor) Overview(ctx context.Context) (map[int64]*SiteOverview, error) {
	c.whole.Add(1)
	return c.Service.Overview(ctx)
}

// realServices opens the site and monitor services on SQLite files.
func realServices(t *testing.T, now func() time.Time) (*site.Service, *monitor.Service) {
	t.Helper()
	ctx := context.Background()
	cfg := sqldbtest.Config(t)
	sdb, err := sqldb.Open(ctx, cfg, "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	mdb, err := sqldb.Open(ctx, cfg, "monitor", monitor.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mdb.Close() })
	sites := site.New(sdb, site.Options{Now: now})
	mon := monitor.New(mdb, sites, monitor.Options{Now: now, PingTimeout: 5 * time.Second})
	mon.Start(false)
	t.Cleanup(mon.Stop)
	return sites, mon
}

func serveOverview(t *testing.T, h *Handler, target string) string {
	t.Helper()
	srv := api.NewServer(nil)
	h.Register(srv)
	w := httptest.NewRecorder()
	Protect(nil, srv).ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	if w.Code != 200 {
		t.Fatalf("GET %s: %d %.300s", target, w.Code, w.Body)
	}
	return w.Body.String()
}

// TestPagedOverviewMatchesTheWholeJoin renders pages of the overview
// (down first, and by name) from one page of reads and from the join of
// every site, over the same real databases, and wants the same pages;
// the paged view must not read every site's overview.
func TestPagedOverviewMatchesTheWholeJoin(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sites, mon := realServices(t, clock)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/down") {
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(target.Close)

	var added []*site.Site
	for i := range 130 {
		p := &site.AddParams{URL: fmt.Sprintf("%s/%d/up", target.URL, i)}
		if i%7 == 0 {
			p.URL = fmt.Sprintf("%s/%d/down", target.URL, i)
		}
		if i%3 == 0 {
			p.Name = []string{"alpha", "Beta", "gamma", "beta"}[i%4] + fmt.Sprint(i%5)
		}
		p.Paused = i == 1 // paused from the start: never checked
		st, err := sites.Add(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, st)
	}
	if err := mon.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for i, st := range added {
		if i%11 == 5 || i == 1 {
			continue // never checked: unknown
		}
		if _, err := mon.CheckSite(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	// Paused after its checks: up and paused.
	if _, err := sites.Patch(ctx, &site.PatchParams{ID: added[2].ID}); err != nil {
		t.Fatal(err)
	}
	pause := &site.PatchParams{ID: added[2].ID}
	if err := json.Unmarshal([]byte(`{"paused":true}`), pause); err != nil {
		t.Fatal(err)
	}
	pause.ID = added[2].ID
	if _, err := sites.Patch(ctx, pause); err != nil {
		t.Fatal(err)
	}
	if err := mon.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	counting := &countingMonitor{Service: mon}
	opts := Options{Settings: SiteSettingsStore{Sites: sites}, Now: clock, PageSize: 20}
	paged, whole := opts, opts
	paged.Sites, paged.Monitor = sites, counting
	whole.Sites, whole.Monitor = wholeSites{sites}, wholeMonitor{mon}
	hp, hw := New(paged), New(whole)
	ids := fmt.Sprintf("/frontend/state.json?ids=%d,%d,%d,%d,999", added[0].ID, added[5].ID, added[8].ID, added[77].ID)
	for _, target := range []string{"/frontend/", "/frontend/?page=2", "/frontend/?page=3", "/frontend/?page=7", "/frontend/?page=99", ids,
		"/frontend/?sort=name", "/frontend/?sort=name&page=2", "/frontend/?sort=name&page=7"} {
		got, want := serveOverview(t, hp, target), serveOverview(t, hw, target)
		if got != want {
			t.Errorf("GET %s: the paged page differs from the whole join\n%s", target, firstDiff(got, want))
		}
	}
	if n := counting.whole.Load(); n != 0 {
		t.Fatalf("the paged overview read every site's overview %d times", n)
	}
	// A filter or the uptime order still joins every site (and so
	// matches by construction).
	serveOverview(t, hp, "/frontend/?q=beta")
	serveOverview(t, hp, "/frontend/?sort=uptime")
	if counting.whole.Load() != 2 {
		t.Fatalf("a filtered or uptime-sorted overview did not join every site")
	}
}

// firstDiff shows where two pages first differ.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-200)
	return fmt.Sprintf("paged: …%s…\nwhole: …%s…", a[lo:min(len(a), i+200)], b[lo:min(len(b), i+200)])
}
