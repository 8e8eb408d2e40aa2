package telegram_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/telegram"
)

const token = "123456789:AAsecretSECRETsecret_-x"

func newChannel(tb testing.TB, s *telegram.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := telegram.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: `{"ok":true,"result":{}}`})
	ch := newChannel(t, &telegram.Settings{BotToken: token, ChatID: "-100123", APIURL: srv.URL}, notifytest.Env(time.Second))
	m := notifytest.DownMessage()
	m.Reason = "HTTP 503 <Service Unavailable>"
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/bot"+token+"/sendMessage" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	want := `{"chat_id":"-100123","text":"\u003cb\u003eShop is down\u003c/b\u003e\nURL: https://shop.example.com/\nReason: HTTP 503 \u0026lt;Service Unavailable\u0026gt;\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}`
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
}

func TestRetryAfterFromBody(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 429, Body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}`})
	err := newChannel(t, &telegram.Settings{BotToken: token, ChatID: "1", APIURL: srv.URL}, notifytest.Env(time.Second)).Send(context.Background(), notifytest.DownMessage())
	if d, ok := notify.RetryAfter(err); d != 35*time.Second || !ok || notify.IsPermanent(err) {
		t.Errorf("RetryAfter = %v, %v (%v)", d, ok, err)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &telegram.Settings{BotToken: token, ChatID: "1", APIURL: base}, env)
		},
		Secrets: []string{token, "AAsecretSECRETsecret"},
	})
}

func TestSettingsAndURL(t *testing.T) {
	k := telegram.Kind()
	for raw, field := range map[string]string{
		`{"chat_id":"1"}`:                                 "bot_token",
		`{"bot_token":"nope","chat_id":"1"}`:              "bot_token",
		`{"bot_token":"1:a"}`:                             "chat_id",
		`{"bot_token":"1:a","chat_id":"1","api_url":"x"}`: "api_url",
	} {
		if _, err := k.Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") || strings.Contains(err.Error(), "nope") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	s, err := k.Decode([]byte(`{"bot_token":"1:a","chat_id":"1"}`))
	if err != nil || s.(*telegram.Settings).APIURL != telegram.DefaultAPIURL {
		t.Errorf("default api_url: %+v, %v", s, err)
	}
	u, _ := url.Parse("telegram://" + token + "@telegram?chats=@upmon_alerts&notification=no")
	got, err := telegram.FromURL(u)
	if err != nil || got.BotToken != token || got.ChatID != "@upmon_alerts" || !got.DisableNotification {
		t.Errorf("FromURL = %+v, %v", got, err)
	}
	u, _ = url.Parse("telegram://" + token + "@telegram?chats=1,2")
	if _, err := telegram.FromURL(u); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("two chats: %v", err)
	}
}

func TestLongGroupFitsTheLimit(t *testing.T) {
	var g []notify.GroupEntry
	for i := range 500 {
		g = append(g, notify.GroupEntry{SiteID: int64(i), URL: "https://site-" + strings.Repeat("x", 20) + ".example.com/", State: "down", Reason: "timeout"})
	}
	text := telegram.Text(notify.Message{Group: g})
	if n := len([]rune(text)); n > 4096 || !strings.HasSuffix(text, "\n…") || !strings.HasPrefix(text, "<b>500 sites changed state</b>") {
		t.Errorf("text of %d characters, ends %q", n, text[len(text)-10:])
	}
}
