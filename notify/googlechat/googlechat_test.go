package googlechat_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/googlechat"
	"upmon/notify/notifytest"
)

func newChannel(tb testing.TB, webhook string, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := googlechat.Kind().New(&googlechat.Settings{WebhookURL: webhook}, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: `{"name":"spaces/S/messages/M"}`})
	if err := newChannel(t, srv.URL+"/v1/spaces/S/messages?key=K&token=T", notifytest.Env(time.Second)).Send(context.Background(), notifytest.DownMessage()); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/v1/spaces/S/messages" || r.Query["key"][0] != "K" || r.Query["token"][0] != "T" ||
		r.Header.Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Errorf("request %s %s %v %q", r.Method, r.Path, r.Query, r.Header.Get("Content-Type"))
	}
	want := `{"text":"*Shop is down*\nURL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC"}`
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, base+"/v1/spaces/S/messages?key=SECRETKEY&token=SECRETTOKEN", env)
		},
		Secrets: []string{"SECRETKEY", "SECRETTOKEN"},
	})
}

func TestFromURL(t *testing.T) {
	u, _ := url.Parse("googlechat://chat.googleapis.com/v1/spaces/S/messages?key=K&token=T")
	s, err := googlechat.FromURL(u)
	if err != nil || s.WebhookURL != "https://chat.googleapis.com/v1/spaces/S/messages?key=K&token=T" {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}
