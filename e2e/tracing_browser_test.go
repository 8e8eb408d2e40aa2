package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestBrowserTracePage follows, in a real browser, a site's incidents link
// to its recent traces and opens the check's trace: the waterfall draws a
// bar per span, styled by the dashboard's stylesheet under its strict CSP,
// and the navigation marks the Traces page.
func TestBrowserTracePage(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.Tracing = true
	m := apptest.Start(t, cfg, app.Hooks{})
	base := m.URL()
	c := apptest.Client{Base: base, TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/"}`, nil)
	waitChecked(t, c, "1")
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)

	b := newBrowser(t, 1366, 900)
	b.open(base + "/frontend/sites/1")
	b.do(chromedp.Click(chromedp.CSS("#incidents a.site-traces")))
	b.waitFor(`location.search === "?site=1" && document.querySelector("table.traces")`, 10*time.Second)
	if eval[string](b, `document.querySelector(".top nav a[aria-current]").textContent`) != "Traces" {
		t.Error("the navigation does not mark the traces page")
	}
	b.waitFor(`[...document.querySelectorAll("table.traces a")].some(a => a.textContent === "POST /check/{siteID}")`, 10*time.Second)
	eval[bool](b, `([...document.querySelectorAll("table.traces a")].find(a => a.textContent === "POST /check/{siteID}").click(), true)`)
	b.waitFor(`document.querySelector("svg.waterfall rect")`, 10*time.Second)
	if n := eval[int](b, `document.querySelectorAll("svg.waterfall rect").length`); n < 4 {
		t.Fatalf("waterfall draws %d bars, want the request, the check, its transaction and outbox insert", n)
	}
	if !eval[bool](b, `[...document.querySelectorAll("svg.waterfall rect")].every(r => r.getBoundingClientRect().width > 0)`) {
		t.Error("a span's bar has no width")
	}
	// The stylesheet (not an inline style, which the CSP forbids) colours
	// the bars: the default SVG fill is black.
	if fill := eval[string](b, `getComputedStyle(document.querySelector("svg.waterfall rect")).fill`); fill == "rgb(0, 0, 0)" || fill == "" {
		t.Errorf("bars are not styled: fill %q", fill)
	}
	b.screenshot("traces")
	b.noDialogs()
}
