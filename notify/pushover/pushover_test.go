package pushover_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/pushover"
)

func newChannel(tb testing.TB, s *pushover.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := pushover.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: `{"status":1,"request":"r"}`})
	ch := newChannel(t, &pushover.Settings{Token: "apptoken", UserKey: "userkey", Device: "phone", APIURL: srv.URL}, notifytest.Env(time.Second))
	if err := ch.Send(context.Background(), notifytest.DownMessage()); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/1/messages.json" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request %s %s %q", r.Method, r.Path, r.Header.Get("Content-Type"))
	}
	got, err := url.ParseQuery(string(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"token": {"apptoken"}, "user": {"userkey"}, "device": {"phone"}, "title": {"Shop is down"}, "priority": {"1"},
		"message":   {"URL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC"},
		"timestamp": {"1796119200"}, "url": {"https://upmon.example.com/incidents/42"}, "url_title": {"Open incident"},
	}
	if got.Encode() != want.Encode() {
		t.Errorf("form\n%v\nwant\n%v", got, want)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &pushover.Settings{Token: "SECRETAPPTOKEN", UserKey: "SECRETUSERKEY", APIURL: base}, env)
		},
		Secrets: []string{"SECRETAPPTOKEN", "SECRETUSERKEY"},
	})
}

func TestSettingsAndURL(t *testing.T) {
	for raw, field := range map[string]string{
		`{"user_key":"u"}`: "token",
		`{"token":"t"}`:    "user_key",
		`{"token":"t","user_key":"u","priority":2}`: "priority",
	} {
		if _, err := pushover.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	u, _ := url.Parse("pushover://shoutrrr:apptoken@userkey/?devices=phone&priority=-1")
	s, err := pushover.FromURL(u)
	if err != nil || s.Token != "apptoken" || s.UserKey != "userkey" || s.Device != "phone" || s.Priority == nil || *s.Priority != -1 {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}
