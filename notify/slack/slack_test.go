package slack_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/slack"
)

func newChannel(tb testing.TB, webhook string, env notify.Env, extra ...func(*slack.Settings)) notify.Channel {
	tb.Helper()
	s := &slack.Settings{WebhookURL: webhook}
	for _, f := range extra {
		f(s)
	}
	ch, err := slack.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: "ok"})
	ch := newChannel(t, srv.URL+"/services/T0/B0/XXXX", notifytest.Env(time.Second), func(s *slack.Settings) {
		s.Username, s.IconEmoji = "upmon", ":rotating_light:"
	})
	m := notifytest.DownMessage()
	m.URL = "https://shop.example.com/?a=1&b=<2>"
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/services/T0/B0/XXXX" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %q", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"text":       "*https://shop.example.com/?a=1&amp;b=&lt;2&gt; is down!*\nHTTP 503 after 3 failed checks",
		"username":   "upmon",
		"icon_emoji": ":rotating_light:",
	}
	if len(got) != len(want) {
		t.Errorf("body %s", r.Body)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body[%q] = %q, want %q", k, got[k], v)
		}
	}
}

func TestTextIsTheTutorials(t *testing.T) {
	m := notify.Message{Event: notify.EventDown, URL: "https://a.example/"}
	if got := slack.Text(m); got != "*https://a.example/ is down!*" {
		t.Errorf("down: %q", got)
	}
	m.Event = notify.EventUp
	if got := slack.Text(m); got != "*https://a.example/ is back up.*" {
		t.Errorf("up: %q", got)
	}
	m.Test = true
	if got := slack.Text(m); !strings.HasPrefix(got, "[test] *https://a.example/ is back up.*") || !strings.Contains(got, "test notification") {
		t.Errorf("test: %q", got)
	}
	g := notify.Message{Group: []notify.GroupEntry{{URL: "https://a/", State: "down"}, {URL: "https://b/", State: "up"}}}
	if got := slack.Text(g); got != "*2 sites changed state*\n• https://a/: down\n• https://b/: up" {
		t.Errorf("group: %q", got)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, base+"/services/T0/B0/SECRETPART", env)
		},
		Secrets: []string{"SECRETPART"},
	})
}

func TestSettings(t *testing.T) {
	k := slack.Kind()
	if _, err := k.Decode([]byte(`{"webhook_url":"hooks.slack.com/x"}`)); err == nil || !strings.HasPrefix(err.Error(), "webhook_url:") {
		t.Errorf("bad URL: %v", err)
	}
	s, err := k.Decode([]byte(`{"webhook_url":"https://hooks.slack.com/services/T0/B0/XXXX"}`))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := k.Mask(s)
	if m["webhook_url"] != "https://hooks.slack.com/services/T0/B0/••••" {
		t.Errorf("masked %v", m["webhook_url"])
	}
}

func TestFromURL(t *testing.T) {
	u, _ := url.Parse("slack://hook:T00000000-B00000000-XXXXXXXXXXXXXXXXXXXXXXXX@webhook?botname=upmon&icon=:fire:")
	s, err := slack.FromURL(u)
	if err != nil {
		t.Fatal(err)
	}
	if s.WebhookURL != "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX" || s.Username != "upmon" || s.IconEmoji != ":fire:" {
		t.Errorf("FromURL = %+v", s)
	}
	u, _ = url.Parse("slack://xoxb:123456789012-1234567890123-4pT1aXXXXXXXXXXXXXXXXXXX@C001CH4NN3L")
	if _, err := slack.FromURL(u); err == nil {
		t.Error("API token accepted")
	}
	u, _ = url.Parse("slack://hook:SECRETSECRET@webhook")
	if _, err := slack.FromURL(u); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("bad token: %v", err)
	}
}
