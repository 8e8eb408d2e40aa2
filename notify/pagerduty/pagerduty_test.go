package pagerduty_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/pagerduty"
)

const key = "eb243592faa24ba2a5511afdf565c889"

func newChannel(tb testing.TB, s *pagerduty.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := pagerduty.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestTriggerThenResolveWithTheSameDedupKey(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 202, Body: `{"status":"success","message":"Event processed"}`})
	ch := newChannel(t, &pagerduty.Settings{RoutingKey: key, APIURL: srv.URL}, notifytest.Env(time.Second))
	down := notifytest.DownMessage()
	up := down
	up.Event, up.State, up.Reason, up.Time = notify.EventUp, "up", "", down.Time.Add(5*time.Minute)
	for _, m := range []notify.Message{down, up} {
		if err := ch.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	trig, res := srv.Next(t), srv.Next(t)
	for _, r := range []notifytest.Request{trig, res} {
		if r.Method != "POST" || r.Path != "/v2/enqueue" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s", r.Method, r.Path)
		}
	}
	want := `{"routing_key":"` + key + `","event_action":"trigger","dedup_key":"upmon-site-7-down-42","payload":{"summary":"Shop is down: HTTP 503 after 3 failed checks","source":"shop.example.com","severity":"critical","timestamp":"2026-12-01T10:00:00Z","component":"Shop","class":"down","custom_details":{"event":"down","incident_id":"42","reason":"HTTP 503 after 3 failed checks","url":"https://shop.example.com/"}},"client":"upmon","client_url":"https://upmon.example.com/incidents/42","links":[{"href":"https://upmon.example.com/incidents/42","text":"upmon incident"}]}`
	if string(trig.Body) != want {
		t.Errorf("trigger\n%s\nwant\n%s", trig.Body, want)
	}
	if want := `{"routing_key":"` + key + `","event_action":"resolve","dedup_key":"upmon-site-7-down-42"}`; string(res.Body) != want {
		t.Errorf("resolve\n%s\nwant\n%s", res.Body, want)
	}
}

func TestTestSendAndGroup(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 202})
	ch := newChannel(t, &pagerduty.Settings{RoutingKey: key, APIURL: srv.URL}, notifytest.Env(time.Second))
	m := notifytest.DownMessage()
	m.Test = true
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var a, b pagerduty.Event
	_ = json.Unmarshal(srv.Next(t).Body, &a)
	_ = json.Unmarshal(srv.Next(t).Body, &b)
	if a.EventAction != "trigger" || a.Payload.Severity != "info" || b.EventAction != "resolve" || a.DedupKey != b.DedupKey || !strings.HasSuffix(a.DedupKey, "-test") {
		t.Errorf("test-send gave %+v then %+v", a, b)
	}
	g := notify.Message{Group: []notify.GroupEntry{{SiteID: 1, Event: notify.EventDown, IncidentID: "5"}, {SiteID: 2, Event: notify.EventUp, IncidentID: "6"}}}
	if err := ch.Send(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(srv.Next(t).Body, &a)
	_ = json.Unmarshal(srv.Next(t).Body, &b)
	if a.EventAction != "trigger" || a.DedupKey != "upmon-site-1-down-5" || b.EventAction != "resolve" || b.DedupKey != "upmon-site-2-down-6" {
		t.Errorf("group gave %+v then %+v", a, b)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &pagerduty.Settings{RoutingKey: key, APIURL: base}, env)
		},
		Secrets: []string{key},
	})
}

func TestSettingsAndURL(t *testing.T) {
	for raw, field := range map[string]string{
		`{}`:                      "routing_key",
		`{"routing_key":"short"}`: "routing_key",
		`{"routing_key":"` + key + `","severity":"x"}`: "severity",
		`{"routing_key":"` + key + `","api_url":"x"}`:  "api_url",
	} {
		if _, err := pagerduty.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	u, _ := url.Parse("pagerduty://events.eu.pagerduty.com/" + key + "?severity=warning")
	s, err := pagerduty.FromURL(u)
	if err != nil || s.RoutingKey != key || s.APIURL != "https://events.eu.pagerduty.com" || s.Severity != "warning" {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}

// TestAcknowledgeUsesTheIncidentsDedupKey: acknowledging an incident in
// upmon sends PagerDuty "acknowledge" for the alert its down triggered.
func TestAcknowledgeUsesTheIncidentsDedupKey(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 202})
	ch := newChannel(t, &pagerduty.Settings{RoutingKey: key, APIURL: srv.URL}, notifytest.Env(time.Second))
	down := notifytest.DownMessage()
	ack := down
	ack.Event = notify.EventAcknowledged
	for _, m := range []notify.Message{down, ack} {
		if err := ch.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	var trig, a pagerduty.Event
	_ = json.Unmarshal(srv.Next(t).Body, &trig)
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/v2/enqueue" {
		t.Errorf("acknowledge request %s %s", r.Method, r.Path)
	}
	if want := `{"routing_key":"` + key + `","event_action":"acknowledge","dedup_key":"upmon-site-7-down-42"}`; string(r.Body) != want {
		t.Errorf("acknowledge\n%s\nwant\n%s", r.Body, want)
	}
	_ = json.Unmarshal(r.Body, &a)
	if trig.DedupKey != a.DedupKey {
		t.Errorf("trigger dedup_key %q, acknowledge %q", trig.DedupKey, a.DedupKey)
	}
}
