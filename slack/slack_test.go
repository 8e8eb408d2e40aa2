package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/monitor"
	"upmon/platform/api"
	"upmon/platform/pubsub"
	"upmon/site"
)

// request is what the fake webhook received.
type request struct {
	method, contentType, path string
	body                      []byte
	traceparent               string
}

// webhook is a fake Slack incoming webhook on loopback. Each request is
// answered with the next scripted status (200 when the script is empty).
type webhook struct {
	*httptest.Server
	mu     sync.Mutex
	got    []request
	script []int
	header http.Header // extra response headers
}

// MustWebhook starts a fake webhook closed when tb ends.
func MustWebhook(tb testing.TB, script ...int) *webhook {
	tb.Helper()
	w := &webhook{script: script, header: http.Header{}}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.got = append(w.got, request{r.Method, r.Header.Get("Content-Type"), r.URL.Path, b, r.Header.Get("traceparent")})
		code := http.StatusOK
		if len(w.script) > 0 {
			code, w.script = w.script[0], w.script[1:]
		}
		for k, v := range w.header {
			rw.Header()[k] = v
		}
		w.mu.Unlock()
		rw.WriteHeader(code)
		_, _ = io.WriteString(rw, "ok")
	}))
	tb.Cleanup(w.Close)
	return w
}

func (w *webhook) requests() []request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]request(nil), w.got...)
}

// texts returns the "text" field of each request body.
func (w *webhook) texts(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, r := range w.requests() {
		var p struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			tb.Fatalf("body %q is not JSON: %v", r.body, err)
		}
		out = append(out, p.Text)
	}
	return out
}

func transition(id int64, u string, up bool, seq int64) *monitor.TransitionEvent {
	return &monitor.TransitionEvent{ID: "ev", Site: &site.Ref{ID: id, URL: u}, Up: up, Seq: seq}
}

func TestNotifyRequest(t *testing.T) {
	hook := MustWebhook(t)
	s := New(Options{WebhookURL: hook.URL + "/services/T000/B000/XXXX"})
	ev := transition(1, "https://example.com/a?b=1&c=<2>", false, 1)
	ev.Reason = "HTTP 503 after 3 failed checks"
	if err := s.handle(t.Context(), ev); err != nil {
		t.Fatalf("handle: %v", err)
	}
	got := hook.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.contentType != "application/json" || r.path != "/services/T000/B000/XXXX" {
		t.Fatalf("request = %s %s (%s), want POST /services/T000/B000/XXXX (application/json)", r.method, r.path, r.contentType)
	}
	// The exact body: one "text" field, the tutorial's first line with the
	// URL escaped, the reason on the next line.
	want := `{"text":"*https://example.com/a?b=1\u0026amp;c=\u0026lt;2\u0026gt; is down!*\nHTTP 503 after 3 failed checks"}`
	if string(r.body) != want {
		t.Fatalf("body = %s\nwant   %s", r.body, want)
	}
}

