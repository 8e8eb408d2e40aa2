package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
	"upmon/notify/webhook"
)

func newChannel(tb testing.TB, s *webhook.Settings, env notify.Env) notify.Channel {
	tb.Helper()
	ch, err := webhook.Kind().New(s, env)
	if err != nil {
		tb.Fatal(err)
	}
	return ch
}

func TestSendExactRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 204})
	ch := newChannel(t, &webhook.Settings{URL: srv.URL + "/hooks/upmon?token=abc", Headers: map[string]string{"Authorization": "Bearer xyz"}}, notifytest.Env(time.Second))
	m := notifytest.DownMessage()
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	if r.Method != "POST" || r.Path != "/hooks/upmon" || r.Query["token"][0] != "abc" {
		t.Errorf("request %s %s %v", r.Method, r.Path, r.Query)
	}
	for k, v := range map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer xyz", "X-Upmon-Event": "down",
		"X-Upmon-Delivery": webhook.DeliveryID(m), "X-Upmon-Signature": "", "X-Upmon-Timestamp": "",
	} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	want := `{"version":1,"id":"` + webhook.DeliveryID(m) + `","event":"down","test":false,"time":"2026-12-01T10:00:00Z","summary":"Shop is down",` +
		`"text":"Shop is down\nURL: https://shop.example.com/\nReason: HTTP 503 after 3 failed checks\nIncident: https://upmon.example.com/incidents/42\nTime: 2026-12-01 10:00:00 UTC",` +
		`"site":{"id":7,"name":"Shop","url":"https://shop.example.com/"},"state":"down","reason":"HTTP 503 after 3 failed checks",` +
		`"incident":{"id":"42","link":"https://upmon.example.com/incidents/42"},"group":[]}`
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
}

// TestSignatureVerifiesAsAReceiverWould checks the signature the way a
// receiver does, with crypto/hmac over the timestamp header, a dot and the
// raw body, without upmon's code.
func TestSignatureVerifiesAsAReceiverWould(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200})
	ch := newChannel(t, &webhook.Settings{URL: srv.URL + "/in", Secret: "s3cret"}, notifytest.Env(time.Second))
	if err := ch.Send(context.Background(), notifytest.DownMessage()); err != nil {
		t.Fatal(err)
	}
	r := srv.Next(t)
	ts := r.Header.Get("X-Upmon-Timestamp")
	if ts != strconv.FormatInt(notifytest.Now().Unix(), 10) {
		t.Errorf("timestamp %q, want the send time", ts)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(ts + "." + string(r.Body)))
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); r.Header.Get("X-Upmon-Signature") != want {
		t.Errorf("signature %q, want %q", r.Header.Get("X-Upmon-Signature"), want)
	}
	now := notifytest.Now()
	if err := webhook.Verify("s3cret", r.Header, r.Body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := webhook.Verify("s3cret", r.Header, append(r.Body, ' '), now, 5*time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("tampered body: %v", err)
	}
	if err := webhook.Verify("other", r.Header, r.Body, now, 5*time.Minute); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := webhook.Verify("s3cret", r.Header, r.Body, now.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, webhook.ErrStale) {
		t.Errorf("replayed later: %v", err)
	}
	h := r.Header.Clone()
	h.Del("X-Upmon-Signature")
	if err := webhook.Verify("s3cret", h, r.Body, now, 5*time.Minute); !errors.Is(err, webhook.ErrNoSignature) {
		t.Errorf("unsigned: %v", err)
	}
}

func TestGroupDocument(t *testing.T) {
	g := notify.Message{Time: notifytest.Now(), Group: []notify.GroupEntry{{SiteID: 1, URL: "https://a/", Event: notify.EventDown, State: "down", Time: notifytest.Now()}}}
	d := webhook.Build(g)
	if d.Event != "group" || d.Site != nil || len(d.Group) != 1 || d.Group[0].Site.ID != 1 {
		t.Errorf("group document %+v", d)
	}
}

func TestFailures(t *testing.T) {
	notifytest.Failures(t, notifytest.Case{
		New: func(tb testing.TB, base string, env notify.Env) notify.Channel {
			return newChannel(tb, &webhook.Settings{URL: base + "/in/SECRETPATH?key=SECRETKEY", Secret: "SECRETHMAC",
				Headers: map[string]string{"Authorization": "Bearer SECRETBEARER"}}, env)
		},
		Secrets: []string{"SECRETPATH", "SECRETKEY", "SECRETHMAC", "SECRETBEARER"},
	})
}

func TestSettingsAndURL(t *testing.T) {
	for raw, field := range map[string]string{
		`{}`:                                  "url",
		`{"url":"https://x/","method":"GET"}`: "method",
		`{"url":"https://x/","headers":{"X-Upmon-Event":"x"}}`:         "headers.X-Upmon-Event",
		`{"url":"https://x/","headers":{"content-type":"text/plain"}}`: "headers.content-type",
		`{"url":"https://x/","headers":{"A":"b\r\nC: d"}}`:             "headers.A",
		`{"url":"https://x/","headers":{"A B":"c"}}`:                   "headers",
	} {
		if _, err := webhook.Kind().Decode([]byte(raw)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, field)
		}
	}
	u, _ := url.Parse("generic://hooks.example.com/in/upmon?@Authorization=Bearer+xyz&method=PUT")
	s, err := webhook.FromURL(u)
	if err != nil || s.URL != "https://hooks.example.com/in/upmon" || s.Method != "PUT" || s.Headers["Authorization"] != "Bearer xyz" {
		t.Errorf("FromURL = %+v, %v", s, err)
	}
	u, _ = url.Parse("generic://hooks.example.com/in?template=json")
	if _, err := webhook.FromURL(u); err == nil {
		t.Error("template accepted")
	}
}
