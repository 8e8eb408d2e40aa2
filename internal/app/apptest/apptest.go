// Package apptest starts the real program (app.Main) for tests: on a
// loopback port, in a temp data dir, on SQLite with the embedded broker or,
// when UPMON_TEST_POSTGRES_URL and UPMON_TEST_NATS_URL are set, on a
// private PostgreSQL database and a private prefix of the external NATS.
package apptest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/platform/pubsub/pubsubtest"
	"upmon/platform/sqldb/sqldbtest"
)

// Config returns a configuration private to tb: 127.0.0.1:0, a temp data
// dir, short retries and ping timeout, and the test backends from the
// environment.
func Config(tb testing.TB) app.Config {
	tb.Helper()
	cfg := app.DefaultConfig()
	db := sqldbtest.Config(tb)
	ps := pubsubtest.Config(tb)
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = db.DataDir
	cfg.DatabaseURL = db.DatabaseURL
	cfg.NATSURL = ps.URL
	cfg.NATSPrefix = ps.Prefix
	cfg.PingTimeout = 2 * time.Second
	cfg.CheckInterval = time.Hour // tests drive checks explicitly
	cfg.RetryMinBackoff = 20 * time.Millisecond
	cfg.RetryMaxBackoff = 200 * time.Millisecond
	cfg.RetryMaxAttempts = 5
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}

// Start opens a Main with cfg and closes it when tb ends.
func Start(tb testing.TB, cfg app.Config, hooks app.Hooks) *app.Main {
	tb.Helper()
	m := app.New(cfg, pubsubtest.Logger(tb))
	m.Hooks = hooks
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		tb.Fatalf("apptest: open: %v", err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

// Client calls a running server's HTTP API.
type Client struct {
	// Base is the server's base URL.
	Base string
	// TB receives failures.
	TB testing.TB
}

// Do sends a request with an optional JSON body and returns the status and
// body.
func (c Client) Do(method, path, body string) (int, string) {
	c.TB.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.Base+path, r)
	if err != nil {
		c.TB.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.TB.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// JSON sends a request, requires status 200 and decodes the answer.
func (c Client) JSON(method, path, body string, out any) {
	c.TB.Helper()
	status, resp := c.Do(method, path, body)
	if status != http.StatusOK {
		c.TB.Fatalf("%s %s: status %d: %s", method, path, status, resp)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			c.TB.Fatalf("%s %s: decode %q: %v", method, path, resp, err)
		}
	}
}

// Target is a loopback site whose answer tests switch at will.
type Target struct {
	// URL is the target's address.
	URL    string
	mu     sync.Mutex
	status int
	hits   int
}

// SetStatus sets the status code the target answers with.
func (t *Target) SetStatus(code int) {
	t.mu.Lock()
	t.status = code
	t.mu.Unlock()
}

// Hits returns how many requests the target served.
func (t *Target) Hits() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.hits
}

// Message is one message the fake Slack received.
type Message struct {
	// Text is the message text.
	Text string `json:"text"`
	// At is when it arrived.
	At time.Time `json:"-"`
}

// Slack is a fake Slack incoming webhook on loopback.
type Slack struct {
	// URL is the webhook URL.
	URL  string
	mu   sync.Mutex
	msgs []Message
	// script holds status codes to answer with, in order; when empty the
	// fallback is used.
	script   []int
	fallback int
	header   http.Header
	notify   chan struct{}
	requests int
	delay    time.Duration
}

// SetDelay makes every later request wait d before it is answered (after
// it is recorded), playing a slow webhook.
func (s *Slack) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns how many requests arrived, accepted or not.
func (s *Slack) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Messages returns the texts received so far, in order.
func (s *Slack) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = m.Text
	}
	return out
}

// Script makes the next requests answer codes in order, then fallback.
func (s *Slack) Script(fallback int, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append([]int(nil), codes...)
	s.fallback = fallback
}

// SetHeader sets a header on every answer (such as Retry-After).
func (s *Slack) SetHeader(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.header.Set(k, v)
}

// WaitFor waits until at least n messages arrived or d passes, and returns
// the messages.
func (s *Slack) WaitFor(n int, d time.Duration) []string {
	deadline := time.After(d)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-deadline:
			return s.Messages()
		}
	}
}

// NewSlack starts a fake Slack webhook that records accepted messages (an
// answer of 2xx records; others do not).
func NewSlack(tb testing.TB) *Slack {
	tb.Helper()
	s := &Slack{fallback: 200, header: http.Header{}, notify: make(chan struct{}, 1)}
	srv := newLoopbackServer(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var m Message
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &m) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests++
		code := s.fallback
		if len(s.script) > 0 {
			code, s.script = s.script[0], s.script[1:]
		}
		for k, v := range s.header {
			w.Header()[k] = v
		}
		if code >= 200 && code < 300 {
			m.At = time.Now()
			s.msgs = append(s.msgs, m)
		}
		delay := s.delay
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "ok")
	}))
	s.URL = srv + "/services/T000/B000/XXXXXXXX"
	return s
}

// NewTarget starts a loopback site answering 200 until told otherwise.
func NewTarget(tb testing.TB) *Target {
	tb.Helper()
	t := &Target{status: http.StatusOK}
	t.URL = newLoopbackServer(tb, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.mu.Lock()
		code := t.status
		t.hits++
		t.mu.Unlock()
		w.WriteHeader(code)
	}))
	return t
}

// NewHandlerServer serves h on a loopback port until tb ends and returns
// its base URL.
func NewHandlerServer(tb testing.TB, h http.Handler) string {
	tb.Helper()
	return newLoopbackServer(tb, h)
}

func newLoopbackServer(tb testing.TB, h http.Handler) string {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// Eventually polls cond every 10 ms until it holds or d passes.
func Eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