func TestTexts(t *testing.T) {
	tests := []struct {
		name string
		ev   *monitor.TransitionEvent
		want string
	}{
		{"down", transition(1, "https://a.example", false, 1), "*https://a.example is down!*"},
		{"up", transition(1, "https://a.example", true, 2), "*https://a.example is back up.*"},
		{"escaped", transition(1, "https://a.example/?x=<b>&y=1", false, 1), "*https://a.example/?x=&lt;b&gt;&amp;y=1 is down!*"},
		{"reason escaped, one line", &monitor.TransitionEvent{Site: &site.Ref{URL: "https://a.example"}, Up: true,
			Reason: "body has <no> &\nkeyword"}, "*https://a.example is back up.*\nbody has &lt;no&gt; &amp; keyword"},
		{"mrkdwn link syntax cannot be injected", transition(1, "https://a.example/<https://evil.example|click>", false, 1),
			"*https://a.example/&lt;https://evil.example|click&gt; is down!*"},
		{"locations that saw it", &monitor.TransitionEvent{Site: &site.Ref{URL: "https://a.example"}, Reason: "HTTP 503 after 1 failed check",
			Locations: []string{"eu", "us", "ap"}, Where: "3 of 3 locations: eu, us, ap"},
			"*https://a.example is down!* (3 of 3 locations: eu, us, ap)\nHTTP 503 after 1 failed check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := MustWebhook(t)
			s := New(Options{WebhookURL: hook.URL})
			if err := s.handle(t.Context(), tt.ev); err != nil {
				t.Fatalf("handle: %v", err)
			}
			if got := hook.texts(t); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("posted %q, want [%q]", got, tt.want)
			}
		})
	}
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		permanent  bool
		hint       string // the retry-after hint in the error, if any
	}{
		{500, "", false, ""},
		{502, "", false, ""},
		{503, "", false, ""},
		{504, "", false, ""},
		{429, "", false, ""},
		{429, "7", false, "(retry after 7s)"},
		{429, "100000", false, "(retry after 1h0m0s)"}, // capped
		{429, "soon", false, ""},
		{400, "", true, ""},
		{403, "", true, ""},
		{404, "", true, ""},
		{410, "", true, ""},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+tt.retryAfter, func(t *testing.T) {
			hook := MustWebhook(t, tt.status)
			if tt.retryAfter != "" {
				hook.header.Set("Retry-After", tt.retryAfter)
			}
			s := New(Options{WebhookURL: hook.URL})
			err := s.Notify(t.Context(), &NotifyParams{Text: "x"})
			if err == nil {
				t.Fatalf("HTTP %d: no error", tt.status)
			}
			if got := pubsub.IsPermanent(err); got != tt.permanent {
				t.Fatalf("HTTP %d: permanent = %v, want %v (%v)", tt.status, got, tt.permanent, err)
			}
			if hasHint := strings.Contains(err.Error(), "retry after"); hasHint != (tt.hint != "") ||
				!strings.Contains(err.Error(), tt.hint) {
				t.Fatalf("HTTP %d Retry-After %q: error %q, want hint %q", tt.status, tt.retryAfter, err, tt.hint)
			}
			if len(hook.requests()) != 1 {
				t.Fatalf("%d requests, want 1 (retries belong to the subscription)", len(hook.requests()))
			}
		})
	}
	for _, code := range []int{200, 201, 204} {
		hook := MustWebhook(t, code)
		if err := New(Options{WebhookURL: hook.URL}).Notify(t.Context(), &NotifyParams{Text: "x"}); err != nil {
			t.Errorf("HTTP %d: %v, want success", code, err)
		}
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 30 ", 30 * time.Second, true},
		{"-5", 0, false},
		{"7200", time.Hour, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		if d, ok := retryAfter(tt.v, now); d != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.v, d, ok, tt.want, tt.ok)
		}
	}
}

func TestNetworkErrorIsRetryableAndHidesTheURL(t *testing.T) {
	// A loopback port with nothing listening: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	secret := "http://" + addr + "/services/T000/B000/SECRETSECRET"
	s := New(Options{WebhookURL: secret})
	err = s.Notify(t.Context(), &NotifyParams{Text: "x"})
	if err == nil || pubsub.IsPermanent(err) {
		t.Fatalf("refused connection: %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "SECRETSECRET") || strings.Contains(err.Error(), addr) {
		t.Fatalf("error names the webhook: %v", err)
	}

	// A server that hangs past the timeout.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	s = New(Options{WebhookURL: hang.URL + "/SECRETSECRET", Timeout: 50 * time.Millisecond})
	err = s.Notify(t.Context(), &NotifyParams{Text: "x"})
	if err == nil || pubsub.IsPermanent(err) || !strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), "SECRETSECRET") {
		t.Fatalf("hanging webhook: %v, want a retryable timeout that does not name the URL", err)
	}
}

