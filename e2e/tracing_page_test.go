package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

func getPage(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestTracePageFromIncidents follows the dashboard from a site's incidents
// to the recent traces of that site, filters them (site, endpoint,
// errors) and opens one trace's waterfall; with tracing off the page says
// how to turn it on.
func TestTracePageFromIncidents(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.Tracing = true
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/"}`, nil)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/other"}`, nil)
	waitChecked(t, c, "2")
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)

	_, sitePage := getPage(t, m.URL()+"/frontend/sites/1")
	link := regexp.MustCompile(`href="(/frontend/traces\?site=1)"`).FindStringSubmatch(sitePage)
	if link == nil {
		t.Fatal("the site page's incidents do not link to the site's traces")
	}
	var list string
	apptest.Eventually(t, 10*time.Second, "the check's trace listed", func() bool {
		_, list = getPage(t, m.URL()+link[1])
		return strings.Contains(list, "POST /check/{siteID}")
	})
	if resp, _ := getPage(t, m.URL()+link[1]); !strings.Contains(resp.Header.Get("Content-Security-Policy"), "style-src 'self'") {
		t.Fatal("the trace page lacks the dashboard's CSP")
	}
	// Site 2 was never checked by hand: filtering by it drops the trace.
	if _, other := getPage(t, m.URL()+"/frontend/traces?site=2"); strings.Contains(other, "POST /check/{siteID}") {
		t.Fatal("site filter kept another site's trace")
	}
	if _, errs := getPage(t, m.URL()+"/frontend/traces?errors=1&endpoint=/check/"); strings.Contains(errs, "<tbody><tr>") || strings.Contains(errs, "POST /check/{siteID}") {
		t.Fatal("errors filter kept a trace without a failed span")
	}
	if _, ep := getPage(t, m.URL()+"/frontend/traces?endpoint=/check/"); !strings.Contains(ep, "POST /check/{siteID}") || strings.Contains(ep, ">POST /site<") {
		t.Fatal("endpoint filter: want the check's trace only")
	}

	id := regexp.MustCompile(`href="/frontend/traces/([0-9a-f]{32})">POST /check/\{siteID\}<`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("no link to the check's trace in %s", list)
	}
	resp, page := getPage(t, m.URL()+"/frontend/traces/"+id[1])
	if resp.StatusCode != 200 || strings.Count(page, "<rect ") < 4 || !strings.Contains(page, "monitor.check") || !strings.Contains(page, "first_byte") {
		t.Fatalf("trace page %d: want a waterfall with the check and its events:\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, "style=") {
		t.Fatal("inline style on the trace page breaks the CSP")
	}
	if resp, _ := getPage(t, m.URL()+"/frontend/traces/00000000000000000000000000000001"); resp.StatusCode != 404 {
		t.Fatalf("unknown trace: %d, want 404", resp.StatusCode)
	}

	off := apptest.Start(t, apptest.Config(t), app.Hooks{})
	if resp, body := getPage(t, off.URL()+"/frontend/traces"); resp.StatusCode != 200 || !strings.Contains(body, `id="tracing-off"`) || !strings.Contains(body, "--tracing") {
		t.Fatalf("tracing off: %d %s", resp.StatusCode, body)
	}
	if resp, _ := getPage(t, off.URL()+"/site"); resp.Header.Get("X-Trace-Id") != "" {
		t.Fatal("X-Trace-Id answered with tracing off")
	}
}
