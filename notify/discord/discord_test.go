package discord_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/discord"
	"upmon/notify/notifytest"
)

func newChannel(tb testing.TB, s *discord.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := discord.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 204})
	ch := newChannel(t, &discord.Settings{WebhookURL: srv.URL + "/api/webhooks/123/TOKEN", Username: "upmon", ThreadID: "99"}, notifytest.Env(time.Second))
	if err := ch.Send(context.Background(), notifytest.DownMessage()); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/api/webhooks/123/TOKEN" || r.Query["thread_id"][0] != "99" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %v %q", r.Method, r.Path, r.Query, r.Header.Get("Content-Type"))
	}
	var got map[string]any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := `{"allowed_mentions":{"parse":[]},"content":"Shop is down","embeds":[{"color":14026000,"description":"URL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC","timestamp":"2026-12-01T10:00:00Z","title":"Shop is down","url":"https://upmon.example.com/incidents/42"}],"username":"upmon"}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("body\n%s\nwant\n%s", b, want)
	}
}

func TestRetryAfterFromBody(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 429, Body: `{"message":"You are being rate limited.","retry_after":1.5,"global":false}`})
	err := newChannel(t, &discord.Settings{WebhookURL: srv.URL + "/api/webhooks/1/T"}, notifytest.Env(time.Second)).Send(context.Background(), notifytest.DownMessage())
	if d, ok := notify.RetryAfter(err); d != 1500*time.Millisecond || !ok {
		t.Errorf("RetryAfter = %v, %v (%v)", d, ok, err)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &discord.Settings{WebhookURL: base + "/api/webhooks/123/SECRETTOKEN"}, env)
		},
		Secrets: []string{"SECRETTOKEN"},
	})
}

func TestSettingsAndURL(t *testing.T) {
	if _, err := discord.Kind().Decode([]byte(`{"webhook_url":"https://discord.com/api/webhooks/1/t","avatar_url":"nope"}`)); err == nil || !strings.HasPrefix(err.Error(), "avatar_url:") {
		t.Errorf("bad avatar: %v", err)
	}
	u, _ := url.Parse("discord://tok@123456?username=upmon&thread_id=7")
	s, err := discord.FromURL(u)
	if err != nil || s.WebhookURL != "https://discord.com/api/webhooks/123456/tok" || s.Username != "upmon" || s.ThreadID != "7" {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
}
