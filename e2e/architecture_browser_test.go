package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestBrowserArchitecture opens /frontend/architecture at 1366 px and on a
// phone: the picture drawn from the catalog is inlined, lists every topic,
// and the counters on its arrows fill from the live stream once a site is
// added (site → site-added → check-site).
func TestBrowserArchitecture(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	m := apptest.Start(t, cfg, app.Hooks{})
	base := m.URL()
	c := apptest.Client{Base: base, TB: t}
	target := apptest.NewTarget(t)

	b := newBrowser(t, 1366, 900)
	b.open(base + "/frontend/architecture")
	b.waitFor(`document.querySelector("#arch[data-inline=on] svg")`, 10*time.Second)
	for _, topic := range []string{"site-added", "uptime-transition", "cert-expiring"} {
		if !eval[bool](b, `!!document.querySelector("#arch svg #topic-`+topic+`")`) {
			t.Errorf("topic %s is not drawn", topic)
		}
	}
	if eval[string](b, `document.querySelector(".top nav a[aria-current]").textContent`) != "Architecture" {
		t.Error("the navigation does not mark the architecture page")
	}
	// At 1366 px the whole picture fits: no sideways scrolling, and text
	// is drawn at no less than 85 % of its size.
	if got := eval[bool](b, `(() => { const a = document.querySelector("#arch"); const s = a.querySelector("svg");
		return a.scrollWidth <= a.clientWidth && s.getBoundingClientRect().width >= 0.85 * s.viewBox.baseVal.width })()`); !got {
		t.Error("at 1366 px the picture does not fit, or is scaled too small")
	}

	c.JSON("POST", "/site", `{"url":"`+target.URL+`/up"}`, nil)
	counter := func(edge string) string {
		return `document.querySelector('#arch svg text.counter[data-edge="` + edge + `"]').textContent`
	}
	b.waitFor(counter("pub:site:site-added")+` === "1/min"`, 30*time.Second)
	b.waitFor(counter("sub:check-site")+` === "1/min"`, 30*time.Second)
	if got := eval[string](b, counter("pub:monitor:uptime-degraded")); !strings.HasSuffix(got, "/min") {
		t.Errorf("an idle arrow reads %q, want 0/min", got)
	}
	b.screenshot("architecture")
	b.noDialogs()

	// On a phone the picture keeps its size and scrolls sideways.
	p := b
	p.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	p.open(base + "/frontend/architecture")
	p.waitFor(`document.querySelector("#arch[data-inline=on] svg")`, 10*time.Second)
	if got := eval[bool](p, `(() => { const a = document.querySelector("#arch"); const s = a.querySelector("svg");
		return a.scrollWidth > a.clientWidth && s.getBoundingClientRect().width >= s.viewBox.baseVal.width })()`); !got {
		t.Error("on a phone the picture is shrunk instead of scrolled")
	}
	if eval[float64](p, `document.documentElement.scrollWidth`) > 375 {
		t.Error("on a phone the page itself scrolls sideways")
	}
	p.waitFor(counter("pub:site:site-added")+` === "1/min"`, 30*time.Second)
	p.screenshot("architecture-phone")
	p.do(chromedp.EmulateReset())
}
