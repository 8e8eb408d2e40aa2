package matrix_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/matrix"
	"upmon/notify/notifytest"
)

func newChannel(tb testing.TB, s *matrix.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := matrix.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: `{"event_id":"$e"}`})
	ch := newChannel(t, &matrix.Settings{HomeserverURL: srv.URL, AccessToken: "syt_token", RoomID: "!room:example.org"}, notifytest.Env(time.Second))
	m := notifytest.DownMessage()
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	wantPath := "/_matrix/client/v3/rooms/%21room:example.org/send/m.room.message/" + matrix.TxnID(m)
	if r.Method != "PUT" || r.RawPath != wantPath || r.Header.Get("Authorization") != "Bearer syt_token" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s (want %s) %v", r.Method, r.RawPath, wantPath, r.Header)
	}
	want := `{"msgtype":"m.text","body":"Shop is down\nURL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC","format":"org.matrix.custom.html","formatted_body":"\u003cb\u003eShop is down\u003c/b\u003e\u003cbr\u003eURL: https://shop.example.com/\u003cbr\u003eReason: HTTP 503 after 3 failed checks\u003cbr\u003eIncident: https://upmon.example.com/incidents/42\u003cbr\u003eTime: 2026-12-01 10:00:00 UTC"}`
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
}

func TestTxnIDIsStablePerMessage(t *testing.T) {
	m := notifytest.DownMessage()
	up := m
	up.Event = notify.EventUp
	if matrix.TxnID(m) != matrix.TxnID(notifytest.DownMessage()) || matrix.TxnID(m) == matrix.TxnID(up) {
		t.Error("txn id is not one per message")
	}
}

func TestRetryAfterFromBody(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 429, Body: `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":2500}`})
	err := newChannel(t, &matrix.Settings{HomeserverURL: srv.URL, AccessToken: "t", RoomID: "!r:s"}, notifytest.Env(time.Second)).Send(context.Background(), notifytest.DownMessage())
	if d, ok := notify.RetryAfter(err); d != 2500*time.Millisecond || !ok {
		t.Errorf("RetryAfter = %v, %v (%v)", d, ok, err)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &matrix.Settings{HomeserverURL: base, AccessToken: "SECRETTOKEN", RoomID: "!r:s"}, env)
		},
		Secrets: []string{"SECRETTOKEN"},
	})
}

func TestSettingsAndURL(t *testing.T) {
	for raw, field := range map[string]string{
		`{"access_token":"t","room_id":"!r:s"}`:                                          "homeserver_url",
		`{"homeserver_url":"https://m.example","room_id":"!r:s"}`:                        "access_token",
		`{"homeserver_url":"https://m.example","access_token":"t","room_id":"#alias:s"}`: "room_id",
	} {
		if _, err := matrix.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	u, _ := url.Parse("matrix://:syt_token@matrix.example.org?rooms=!room:example.org")
	s, err := matrix.FromURL(u)
	if err != nil || s.HomeserverURL != "https://matrix.example.org" || s.AccessToken != "syt_token" || s.RoomID != "!room:example.org" {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
	u, _ = url.Parse("matrix://user:SECRETPASS@matrix.example.org?rooms=!room:example.org")
	if _, err := matrix.FromURL(u); err == nil || strings.Contains(err.Error(), "SECRETPASS") {
		t.Errorf("password form: %v", err)
	}
}
