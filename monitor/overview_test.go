package monitor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// newSitesAndMonitor opens a site and a monitor service on private
// databases (sqldbtest.Config), the monitor started without a scheduler.
func newSitesAndMonitor(t *testing.T) (*site.Service, *Service) {
	t.Helper()
	ctx := context.Background()
	cfg := sqldbtest.Config(t)
	siteDB, err := sqldb.Open(ctx, cfg, "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { siteDB.Close() })
	monDB, err := sqldb.Open(ctx, cfg, "monitor", Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { monDB.Close() })
	sites := site.New(siteDB, site.Options{})
	mon := New(monDB, sites, Options{PingTimeout: 2 * time.Second})
	mon.Start(false)
	t.Cleanup(mon.Stop)
	return sites, mon
}

// TestSiteOverviewOf checks that one site's overview row is the row
// Overview gives for it, for an up, a down, a maintained and an
// unchecked site.
func TestSiteOverviewOf(t *testing.T) {
	ctx := context.Background()
	sites, mon := newSitesAndMonitor(t)

	var status atomic.Int32
	status.Store(200)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(target.Close)
	add := func(path string, tags ...string) *site.Site {
		t.Helper()
		st, err := sites.Add(ctx, &site.AddParams{URL: target.URL + path, Settings: site.Settings{Tags: tags}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	check := func(st *site.Site) {
		t.Helper()
		if _, err := mon.CheckSite(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	up, down, maint, never := add("/up"), add("/down"), add("/maint", "eu"), add("/never")
	check(up)
	check(down)
	check(maint)
	status.Store(503)
	check(down)
	now := time.Now()
	if _, err := mon.AddMaintenance(ctx, &MaintenanceParams{Tags: []string{"eu"}, Start: now.Add(-time.Hour), End: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	all, err := mon.Overview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*site.Site{up, down, maint} {
		one, err := mon.SiteOverviewOf(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one, all[st.ID]) {
			t.Errorf("SiteOverviewOf(%d) = %+v\nOverview has %+v", st.ID, one, all[st.ID])
		}
	}
	if o := all[down.ID]; o.State != StateDown || len(o.Recent) != 2 || o.Recent[1].Up || o.Uptime24h == nil || *o.Uptime24h != 50 {
		t.Errorf("down site = %+v", o)
	}
	if !all[maint.ID].Maintenance || all[up.ID].Maintenance {
		t.Errorf("maintenance flags: %v %v", all[maint.ID].Maintenance, all[up.ID].Maintenance)
	}
	o, err := mon.SiteOverviewOf(ctx, never.ID)
	if err != nil || o.State != StateUnknown || !o.CheckedAt.IsZero() || o.Recent == nil || len(o.Recent) != 0 || o.Uptime24h != nil {
		t.Errorf("site never checked = %+v, %v", o, err)
	}
	if _, err := mon.SiteOverviewOf(ctx, 999); !api.IsCode(err, api.NotFound) {
		t.Errorf("SiteOverviewOf(999) = %v, want not_found", err)
	}
}

// TestDecodeRecent checks the direct parse of recent rings against
// encoding/json.
func TestDecodeRecent(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ring := ""
	for i, r := range []Result{
		{Up: true, Latency: 40 * time.Millisecond},
		{Up: false, Latency: 10 * time.Second},
		{Up: true, Slow: true, Latency: 1500 * time.Millisecond},
	} {
		ring = appendRecent(ring, at.Add(time.Duration(i)*time.Minute), r)
	}
	want := []RecentCheck{
		{At: at, Up: true, LatencyMS: 40},
		{At: at.Add(time.Minute), LatencyMS: 10000},
		{At: at.Add(2 * time.Minute), Up: true, Slow: true, LatencyMS: 1500},
	}
	got, ok := parseRecent(ring)
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("parseRecent(%s) = %+v, %v", ring, got, ok)
	}
	if got := decodeRecent(ring); !reflect.DeepEqual(got, want) {
		t.Errorf("decodeRecent = %+v", got)
	}
	// Other spellings of the same JSON take encoding/json's path.
	for _, format := range []string{`[ {"t": %d, "s": 1, "l": 40}]`, `[{"l":40,"s":1,"t":%d,"x":null}]`} {
		in := fmt.Sprintf(format, at.Unix())
		if _, ok := parseRecent(in); ok {
			t.Errorf("parseRecent(%s) took it", in)
		}
		if got := decodeRecent(in); len(got) != 1 || !got[0].At.Equal(at) || !got[0].Up || got[0].LatencyMS != 40 {
			t.Errorf("decodeRecent(%s) = %+v", in, got)
		}
	}
	for _, in := range []string{"", "[]", "not json", `[{"t":1}`, `[{"t":1},]`, `[{"t":-}]`} {
		if got := decodeRecent(in); got == nil || (in == "[]" && len(got) != 0) {
			t.Errorf("decodeRecent(%q) = %#v", in, got)
		}
	}
}

// TestUptime24hFromDayRows checks the overview's 24-hour uptime, read
// partly from day rows, against the sum of the hour rows it stands for,
// at every hour of the day.
func TestUptime24hFromDayRows(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldbtest.Config(t), "monitor", Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	siteDB, err := sqldb.Open(ctx, sqldbtest.Config(t), "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { siteDB.Close() })
	sites := site.New(siteDB, site.Options{})
	var list []*site.Site
	for i := range 3 {
		st, err := sites.Add(ctx, &site.AddParams{URL: fmt.Sprintf("https://s%d.example", i)})
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, st)
	}
	var clock atomic.Int64
	s := New(db, sites, withTestBatchDelay(Options{Now: func() time.Time { return time.UnixMilli(clock.Load()).UTC() }}))
	s.Start(false)
	t.Cleanup(s.Stop)
	start := time.Date(2026, 11, 24, 22, 50, 0, 0, time.UTC)
	for i := range 3 * 24 * 3 { // three days, every 20 minutes
		at := start.Add(time.Duration(i) * 20 * time.Minute)
		for j, st := range list {
			res := Result{Up: (i*7+j*3)%5 != 0, Latency: time.Duration(20+i%50) * time.Millisecond, Attempts: 1}
			if _, err := s.record(st, at, res, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	byHours := func(now time.Time) map[int64]*float64 {
		rows, err := db.Query(`SELECT site_id, SUM(up_count), SUM(up_count + down_count) FROM rollups WHERE res = 'h' AND bucket >= $1 GROUP BY site_id`,
			now.Add(-24*time.Hour).Truncate(time.Hour).UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]*float64{}
		for rows.Next() {
			var id, up, total int64
			if err := rows.Scan(&id, &up, &total); err != nil {
				t.Fatal(err)
			}
			out[id] = percent(up, total)
		}
		return out
	}
	for now := start.Add(36 * time.Hour); now.Before(start.Add(3 * 24 * time.Hour)); now = now.Add(37 * time.Minute) {
		clock.Store(now.UnixMilli())
		got, err := s.uptimes24h(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		want := byHours(now)
		if !reflect.DeepEqual(got, want) || len(got) != 3 {
			t.Fatalf("at %s: uptimes24h = %v, hour rows give %v", now, fmtUptimes(got), fmtUptimes(want))
		}
		one, err := s.SiteOverviewOf(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one.Uptime24h, want[2]) {
			t.Fatalf("at %s: SiteOverviewOf(2).Uptime24h = %v, want %v", now, *one.Uptime24h, *want[2])
		}
	}
}

func fmtUptimes(m map[int64]*float64) string {
	var b strings.Builder
	for id := range int64(4) {
		if p, ok := m[id]; ok && p != nil {
			fmt.Fprintf(&b, "%d:%.3f ", id, *p)
		}
	}
	return b.String()
}
