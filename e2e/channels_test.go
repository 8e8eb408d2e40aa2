package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestChannelsOverHTTP creates a channel, routes a site to it, and checks
// that the down and up reach it (not the implicit default Slack webhook),
// that the secret never comes back, that a bad setting is a 400 naming
// the field, and that GET shows the delivery status.
func TestChannelsOverHTTP(t *testing.T) {
	t.Parallel()
	m, c, implicit, target := startWithSlack(t, apptest.Config(t), app.Hooks{})
	_ = m
	ch := apptest.NewSlack(t)
	status, body := c.Do("POST", "/channels", `{"name":"ops","kind":"slack","settings":{"webhook_url":"ftp://x"}}`)
	if status != 400 || !strings.Contains(body, `"field":"settings.webhook_url"`) {
		t.Fatalf("bad setting: %d %s", status, body)
	}
	var created struct {
		ID       int64
		Settings map[string]any
	}
	c.JSON("POST", "/channels", `{"name":"ops","kind":"slack","events":["down","up"],"settings":{"webhook_url":"`+ch.URL+`"}}`, &created)
	if got := fmt.Sprint(created.Settings["webhook_url"]); strings.Contains(got, "XXXXXXXX") || !strings.HasSuffix(got, "/T000/B000/••••") {
		t.Fatalf("webhook_url shown as %q", got)
	}
	c.JSON("PATCH", "/site/1", fmt.Sprintf(`{"channels":[%d]}`, created.ID), nil)
	if _, kinds := c.Do("GET", "/channels/kinds", ""); !strings.Contains(kinds, `"name":"pagerduty"`) || !strings.Contains(kinds, `"routing_key"`) {
		t.Fatalf("GET /channels/kinds = %s", kinds)
	}

	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)
	if got := ch.WaitFor(1, 10*time.Second); len(got) != 1 || !strings.Contains(got[0], "is down!*") {
		t.Fatalf("channel got %q", got)
	}
	target.SetStatus(200)
	c.JSON("POST", "/check/1", "", nil)
	if got := ch.WaitFor(2, 10*time.Second); len(got) != 2 || !strings.Contains(got[1], "is back up.*") {
		t.Fatalf("channel got %q", got)
	}
	time.Sleep(settle)
	for _, msg := range implicit.Messages() {
		if strings.Contains(msg, "is down!") {
			t.Fatalf("the implicit Slack channel got the down of a site that names its channels: %q", implicit.Messages())
		}
	}
	_, got := c.Do("GET", fmt.Sprintf("/channels/%d", created.ID), "")
	if strings.Contains(got, "XXXXXXXX") || !strings.Contains(got, `"last_success_at":"`) || !strings.Contains(got, `"pending":0`) {
		t.Fatalf("GET /channels/%d = %s", created.ID, got)
	}
	if _, metrics := c.Do("GET", "/metrics", ""); !strings.Contains(metrics, fmt.Sprintf(`upmon_channel_messages_total{channel="%d",result="sent"} 2`, created.ID)) {
		t.Fatalf("/metrics has no per-channel count of sent messages")
	}
	var test struct{ Status string }
	c.JSON("POST", fmt.Sprintf("/channels/%d/test", created.ID), "", &test)
	if test.Status != "sent" {
		t.Fatalf("test-send: %+v", test)
	}
	if got := ch.WaitFor(3, 10*time.Second); len(got) != 3 || !strings.Contains(got[2], "[test]") {
		t.Fatalf("channel got %q", got)
	}
	// A bad template is a 400 naming the line.
	status, body = c.Do("PATCH", fmt.Sprintf("/channels/%d", created.ID), `{"template":"ok\n{{.Site"}`)
	if status != 400 || !strings.Contains(body, "template: line 2:") || !strings.Contains(body, `"field":"template"`) {
		t.Fatalf("bad template: %d %s", status, body)
	}
}

