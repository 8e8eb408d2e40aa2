package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestBrowserOverviewMarksLocationsThatDisagree checks a site from the
// serve process's own location and from an agent's (eu), against a
// target that fails eu's requests only: in a real browser, the
// overview's row of the site shows a visible "Locations disagree" mark
// whose tooltip names eu down and local up.
func TestBrowserOverviewMarksLocationsThatDisagree(t *testing.T) {
	t.Parallel()
	b := newBrowser(t, 1280, 900)
	ns := startTestNATS(t, &server.Options{JetStream: true, StoreDir: t.TempDir()})
	cfg := apptest.Config(t)
	cfg.NATSURL = ns.ClientURL()
	cfg.Locations = []string{"local", "eu"}
	cfg.Heartbeat = 200 * time.Millisecond
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	startAgent(t, cfg.NATSURL, cfg.NATSPrefix, "eu", "127.0.0.2")
	apptest.Eventually(t, 10*time.Second, "eu live", func() bool { return locationStates(t, c)["eu"] == "live" })

	target := &byCaller{status: map[string]int{"127.0.0.2": 503}}
	c.JSON("POST", "/site", `{"url":"`+apptest.NewHandlerServer(t, target)+`/health","interval":"1s","name":"Split site"}`, nil)
	apptest.Eventually(t, 15*time.Second, "eu sees the site down, local up", func() bool {
		l := siteLocations(t, c, "1")
		return l["eu"].State == "down" && l["local"].State == "up"
	})

	b.open(m.URL() + "/frontend/")
	b.waitFor(`document.querySelector('#site-1 .pill.split')`, 10*time.Second)
	title := eval[string](b, `document.querySelector('#site-1 .pill.split').title`)
	if title != "Locations disagree: down from eu; up from local" {
		t.Errorf("the mark's tooltip is %q", title)
	}
	shown := eval[bool](b, `(() => { const r = document.querySelector('#site-1 .pill.split').getBoundingClientRect();
		return r.width > 0 && r.height > 0 && getComputedStyle(document.querySelector('#site-1 .pill.split')).visibility === 'visible'; })()`)
	text := eval[string](b, `document.querySelector('#site-1 .c-name').textContent`)
	if !shown || !strings.Contains(text, "Locations disagree") {
		t.Errorf("the mark is not shown in the row (visible %v, cell %q)", shown, text)
	}
}
