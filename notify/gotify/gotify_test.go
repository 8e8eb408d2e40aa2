package gotify_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/gotify"
	"upmon/notify/notifytest"
)

func newChannel(tb testing.TB, s *gotify.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := gotify.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: `{"id":1}`})
	ch := newChannel(t, &gotify.Settings{ServerURL: srv.URL + "/gotify/", Token: "Aapptoken"}, notifytest.Env(time.Second))
	if err := ch.Send(context.Background(), notifytest.DownMessage()); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/gotify/message" || r.Header.Get("X-Gotify-Key") != "Aapptoken" || r.Header.Get("Content-Type") != "application/json" || len(r.Query) != 0 {
		t.Errorf("request %s %s %v", r.Method, r.Path, r.Header)
	}
	want := `{"title":"Shop is down","message":"URL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC","priority":8,"extras":{"client::display":{"contentType":"text/plain"},"client::notification":{"click":{"url":"https://upmon.example.com/incidents/42"}}}}`
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &gotify.Settings{ServerURL: base, Token: "SECRETTOKEN"}, env)
		},
		Secrets: []string{"SECRETTOKEN"},
	})
}

func TestSettingsAndURL(t *testing.T) {
	for raw, field := range map[string]string{
		`{"token":"t"}`:                      "server_url",
		`{"server_url":"https://g.example"}`: "token",
		`{"server_url":"https://g.example","token":"t","priority":11}`: "priority",
	} {
		if _, err := gotify.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	u, _ := url.Parse("gotify://g.example.com:8443/sub/Aapptoken12345?priority=2")
	s, err := gotify.FromURL(u)
	if err != nil || s.ServerURL != "https://g.example.com:8443/sub" || s.Token != "Aapptoken12345" || s.Priority == nil || *s.Priority != 2 {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}
