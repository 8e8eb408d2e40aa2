package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestImplicitSlackStorm: 30 sites go down at once and the Slack webhook
// (the SlackWebhookURL secret, nothing else configured) takes 2 s per
// message. The implicit channel groups what waits instead of sending 30
// messages four at a time: every site's down arrives exactly once, in a
// handful of messages.
func TestImplicitSlackStorm(t *testing.T) {
	t.Parallel()
	const sites = 30
	slack := apptest.NewSlack(t)
	slack.SetDelay(2 * time.Second)
	cfg := apptest.Config(t)
	cfg.CheckInterval = time.Hour // only the checks below
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	var urls []string
	for i := range sites {
		u := fmt.Sprintf("%s/storm%02d", target.URL, i)
		urls = append(urls, u)
		c.JSON("POST", "/site", `{"url":"`+u+`"}`, nil)
	}
	for i := range sites {
		waitChecked(t, c, fmt.Sprint(i+1))
	}
	target.SetStatus(503)
	c.JSON("POST", "/checkall", "", nil) // the tutorial's: every site, at once

	told := func() map[string]int {
		n := map[string]int{}
		for _, msg := range slack.Messages() {
			for _, line := range strings.Split(msg, "\n") {
				for _, u := range urls {
					// A single message: "*URL is down!*"; a grouped one: "• URL: down (…)".
					if strings.Contains(line, slackEscape(u)+" is down!*") || strings.Contains(line, "• "+slackEscape(u)+": down") {
						n[u]++
					}
				}
			}
		}
		return n
	}
	apptest.Eventually(t, 90*time.Second, "every site's down told", func() bool { return len(told()) == sites })
	time.Sleep(settle) // a duplicate would arrive now
	for u, n := range told() {
		if n != 1 {
			t.Errorf("%s told %d times", u, n)
		}
	}
	if n := slack.Requests(); n > 10 {
		t.Errorf("Slack got %d messages for %d sites; want them grouped (≤ 10)", n, sites)
	} else {
		t.Logf("%d sites' downs in %d Slack messages", sites, n)
	}
}
