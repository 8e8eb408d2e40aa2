package mattermost_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/mattermost"
	"upmon/notify/notifytest"
)

func newChannel(tb testing.TB, s *mattermost.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := mattermost.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: "ok"})
	ch := newChannel(t, &mattermost.Settings{WebhookURL: srv.URL + "/hooks/KEY", Channel: "ops", Username: "upmon"}, notifytest.Env(time.Second))
	if err := ch.Send(context.Background(), notifytest.DownMessage()); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/hooks/KEY" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	want := `{"text":"**Shop is down**\nURL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC","channel":"ops","username":"upmon"}`
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &mattermost.Settings{WebhookURL: base + "/hooks/SECRETKEY"}, env)
		},
		Secrets: []string{"SECRETKEY"},
	})
}

func TestFromURL(t *testing.T) {
	u, _ := url.Parse("mattermost://bot@chat.example.com/KEY/alerts")
	s, err := mattermost.FromURL(u)
	if err != nil || s.WebhookURL != "https://chat.example.com/hooks/KEY" || s.Channel != "alerts" || s.Username != "bot" {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}
