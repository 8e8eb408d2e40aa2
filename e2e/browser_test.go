package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"upmon/site"

	"github.com/chromedp/chromedp"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestBrowserDashboard drives the dashboard in a real chromium: add a
// site through the form, see an API error inline, watch a site go down
// live, open its page, delete it, the public status page and badges, a
// script-injection URL, and live updates surviving a server restart.
func TestBrowserDashboard(t *testing.T) {
	t.Parallel()
	b := newBrowser(t, 1280, 900)
	cfg := apptest.Config(t)
	cfg.Addr = freeAddr(t) // the restart below comes back on the same address
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	m := apptest.Start(t, cfg, app.Hooks{})
	base := m.URL()
	c := apptest.Client{Base: base, TB: t}
	target := apptest.NewTarget(t)
	siteURL := target.URL + "/health"

	// "/" leads to the overview; the first Tab reaches the skip link.
	b.open(base + "/")
	if got := eval[string](b, `location.pathname + "|" + document.title`); got != "/frontend/|Overview · upmon" {
		t.Fatalf("start page = %q", got)
	}
	b.do(chromedp.KeyEvent("\t"))
	if got := eval[string](b, `document.activeElement.textContent`); got != "Skip to content" {
		t.Errorf("first Tab stop = %q, want the skip link", got)
	}

	// Add a site through the form; it is listed and its first check shows.
	b.do(chromedp.SendKeys(chromedp.CSS("#add-url"), siteURL), chromedp.Click(chromedp.CSS("#add-form button[type=submit]")))
	b.waitFor(`location.search.includes("msg=added") && [...document.querySelectorAll("tr.row a")].some(a => a.textContent === `+jsString(siteURL)+`)`, 10*time.Second)
	b.waitFor(`document.querySelector("#site-1").dataset.state === "up"`, 10*time.Second)

	// An invalid URL shows the API's error next to the input, without a reload.
	eval[int](b, `window.marker = 42`)
	b.do(chromedp.SetValue(chromedp.CSS("#add-url"), "ftp://example.com/x"), chromedp.Click(chromedp.CSS("#add-form button[type=submit]")))
	b.waitFor(`document.querySelector("#add-url-err").textContent.includes("scheme must be")`, 5*time.Second)
	if eval[int](b, `window.marker`) != 42 || eval[string](b, `document.querySelector("#add-url").getAttribute("aria-invalid")`) != "true" {
		t.Error("the error was not shown in place")
	}

	// With JavaScript off the plain form does the same, server-rendered.
	b.scriptsOff(true)
	b.do(chromedp.Navigate(base+"/frontend/"), chromedp.WaitVisible(chromedp.CSS("#add-url")),
		chromedp.SetValue(chromedp.CSS("#add-url"), "javascript:alert(1)"), chromedp.Click(chromedp.CSS("#add-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#add-url-err")))
	if got := eval[string](b, `location.pathname + "|" + document.querySelector("#add-url-err").textContent`); !strings.HasPrefix(got, "/frontend/sites|") || len(got) < len("/frontend/sites|")+5 {
		t.Errorf("no-JS add error = %q", got)
	}
	b.scriptsOff(false)

	// The target goes down: the open page shows it within a second.
	b.open(base + "/frontend/")
	b.waitFor(`document.querySelector("#live").textContent === "Live"`, 10*time.Second)
	eval[int](b, `window.marker = 7`)
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)
	start := time.Now()
	b.waitFor(`document.querySelector("#site-1").dataset.state === "down" && document.querySelector("#site-1 .st").textContent === "Down"`, time.Second)
	t.Logf("row turned Down %v after the check was recorded", time.Since(start).Round(time.Millisecond))
	if eval[int](b, `window.marker`) != 7 {
		t.Error("the page reloaded")
	}
	b.waitFor(`document.querySelector("#t-down").textContent === "1" && document.title.startsWith("(1 down)")`, 5*time.Second)

	// The site page has the chart with axes and units, and the incident.
	b.open(base + "/frontend/sites/1")
	b.waitFor(`document.querySelector("svg.chart .axis") && [...document.querySelectorAll("svg.chart text")].some(t => t.textContent === "ms")`, 5*time.Second)
	b.waitFor(`document.querySelector("#incidents").textContent.includes("ongoing")`, 5*time.Second)
	if got := eval[string](b, `document.title`); got != siteURL+" · upmon" {
		t.Errorf("site page title = %q", got)
	}
	target.SetStatus(200)
	for range 3 {
		c.JSON("POST", "/check/1", "", nil)
	}
	b.waitFor(`document.querySelector(".site-head").dataset.state === "up"`, 2*time.Second)
	b.open(base + "/frontend/sites/1")
	if n := eval[int](b, `document.querySelectorAll("#checks tbody tr").length`); n < 5 {
		t.Errorf("recent checks table has %d rows", n)
	}
	if eval[bool](b, `document.querySelector("#incidents tbody tr").textContent.includes("ongoing")`) {
		t.Error("the incident did not end")
	}

	// Badges render as images; the public status page has no controls.
	b.waitFor(`[...document.querySelectorAll(".badges img")].every(i => i.complete && i.naturalWidth > 20)`, 5*time.Second)
	resp, err := http.Get(base + "/badge/1/uptime.svg?window=30d")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("badge = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	b.open(base + "/status-page")
	if n := eval[int](b, `document.querySelectorAll("form, button, input, select, textarea").length`); n != 0 {
		t.Errorf("status page has %d controls", n)
	}
	if got := eval[string](b, `document.querySelector(".banner").textContent`); got != "All systems operational" {
		t.Errorf("status banner = %q", got)
	}

	// A few more sites with history make the screenshots worth looking at.
	fillForScreenshots(t, c)
	b.open(base + "/frontend/")
	b.screenshot("overview")
	b.open(base + "/frontend/sites/1?window=24h")
	b.screenshot("site")

	// On a phone the overview fits the screen.
	b.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	b.open(base + "/frontend/")
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("overview is %d px wide on a 375 px phone", w)
	}
	b.screenshot("overview-phone")
	b.do(chromedp.EmulateReset())

	// A URL carrying a script is text everywhere and never runs.
	evil := target.URL + `/"><script>alert(1)</script>`
	b.open(base + "/frontend/")
	b.do(chromedp.SetValue(chromedp.CSS("#add-url"), evil), chromedp.Click(chromedp.CSS("#add-form button[type=submit]")))
	b.waitFor(`[...document.querySelectorAll("tr.row a")].some(a => a.textContent === `+jsString(evil)+`)`, 10*time.Second)
	evilID := eval[string](b, `[...document.querySelectorAll("tr.row")].find(r => r.dataset.name === `+jsString(evil)+`).dataset.id`)
	b.waitFor(`document.querySelector("#live").textContent === "Live"`, 10*time.Second)
	c.JSON("POST", "/check/"+evilID, "", nil) // a live event carrying the site
	for _, p := range []string{"/frontend/", "/frontend/sites/" + evilID, "/frontend/sites/" + evilID + "/delete", "/status-page", "/badge/" + evilID + "/status.svg"} {
		b.do(chromedp.Navigate(base + p))
		b.waitFor(`document.readyState === "complete"`, 5*time.Second)
		if n := eval[int](b, `document.querySelectorAll("script:not([src])").length`); n != 0 {
			t.Errorf("%s has %d inline scripts", p, n)
		}
		// Public pages show the host and path only (never userinfo or a
		// query); the others show the whole URL. Either way, as text.
		shown := evil
		if p == "/status-page" {
			shown = site.PublicURL(evil)
		}
		if p != "/badge/"+evilID+"/status.svg" && !eval[bool](b, `document.body.textContent.includes(`+jsString(shown)+`)`) {
			t.Errorf("%s does not show %q as text", p, shown)
		}
	}
	time.Sleep(200 * time.Millisecond)
	b.noDialogs()

	// After a restart the open page reconnects and keeps updating.
	b.open(base + "/frontend/")
	b.waitFor(`document.querySelector("#live").textContent === "Live"`, 10*time.Second)
	eval[int](b, `window.marker = 9`)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	b.waitFor(`document.querySelector("#live").textContent !== "Live"`, 10*time.Second)
	m2 := apptest.Start(t, cfg, app.Hooks{})
	c = apptest.Client{Base: m2.URL(), TB: t}
	b.waitFor(`document.querySelector("#live").textContent === "Live"`, 15*time.Second)
	target.SetStatus(503)
	c.JSON("POST", "/check/1", "", nil)
	b.waitFor(`document.querySelector("#site-1").dataset.state === "down"`, 2*time.Second)
	if eval[int](b, `window.marker`) != 9 {
		t.Error("the page reloaded across the restart")
	}

	// Delete with a confirmation.
	b.do(chromedp.Click(chromedp.CSS(`a.del[data-id="1"]`)))
	b.waitFor(`document.querySelector("dialog.confirm-dialog").open && document.querySelector("#confirm-title").textContent === `+jsString("Delete "+siteURL+"?"), 5*time.Second)
	b.do(chromedp.Click(chromedp.CSS("#confirm-yes")))
	b.waitFor(`!document.querySelector("#site-1")`, 5*time.Second)
	if status, _ := c.Do("GET", "/site/1", ""); status != http.StatusNotFound {
		t.Errorf("GET /site/1 after delete = %d", status)
	}
	b.noDialogs()
}

// fillForScreenshots adds named sites with some history.
func fillForScreenshots(t *testing.T, c apptest.Client) {
	t.Helper()
	names := []string{"Shop", "API", "Docs", "Status webhook"}
	targets := make([]*apptest.Target, len(names))
	for i, name := range names {
		targets[i] = apptest.NewTarget(t)
		var s struct {
			ID int64 `json:"id"`
		}
		c.JSON("POST", "/site", fmt.Sprintf(`{"url":%q,"name":%q,"tags":["prod"]}`, targets[i].URL+"/", name), &s)
		for j := range 12 {
			code := 200
			if (i == 1 && j >= 9) || (i == 2 && j%5 == 4) {
				code = 503
			}
			targets[i].SetStatus(code)
			c.JSON("POST", fmt.Sprintf("/check/%d", s.ID), "", nil)
		}
	}
}
