package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"upmon/client"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// historyCheck is one entry of GET /site/{id}/checks.
type historyCheck struct {
	ID          int64     `json:"id"`
	SiteID      int64     `json:"site_id"`
	Up          bool      `json:"up"`
	State       string    `json:"state"`
	CheckedAt   time.Time `json:"checked_at"`
	LatencyMS   int64     `json:"latency_ms"`
	StatusCode  int       `json:"status_code"`
	Error       string    `json:"error"`
	DNSMS       *int64    `json:"dns_ms"`
	ConnectMS   *int64    `json:"connect_ms"`
	TLSMS       *int64    `json:"tls_ms"`
	FirstByteMS *int64    `json:"first_byte_ms"`
	TLSDaysLeft *int      `json:"tls_days_left"`
	Attempts    int       `json:"attempts"`
}

type historyPage struct {
	Checks []historyCheck `json:"checks"`
	Next   string         `json:"next"`
}

func TestHistoryEndpoints(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)

	// A site never checked (paused): uptime is null over no checks.
	quiet := addSite(t, c, `{"url":"`+target.URL+`/quiet","paused":true}`)
	status, body := c.Do("GET", "/site/"+quiet+"/uptime?window=24h", "")
	if status != 200 || strings.TrimSpace(body) != `{"window":"24h","uptime":null,"checks":0}` {
		t.Fatalf("uptime without checks: %d %s", status, body)
	}
	if _, body := c.Do("GET", "/site/"+quiet+"/checks", ""); strings.TrimSpace(body) != `{"checks":[],"next":""}` {
		t.Fatalf("checks of a site never checked: %s", body)
	}

	// Ten checks: the first on adding, then nine; two of them down.
	id := addSite(t, c, `{"url":"`+target.URL+`/h"}`)
	waitFirstCheck(t, c, id)
	for i := range 9 {
		switch i {
		case 3:
			target.SetStatus(503)
		case 5:
			target.SetStatus(200)
		}
		checkNow(t, c, id)
		time.Sleep(3 * time.Millisecond) // distinct milliseconds
	}

	// Paging newest first, then oldest first from a time.
	var all []historyCheck
	path := "/site/" + id + "/checks?limit=4"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		var page historyPage
		c.JSON("GET", path, "", &page)
		if len(page.Checks) > 4 {
			t.Fatalf("a page of %d with limit 4", len(page.Checks))
		}
		all = append(all, page.Checks...)
		if page.Next == "" {
			break
		}
		path = "/site/" + id + "/checks?limit=4&before=" + page.Next
	}
	if len(all) != 10 {
		t.Fatalf("%d checks paged through, want 10", len(all))
	}
	for i, ch := range all {
		if i > 0 && !ch.CheckedAt.Before(all[i-1].CheckedAt) {
			t.Fatalf("not newest first: %v after %v", ch.CheckedAt, all[i-1].CheckedAt)
		}
		if ch.DNSMS == nil || ch.ConnectMS == nil || ch.TLSMS == nil || ch.FirstByteMS == nil || ch.Attempts != 1 || ch.SiteID == 0 {
			t.Fatalf("check without its parts: %+v", ch)
		}
		if ch.TLSDaysLeft != nil {
			t.Fatalf("an http check has tls_days_left: %+v", ch)
		}
		wantUp := i != 4 && i != 5 // the 4th and 5th of the nine, newest first
		if ch.Up != wantUp || (ch.Up && (ch.State != "up" || ch.StatusCode != 200)) || (!ch.Up && (ch.State != "down" || ch.Error != "HTTP 503")) {
			t.Fatalf("check %d = %+v", i, ch)
		}
	}
	since := all[7].CheckedAt.Format(time.RFC3339Nano)
	fwd, err := typed(c).Monitor.SiteChecks(context.Background(), mustID(t, id), client.MonitorSiteChecksQuery{Since: since, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(fwd.Checks) != 7 || fwd.Checks[0].ID != all[6].ID || fwd.Checks[6].ID != all[0].ID || fwd.Next != "" {
		t.Fatalf("since %s: %d checks %+v", since, len(fwd.Checks), fwd)
	}
	for q, field := range map[string]string{"limit=0": "", "limit=5000": "limit", "limit=x": "limit", "since=tomorrow": "since", "since=1&before=2": "since"} {
		if field == "" {
			c.JSON("GET", "/site/"+id+"/checks?"+q, "", &historyPage{}) // 0 is the default
			continue
		}
		requireFieldError(t, c, "GET", "/site/"+id+"/checks?"+q, "", field)
	}
	if status, _ := c.Do("GET", "/site/99/checks", ""); status != 404 {
		t.Fatalf("checks of an unknown site: %d", status)
	}

	// Uptime from the rollups: 8 of 10.
	for _, w := range []string{"24h", "7d", "30d", "90d", "365d"} {
		u, err := typed(c).Monitor.SiteUptime(context.Background(), mustID(t, id), client.MonitorSiteUptimeQuery{Window: w})
		if err != nil {
			t.Fatal(err)
		}
		if u.Window != w || u.Uptime == nil || *u.Uptime != 80 || u.Checks != 10 {
			t.Fatalf("uptime %s = %+v", w, u)
		}
	}
	requireFieldError(t, c, "GET", "/site/"+id+"/uptime?window=2w", "", "window")

	// Incidents: the one down period, closed, with its duration.
	var inc struct {
		Incidents []struct {
			Start           time.Time  `json:"start"`
			End             *time.Time `json:"end"`
			Ongoing         bool       `json:"ongoing"`
			DurationSeconds int64      `json:"duration_seconds"`
			Reason          string     `json:"reason"`
		} `json:"incidents"`
	}
	c.JSON("GET", "/site/"+id+"/incidents", "", &inc)
	if len(inc.Incidents) != 1 || inc.Incidents[0].Ongoing || inc.Incidents[0].End == nil ||
		!inc.Incidents[0].Start.Equal(all[5].CheckedAt) || !inc.Incidents[0].End.Equal(all[3].CheckedAt) ||
		inc.Incidents[0].DurationSeconds != int64(all[3].CheckedAt.Sub(all[5].CheckedAt).Seconds()) ||
		inc.Incidents[0].Reason != "HTTP 503 after 1 failed check" {
		t.Fatalf("incidents = %+v", inc)
	}
	// A new outage is ongoing until the site comes back.
	target.SetStatus(500)
	checkNow(t, c, id)
	c.JSON("GET", "/site/"+id+"/incidents", "", &inc)
	if len(inc.Incidents) != 2 || !inc.Incidents[0].Ongoing || inc.Incidents[0].End != nil || inc.Incidents[0].Reason != "HTTP 500 after 1 failed check" {
		t.Fatalf("incidents while down = %+v", inc)
	}

	// Latency series: every check falls in the last hour's points.
	var lat struct {
		Window string `json:"window"`
		Step   string `json:"step"`
		Points []struct {
			At    time.Time `json:"at"`
			P50MS float64   `json:"p50_ms"`
			P95MS float64   `json:"p95_ms"`
			MaxMS float64   `json:"max_ms"`
			Count int64     `json:"count"`
			Up    int64     `json:"up"`
			Down  int64     `json:"down"`
		} `json:"points"`
	}
	c.JSON("GET", "/site/"+id+"/latency?window=1h&step=5m", "", &lat)
	var n, up int64
	for _, p := range lat.Points {
		n += p.Count
		up += p.Up
		if p.At.Minute()%5 != 0 || p.P50MS > p.P95MS || p.P95MS > p.MaxMS || p.Count != p.Up+p.Down {
			t.Fatalf("latency point %+v", p)
		}
	}
	if lat.Window != "1h" || lat.Step != "5m" || n != 11 || up != 8 || len(lat.Points) == 0 || len(lat.Points) > 2 {
		t.Fatalf("latency series = %+v", lat)
	}
	requireFieldError(t, c, "GET", "/site/"+id+"/latency?window=1h&step=soon", "", "step")
	requireFieldError(t, c, "GET", "/site/"+id+"/latency?window=forever", "", "window")
}
