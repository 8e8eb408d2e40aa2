// Package notifytest holds the loopback test server and the failure
// cases every HTTP channel kind is tested against.
package notifytest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"upmon/notify"
)

// Request is a request the server received.
type Request struct {
	// Method, Path (unescaped), RawPath (as sent) and Query of the request.
	Method, Path, RawPath string
	// Query is the parsed query.
	Query map[string][]string
	// Header holds its headers.
	Header http.Header
	// Body is its body.
	Body []byte
}

// Answer is what the server replies.
type Answer struct {
	// Status is the HTTP status; default 200.
	Status int
	// Header is added to the reply.
	Header http.Header
	// Body is the reply's body.
	Body string
}

// Server is a loopback HTTP server that records requests and replies with
// a fixed answer.
type Server struct {
	// URL is the server's base URL.
	URL string
	// Requests receives every request (buffered).
	Requests chan Request
}

// NewServer starts a server that answers a.
func NewServer(tb testing.TB, a Answer) *Server {
	tb.Helper()
	s := &Server{Requests: make(chan Request, 16)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.Requests <- Request{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(),
			Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
		for k, vs := range a.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if a.Status == 0 {
			a.Status = http.StatusOK
		}
		w.WriteHeader(a.Status)
		_, _ = io.WriteString(w, a.Body)
	}))
	tb.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Next returns the next request received, failing the test if none came.
func (s *Server) Next(tb testing.TB) Request {
	tb.Helper()
	select {
	case r := <-s.Requests:
		return r
	default:
		tb.Fatal("the server received no request")
		return Request{}
	}
}

// Now is the fixed clock of the failure cases.
func Now() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }

// Env returns an Env with the fixed clock and a client whose requests
// time out after timeout.
func Env(timeout time.Duration) notify.Env {
	return notify.Env{
		HTTP: notify.NewHTTPClient(notify.HTTPOptions{Timeout: timeout, Now: Now}),
		Now:  Now,
	}
}

// Case is a kind under the failure cases.
type Case struct {
	// New builds the channel talking to base (the server's URL), in env.
	New func(tb testing.TB, base string, env notify.Env) notify.Channel
	// Secrets must never appear in an error.
	Secrets []string
	// Message is what is sent; default a down message.
	Message notify.Message
}

// DownMessage is a typical down message.
func DownMessage() notify.Message {
	return notify.Message{Event: notify.EventDown, SiteID: 7, SiteName: "Shop", URL: "https://shop.example.com/",
		State: "down", Reason: "HTTP 503 after 3 failed checks", Time: Now(), IncidentID: "42",
		IncidentLink: "https://upmon.example.com/incidents/42"}
}

// Failures runs the failure answers every HTTP kind must classify: 429
// with Retry-After (seconds and HTTP-date), 5xx, the permanent refusals,
// a timeout and a connection reset; in each, the error text must hold no
// secret even when the service echoes the request.
func Failures(t *testing.T, c Case) {
	if c.Message.Event == "" {
		c.Message = DownMessage()
	}
	status := []struct {
		code      int
		header    string
		permanent bool
		after     time.Duration
	}{
		{429, "7", false, 7 * time.Second},
		{429, Now().Add(90 * time.Second).Format(http.TimeFormat), false, 90 * time.Second},
		{500, "", false, 0},
		{502, "", false, 0},
		{503, "120", false, 2 * time.Minute},
		{400, "", true, 0},
		{401, "", true, 0},
		{403, "", true, 0},
		{404, "", true, 0},
		{410, "", true, 0},
	}
	for _, st := range status {
		t.Run(http.StatusText(st.code)+"/"+st.header, func(t *testing.T) {
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if st.header != "" {
					w.Header().Set("Retry-After", st.header)
				}
				w.WriteHeader(st.code)
				// Echo the request, as some services do, to catch
				// secrets leaking from the answer into the error.
				_, _ = io.WriteString(w, r.URL.String()+" "+r.Header.Get("Authorization")+" "+string(body))
			}))
			defer hs.Close()
			err := c.New(t, hs.URL, Env(5*time.Second)).Send(context.Background(), c.Message)
			if err == nil {
				t.Fatalf("HTTP %d: Send returned nil", st.code)
			}
			if notify.IsPermanent(err) != st.permanent {
				t.Errorf("HTTP %d: IsPermanent = %v, want %v (%v)", st.code, !st.permanent, st.permanent, err)
			}
			d, ok := notify.RetryAfter(err)
			if d != st.after || ok != (st.after > 0) {
				t.Errorf("HTTP %d Retry-After %q: RetryAfter = %v, %v; want %v", st.code, st.header, d, ok, st.after)
			}
			NoSecrets(t, err, c.Secrets)
		})
	}
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer hs.Close()
		defer close(release)
		err := c.New(t, hs.URL, Env(100*time.Millisecond)).Send(context.Background(), c.Message)
		retryableNetwork(t, err, "timeout", c.Secrets)
	})
	t.Run("connection reset", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}))
		defer hs.Close()
		err := c.New(t, hs.URL, Env(5*time.Second)).Send(context.Background(), c.Message)
		retryableNetwork(t, err, "", c.Secrets)
	})
}

func retryableNetwork(t *testing.T, err error, reason string, secrets []string) {
	t.Helper()
	if err == nil {
		t.Fatal("Send returned nil")
	}
	if notify.IsPermanent(err) {
		t.Errorf("network failure is permanent: %v", err)
	}
	if reason != "" && !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
	NoSecrets(t, err, secrets)
}

// NoSecrets fails the test if err's text holds one of secrets.
func NoSecrets(tb testing.TB, err error, secrets []string) {
	tb.Helper()
	for _, s := range secrets {
		if s != "" && err != nil && strings.Contains(err.Error(), s) {
			tb.Errorf("error %q holds the secret %q", err, s)
		}
	}
}
