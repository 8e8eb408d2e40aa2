package web

import (
	"encoding/json"
	"html"
	"strings"
	"testing"
	"time"

	"upmon/monitor"
)

// TestOverviewMarksLocationsThatDisagree: a site whose live locations
// disagree carries a "Locations disagree" mark naming them in its
// tooltip, in the overview's HTML and in /frontend/state.json; a site
// whose locations agree has neither.
func TestOverviewMarksLocationsThatDisagree(t *testing.T) {
	e := newEnv(t, false)
	a := e.add("https://a.example")
	b := e.add("https://b.example")
	e.mon.set(&SiteOverview{SiteID: a.ID, State: "up", CheckedAt: testNow})
	e.mon.set(&SiteOverview{SiteID: b.ID, State: "up", CheckedAt: testNow})
	e.mon.splits = map[int64]*monitor.LocationSplit{a.ID: {Down: []string{"eu"}, Up: []string{"us", "ap"}}}

	body := e.do("GET", "/frontend/", nil).Body.String()
	mark := `<span class="pill split" title="Locations disagree: down from eu; up from us, ap">Locations disagree</span>`
	row := func(id string) string {
		i := strings.Index(body, `id="site-`+id+`"`)
		if i < 0 {
			t.Fatalf("overview has no row %s:\n%s", id, body)
		}
		j := strings.Index(body[i:], "</tr>")
		return body[i : i+j]
	}
	if r := row("1"); !strings.Contains(html.UnescapeString(r), html.UnescapeString(mark)) {
		t.Errorf("site 1's row lacks the mark %s:\n%s", mark, r)
	}
	if r := row("2"); strings.Contains(r, "split") {
		t.Errorf("site 2's locations agree, yet its row is marked:\n%s", r)
	}

	w := e.do("GET", "/frontend/state.json?ids=1,2", nil)
	var got struct {
		Sites map[string]struct {
			State    string                 `json:"state"`
			Disagree *monitor.LocationSplit `json:"disagree"`
		} `json:"sites"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("state.json: %v: %s", err, w.Body)
	}
	if d := got.Sites["1"].Disagree; d == nil || strings.Join(d.Down, ",") != "eu" || strings.Join(d.Up, ",") != "us,ap" {
		t.Errorf("state.json site 1 disagree = %+v: %s", d, w.Body)
	}
	if d := got.Sites["2"].Disagree; d != nil || got.Sites["2"].State != "up" {
		t.Errorf("state.json site 2 = %+v, want no disagreement", got.Sites["2"])
	}
}

// TestSitePageChartByLocation: a site on several locations offers the
// chart per location; the one chosen is asked of the monitor and named
// under the chart, the window links keep it; a location the site is not
// checked from, or a site on one location, shows every location.
func TestSitePageChartByLocation(t *testing.T) {
	e := newEnv(t, false)
	multi := e.add("https://multi.example")
	multi.Locations = []string{"eu", "us"}
	single := e.add("https://single.example")
	single.Locations = []string{"local"}
	e.mon.latency[multi.ID] = []LatencyPoint{{At: testNow.Add(-time.Hour), P50MS: 40, P95MS: 90, MaxMS: 90, Count: 1, Up: 1}}

	body := e.do("GET", "/frontend/sites/1?location=us&window=7d", nil).Body.String()
	for _, want := range []string{
		`<nav class="windows chart-locations" aria-label="Chart location">`,
		`<a href="/frontend/sites/1?window=7d#chart">all locations</a>`,
		`<a href="/frontend/sites/1?location=eu&amp;window=7d#chart">eu</a>`,
		`<a href="/frontend/sites/1?location=us&amp;window=7d#chart" aria-current="true">us</a>`,
		`<a href="/frontend/sites/1?location=us&amp;window=24h#chart">24h</a>`,
		"over the last 7d from us</figcaption>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("site page lacks %q", want)
		}
	}
	e.do("GET", "/frontend/sites/1?location=mars", nil)
	body = e.do("GET", "/frontend/sites/2?location=local", nil).Body.String()
	if strings.Contains(body, "chart-locations") {
		t.Error("a site on one location offers a location choice")
	}
	if got := strings.Join(e.mon.latencyAt, ","); got != "us,," {
		t.Errorf("latency series asked at %q, want us, then every location twice", got)
	}
}
