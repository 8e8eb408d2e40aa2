package opsgenie_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/opsgenie"
)

const apiKey = "eb243592-faa2-4ba2-a551-1afdf565c889"

func newChannel(tb testing.TB, s *opsgenie.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := opsgenie.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestCreateThenCloseByAlias(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 202, Body: `{"result":"Request will be processed","took":0.1,"requestId":"r"}`})
	ch := newChannel(t, &opsgenie.Settings{APIKey: apiKey, Tags: []string{"prod"}, APIURL: srv.URL}, notifytest.Env(time.Second))
	down := notifytest.DownMessage()
	up := down
	up.Event, up.Reason = notify.EventUp, ""
	for _, m := range []notify.Message{down, up} {
		if err := ch.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	create, cl := srv.Next(t), srv.Next(t)
	for _, r := range []notifytest.Request{create, cl} {
		if r.Method != "POST" || r.Header.Get("Authorization") != "GenieKey "+apiKey || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %v", r.Method, r.Path, r.Header)
		}
	}
	if create.Path != "/v2/alerts" || len(create.Query) != 0 {
		t.Errorf("create path %s", create.Path)
	}
	want := `{"message":"Shop is down","alias":"upmon-site-7-down-42","description":"URL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC","details":{"event":"down","incident":"https://upmon.example.com/incidents/42","url":"https://shop.example.com/"},"entity":"https://shop.example.com/","source":"upmon","priority":"P1","tags":["upmon","down","prod"]}`
	if string(create.Body) != want {
		t.Errorf("create\n%s\nwant\n%s", create.Body, want)
	}
	if cl.Path != "/v2/alerts/upmon-site-7-down-42/close" || cl.Query["identifierType"][0] != "alias" {
		t.Errorf("close %s %v", cl.Path, cl.Query)
	}
	if want := `{"note":"Shop is back up","source":"upmon"}`; string(cl.Body) != want {
		t.Errorf("close body %s, want %s", cl.Body, want)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &opsgenie.Settings{APIKey: apiKey, APIURL: base}, env)
		},
		Secrets: []string{apiKey},
	})
}

func TestSettingsAndURL(t *testing.T) {
	for raw, field := range map[string]string{
		`{}`:                              "api_key",
		`{"api_key":"k","priority":"P9"}`: "priority",
		`{"api_key":"k","tags":"x"}`:      "tags",
	} {
		if _, err := opsgenie.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	u, _ := url.Parse("opsgenie://api.eu.opsgenie.com/" + apiKey + "?priority=P2&tags=a,b")
	s, err := opsgenie.FromURL(u)
	if err != nil || s.APIKey != apiKey || s.APIURL != "https://api.eu.opsgenie.com" || s.Priority != "P2" || len(s.Tags) != 2 {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}
