package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/notify"
	"upmon/notify/notifytest"
)

func TestErrorHelpers(t *testing.T) {
	base := errors.New("boom")
	p := fmt.Errorf("wrapped: %w", notify.Permanent(base))
	if !notify.IsPermanent(p) || !errors.Is(p, base) {
		t.Errorf("Permanent: IsPermanent=%v Is=%v", notify.IsPermanent(p), errors.Is(p, base))
	}
	r := fmt.Errorf("wrapped: %w", notify.Retryable(base, 3*time.Second))
	if notify.IsPermanent(r) {
		t.Error("Retryable is permanent")
	}
	if d, ok := notify.RetryAfter(r); d != 3*time.Second || !ok {
		t.Errorf("RetryAfter = %v, %v", d, ok)
	}
	if _, ok := notify.RetryAfter(notify.Retryable(base, 0)); ok {
		t.Error("Retryable(err, 0) asks for a delay")
	}
	if notify.Permanent(nil) != nil || notify.Retryable(nil, time.Second) != nil {
		t.Error("nil errors are not nil")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"999999", time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(time.RFC850), time.Hour, true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
	} {
		d, ok := notify.ParseRetryAfter(tc.in, now)
		if d != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, d, ok, tc.want, tc.ok)
		}
	}
}

func TestHTTPClientRequest(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 200, Body: strings.Repeat("x", 100)})
	c := notify.NewHTTPClient(notify.HTTPOptions{MaxBody: 10})
	resp, err := c.Do(context.Background(), "test", notify.Request{URL: srv.URL + "/p", Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) != 10 {
		t.Errorf("body read %d bytes, want the bound 10", len(resp.Body))
	}
	r := srv.Next(t)
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "upmon") {
		t.Errorf("User-Agent %q does not name upmon", ua)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestHTTPClientRedirectIsPermanent(t *testing.T) {
	srv := notifytest.NewServer(t, notifytest.Answer{Status: 302, Header: http.Header{"Location": {"https://elsewhere.example/"}}})
	_, err := notify.NewHTTPClient(notify.HTTPOptions{}).Do(context.Background(), "test", notify.Request{URL: srv.URL})
	if !notify.IsPermanent(err) {
		t.Errorf("redirect: %v, want a permanent error", err)
	}
}

func TestHTTPClientErrorsHideURL(t *testing.T) {
	c := notify.NewHTTPClient(notify.HTTPOptions{})
	// A closed port on loopback: connection refused.
	srv := notifytest.NewServer(t, notifytest.Answer{})
	u, _ := url.Parse(srv.URL)
	u.Host = "127.0.0.1:1"
	_, err := c.Do(context.Background(), "test", notify.Request{URL: u.String() + "/bot123:SECRET/sendMessage"})
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("refused: %v, want retryable", err)
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error %q quotes the URL", err)
	}
	_, err = c.Do(context.Background(), "test", notify.Request{URL: "http://[::1/SECRET"})
	if !notify.IsPermanent(err) || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("invalid URL: %v", err)
	}
}

func TestMaskAndRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/XXXX":                    "https://hooks.slack.com/services/T0/B0/••••",
		"https://discord.com/api/webhooks/123/tok":                       "https://discord.com/api/webhooks/123/••••",
		"https://u:p@h.example/a/b?sig=s3cret":                           "https://h.example/a/••••?••••",
		"https://chat.googleapis.com/v1/spaces/S/messages?key=k&token=t": "https://chat.googleapis.com/v1/spaces/S/••••?••••",
		"not a url": "••••",
		"":          "",
	} {
		if got := notify.MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := notify.MaskToken("short"); got != "••••" {
		t.Errorf("MaskToken(short) = %q", got)
	}
	if got := notify.MaskToken("0123456789abcdefWXYZ"); got != "••••WXYZ" {
		t.Errorf("MaskToken(long) = %q", got)
	}
	if got := notify.Redact("a 12:ab/c d 12%3Aab%2Fc", "12:ab/c"); strings.Contains(got, "ab") {
		t.Errorf("Redact left the secret: %q", got)
	}
}

func TestExcerpt(t *testing.T) {
	got := notify.Excerpt([]byte("line1\n\tline2 \x00 tok"+strings.Repeat("é", 200)), 20, "tok")
	if strings.Contains(got, "tok") || strings.ContainsAny(got, "\n\t\x00") || len(got) > 20+len("…") {
		t.Errorf("Excerpt = %q", got)
	}
}

func TestSubjectAndText(t *testing.T) {
	m := notifytest.DownMessage()
	if got := notify.Subject(m); got != "Shop is down" {
		t.Errorf("Subject = %q", got)
	}
	m.Test = true
	if got := notify.Subject(m); got != "[test] Shop is down" {
		t.Errorf("test Subject = %q", got)
	}
	up := notifytest.DownMessage()
	up.Event, up.State, up.Duration = notify.EventUp, "up", 5*time.Minute+3*time.Second
	text := notify.Text(up)
	for _, want := range []string{"Shop is back up", "Was down for 5m 3s", "Incident: https://upmon.example.com/incidents/42", "URL: https://shop.example.com/"} {
		if !strings.Contains(text, want) {
			t.Errorf("Text lacks %q:\n%s", want, text)
		}
	}
	g := notify.Message{Event: notify.EventDown, Group: []notify.GroupEntry{
		{SiteName: "A", State: "down", Reason: "timeout", Event: notify.EventDown}, {URL: "https://b/", State: "up", Event: notify.EventUp}}}
	if got := notify.Text(g); got != "2 sites changed state\n• A: down (timeout)\n• https://b/: up" {
		t.Errorf("group Text = %q", got)
	}
	cert := notify.Message{Event: notify.EventCertExpiring, URL: "https://c/", Time: notifytest.Now(), CertExpiresAt: notifytest.Now().Add(49 * time.Hour)}
	if got := notify.Subject(cert); got != "The TLS certificate of https://c/ expires in 2 days" {
		t.Errorf("cert Subject = %q", got)
	}
}

func TestIncidentKey(t *testing.T) {
	down := notifytest.DownMessage()
	up := down
	up.Event = notify.EventUp
	if notify.IncidentKey(down) != notify.IncidentKey(up) {
		t.Errorf("down %q and up %q keys differ", notify.IncidentKey(down), notify.IncidentKey(up))
	}
	other := down
	other.IncidentID = "43"
	deg := down
	deg.Event = notify.EventDegraded
	site := down
	site.SiteID = 8
	for _, m := range []notify.Message{other, deg, site} {
		if notify.IncidentKey(m) == notify.IncidentKey(down) {
			t.Errorf("%+v shares the key %q", m, notify.IncidentKey(m))
		}
	}
}

func TestStripCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pa55@example.com/path?q=1": "https://example.com/path?q=1",
		"https://example.com/a@b":                "https://example.com/a@b",
		"tcp://u:p@db.example.com:5432":          "tcp://db.example.com:5432",
		"https://u:p%zz@example.com/":            "https://example.com/",
	} {
		if got := notify.StripCredentials(in); got != want {
			t.Errorf("StripCredentials(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 3, "abc"}, {"abcd", 3, "ab…"}, {"ééé", 2, "é…"}, {"abc", 0, "abc"}} {
		if got := notify.Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