// TestAckStopsRemindersOverHTTP acknowledges an open incident through the
// API: both channels told of it (the implicit Slack channel and "ops")
// have it acknowledged; acknowledging again finds nothing open.
func TestAckStopsRemindersOverHTTP(t *testing.T) {
	t.Parallel()
	_, c, _, target := startWithSlack(t, apptest.Config(t), app.Hooks{})
	ch := apptest.NewSlack(t)
	c.JSON("POST", "/channels", `{"name":"ops","kind":"slack","default":true,"remind_every":"1h","settings":{"webhook_url":"`+ch.URL+`"}}`, nil)
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)
	ch.WaitFor(1, 10*time.Second)
	var alerts struct {
		Alerts []struct {
			Incident string
			AckedAt  *time.Time `json:"acked_at"`
		}
	}
	c.JSON("GET", "/site/1/alerts", "", &alerts)
	if len(alerts.Alerts) != 2 || alerts.Alerts[0].AckedAt != nil || alerts.Alerts[1].AckedAt != nil ||
		alerts.Alerts[0].Incident != alerts.Alerts[1].Incident {
		t.Fatalf("alerts before ack (one per channel told, one incident): %+v", alerts)
	}
	c.JSON("POST", "/site/1/incidents/"+alerts.Alerts[0].Incident+"/ack", "", nil)
	c.JSON("GET", "/site/1/alerts", "", &alerts)
	if len(alerts.Alerts) != 2 || alerts.Alerts[0].AckedAt == nil || alerts.Alerts[1].AckedAt == nil {
		t.Fatalf("not acknowledged: %+v", alerts)
	}
	if status, body := c.Do("POST", "/site/1/incidents/open/ack", ""); status != 404 {
		t.Fatalf("second ack: %d %s", status, body)
	}
}

// TestDashboardAcknowledgesIncident uses the site page's button: the
// ongoing incident shows "Acknowledge", the form acknowledges it, and the
// page then shows when.
func TestDashboardAcknowledgesIncident(t *testing.T) {
	t.Parallel()
	m, c, _, target := startWithSlack(t, apptest.Config(t), app.Hooks{})
	ch := apptest.NewSlack(t)
	c.JSON("POST", "/channels", `{"name":"ops","kind":"slack","default":true,"settings":{"webhook_url":"`+ch.URL+`"}}`, nil)
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)
	ch.WaitFor(1, 10*time.Second)
	_, page := c.Do("GET", "/frontend/sites/1", "")
	i := strings.Index(page, `name="incident" value="`)
	if i < 0 || !strings.Contains(page, ">Acknowledge</button>") {
		t.Fatalf("no acknowledge button on the site page")
	}
	inc, _, _ := strings.Cut(page[i+len(`name="incident" value="`):], `"`)
	req, _ := http.NewRequest("POST", m.URL()+"/frontend/sites/1/ack", strings.NewReader("incident="+inc))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST ack = %d", resp.StatusCode)
	}
	_, page = c.Do("GET", "/frontend/sites/1?msg=acked&site=1", "")
	if !strings.Contains(page, `class="acked">acknowledged`) || strings.Contains(page, ">Acknowledge</button>") {
		t.Fatalf("the page does not show the acknowledgement")
	}
}

// With --deny-private-targets, a channel cannot reach a private address
// either (no SSRF through a webhook URL): the test-send fails and the
// loopback service sees nothing.
func TestChannelsObeyDenyPrivateTargets(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.DenyPrivateTargets = true
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	ch := apptest.NewSlack(t)
	var created struct{ ID int64 }
	c.JSON("POST", "/channels", `{"name":"inner","kind":"slack","settings":{"webhook_url":"`+ch.URL+`"}}`, &created)
	var res struct{ Status, Error string }
	c.JSON("POST", fmt.Sprintf("/channels/%d/test", created.ID), "", &res)
	if res.Status != "failed" || ch.Requests() != 0 {
		t.Fatalf("test-send to loopback = %+v, %d requests", res, ch.Requests())
	}
}
