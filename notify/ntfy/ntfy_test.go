package ntfy_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/ntfy"
)

func newChannel(tb testing.TB, s *ntfy.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := ntfy.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: `{"id":"x"}`})
	ch := newChannel(t, &ntfy.Settings{Topic: "upmon-alerts", Token: "tk_secret", APIURL: srv.URL + "/sub/"}, notifytest.Env(time.Second))
	m := notifytest.DownMessage()
	m.SiteName = "Café"
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/sub/upmon-alerts" || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	for k, v := range map[string]string{
		"Title":         "=?utf-8?b?Q2Fmw6kgaXMgZG93bg==?=",
		"Priority":      "4",
		"Tags":          "rotating_light,upmon",
		"Click":         "https://upmon.example.com/incidents/42",
		"Authorization": "Bearer tk_secret",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	want := "URL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC"
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
}

func TestBasicAuthAndUpPriority(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200})
	ch := newChannel(t, &ntfy.Settings{Topic: "t", Username: "u", Password: "p", APIURL: srv.URL}, notifytest.Env(time.Second))
	m := notifytest.DownMessage()
	m.Event, m.Test = notify.EventUp, true
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Header.Get("Authorization") != "Basic dTpw" || r.Header.Get("Priority") != "3" || r.Header.Get("Tags") != "white_check_mark,upmon,test" || r.Header.Get("Title") != "[test] Shop is back up" {
		t.Errorf("headers %v", r.Header)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &ntfy.Settings{Topic: "SECRETTOPIC", Token: "SECRETTOKEN", APIURL: base}, env)
		},
		Secrets: []string{"SECRETTOPIC", "SECRETTOKEN"},
	})
}

func TestSettingsAndURL(t *testing.T) {
	for raw, field := range map[string]string{
		`{}`:                           "topic",
		`{"topic":"a/b"}`:              "topic",
		`{"topic":"a","priority":9}`:   "priority",
		`{"topic":"a","username":"u"}`: "password",
		`{"topic":"a","token":"t","username":"u","password":"p"}`: "token",
	} {
		if _, err := ntfy.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	u, _ := url.Parse("ntfy://user:pass@ntfy.example.com/alerts?priority=5")
	s, err := ntfy.FromURL(u)
	if err != nil || s.APIURL != "https://ntfy.example.com" || s.Topic != "alerts" || s.Username != "user" || s.Password != "pass" || s.Priority != 5 {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}