func TestInvalidWebhookIsPermanent(t *testing.T) {
	s := New(Options{WebhookURL: "http://[::1]:namedport/SECRETSECRET"})
	err := s.Notify(t.Context(), &NotifyParams{Text: "x"})
	if !pubsub.IsPermanent(err) || strings.Contains(err.Error(), "SECRETSECRET") {
		t.Fatalf("invalid URL: %v, want a permanent error that does not name it", err)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	other := MustWebhook(t)
	hook := httptest.NewServer(http.RedirectHandler(other.URL, http.StatusFound))
	defer hook.Close()
	err := New(Options{WebhookURL: hook.URL}).Notify(t.Context(), &NotifyParams{Text: "x"})
	if !pubsub.IsPermanent(err) || len(other.requests()) != 0 {
		t.Fatalf("redirect: %v, %d requests elsewhere; want a permanent error and none", err, len(other.requests()))
	}
}

func TestStaleEventsDropped(t *testing.T) {
	hook := MustWebhook(t)
	s := New(Options{WebhookURL: hook.URL})
	ctx := t.Context()
	steps := []*monitor.TransitionEvent{
		transition(1, "https://a.example", false, 1),
		transition(1, "https://a.example", true, 3),  // 2 was lost or is late
		transition(1, "https://a.example", true, 2),  // late: stale
		transition(1, "https://a.example", true, 3),  // redelivered: stale
		transition(2, "https://b.example", false, 1), // another site
		transition(1, "https://a.example", false, 0), // no sequence: never stale
	}
	for _, ev := range steps {
		if err := s.handle(ctx, ev); err != nil {
			t.Fatalf("handle seq %d: %v", ev.Seq, err)
		}
	}
	// Degraded events are numbered apart from transitions.
	if err := s.handleDegraded(ctx, &monitor.DegradedEvent{Site: &site.Ref{ID: 1, URL: "https://a.example"}, Degraded: true, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"*https://a.example is down!*",
		"*https://a.example is back up.*",
		"*https://b.example is down!*",
		"*https://a.example is down!*",
		"*https://a.example is degraded!*",
	}
	if got := hook.texts(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("posted %q\nwant   %q", got, want)
	}
}

func TestFailedDeliveryIsNotMarkedSent(t *testing.T) {
	hook := MustWebhook(t, 500)
	s := New(Options{WebhookURL: hook.URL})
	ev := transition(1, "https://a.example", false, 1)
	if err := s.handle(t.Context(), ev); err == nil {
		t.Fatal("500: no error")
	}
	// The retry of the same event is not stale: it was never delivered.
	if err := s.handle(t.Context(), ev); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(hook.requests()); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

// fakeSites answers Get with err.
type fakeSites struct{ err error }

func (f fakeSites) Get(context.Context, *site.GetParams) (*site.Site, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &site.Site{}, nil
}

func TestSiteLookup(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		posts   int
		wantErr bool
	}{
		{"exists", nil, 1, false},
		{"deleted", &api.Error{Code: api.NotFound, Message: "no such site"}, 0, false},
		{"site db down: notify anyway", &api.Error{Code: api.Unavailable, Message: "down"}, 1, false},
		{"other error: retried", errors.New("boom"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := MustWebhook(t)
			s := New(Options{WebhookURL: hook.URL, Sites: fakeSites{tt.err}})
			err := s.handle(t.Context(), transition(1, "https://a.example", false, 1))
			if (err != nil) != tt.wantErr || len(hook.requests()) != tt.posts {
				t.Fatalf("err = %v, %d posts; want error %v, %d posts", err, len(hook.requests()), tt.wantErr, tt.posts)
			}
		})
	}
}

func TestMaintenanceAndDisabled(t *testing.T) {
	hook := MustWebhook(t)
	ev := transition(1, "https://a.example", false, 1)
	ev.Maintenance = true
	if err := New(Options{WebhookURL: hook.URL}).handle(t.Context(), ev); err != nil || len(hook.requests()) != 0 {
		t.Fatalf("maintenance: %v, %d posts; want none", err, len(hook.requests()))
	}
	off := New(Options{})
	if off.Enabled() {
		t.Fatal("enabled without a webhook")
	}
	if err := off.handle(t.Context(), transition(1, "https://a.example", false, 1)); err != nil {
		t.Fatalf("disabled: %v, want the event acknowledged", err)
	}
	if err := New(Options{WebhookURL: hook.URL}).handle(t.Context(), &monitor.TransitionEvent{}); !pubsub.IsPermanent(err) {
		t.Fatalf("event without a site: %v, want permanent", err)
	}
}

func TestAfterNotifyHookRunsOnlyAfterAcceptance(t *testing.T) {
	hook := MustWebhook(t, 503, 200)
	var ids []string
	s := New(Options{WebhookURL: hook.URL, Hooks: Hooks{AfterNotify: func(id string) { ids = append(ids, id) }}})
	ev := transition(1, "https://a.example", false, 1)
	ev.ID = "evt-1"
	_ = s.handle(t.Context(), ev)
	if len(ids) != 0 {
		t.Fatalf("hook ran after a rejected post: %q", ids)
	}
	if err := s.handle(t.Context(), ev); err != nil || len(ids) != 1 || ids[0] != "evt-1" {
		t.Fatalf("after acceptance: err %v, hook ids %q", err, ids)
	}
}
