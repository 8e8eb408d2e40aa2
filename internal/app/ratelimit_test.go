package app

import (
	"net/http"
	"testing"
	"time"

	"upmon/platform/api"
)

func TestRateClasses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		method, path, class string
	}{
		{"GET", "/ping/{url...}", "probe"},
		{"POST", "/check/{siteID}", "probe"},
		{"POST", "/check-all", "probe"},
		{"POST", "/frontend/sites/{siteID}/check", "probe"},
		{"POST", "/push/{token}", "push"},
		{"GET", "/push/{token}", "push"},
		{"POST", "/login", "login"},
		{"GET", "/login", ""},
		{"POST", "/frontend/sites/{siteID}/delete", "delete"},
		{"GET", "/frontend/sites/{siteID}/delete", ""},
		{"POST", "/frontend/sites/{siteID}/settings", ""},
		{"GET", "/site", ""},
		{"GET", "/frontend/events", ""},
	}
	for _, tc := range cases {
		if got := rateClass(api.Endpoint{Method: tc.method, Path: tc.path}); got != tc.class {
			t.Errorf("%s %s class = %q, want %q", tc.method, tc.path, got, tc.class)
		}
	}
}

// A client past its burst waits for its bucket to refill, and the 429
// says for how long; other clients are not affected.
func TestLimiterWaitAndRetryAfter(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(2, 3) // 2/s, burst 3
	l.now = func() time.Time { return clock }
	for i := range 3 {
		if d := l.wait("probe", "192.0.2.1:1000"); d != 0 {
			t.Fatalf("request %d within the burst waits %v", i+1, d)
		}
	}
	if d := l.wait("probe", "192.0.2.1:1001"); d != 500*time.Millisecond {
		t.Fatalf("past the burst: wait %v, want 500ms", d)
	}
	if d := l.wait("probe", "192.0.2.2:1000"); d != 0 {
		t.Fatalf("another client waits %v", d)
	}
	if d := l.wait("login", "192.0.2.1:1000"); d != 0 {
		t.Fatalf("another class waits %v", d)
	}
	ep := api.Endpoint{Method: "GET", Path: "/ping/{url...}"}
	r, _ := http.NewRequest("GET", "/ping/x", nil)
	r.RemoteAddr = "192.0.2.1:1002"
	err := l.guard(r, ep)
	if e := api.AsError(err); e.Code != api.ResourceExhausted || e.RetryAfter != 500*time.Millisecond {
		t.Fatalf("guard = %#v", err)
	}
	clock = clock.Add(500 * time.Millisecond)
	if err := l.guard(r, ep); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if err := l.guard(r, api.Endpoint{Method: "GET", Path: "/site"}); err != nil {
		t.Fatalf("an unlimited endpoint: %v", err)
	}
}

// Failed sign-ins make the client wait 1 s, then 2 s, 4 s … up to 30 s;
// a success clears the count.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newLoginThrottle()
	th.now = func() time.Time { return clock }
	const client = "addr 192.0.2.1"
	if d := th.wait(client); d != 0 {
		t.Fatalf("a new client waits %v", d)
	}
	for i, want := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		th.failed(client)
		if d := th.wait(client); d != want*time.Second {
			t.Fatalf("after %d failures: wait %v, want %v", i+1, d, want*time.Second)
		}
		if d := th.wait("addr 192.0.2.9"); d != 0 {
			t.Fatalf("another client waits %v", d)
		}
		clock = clock.Add(want * time.Second)
		if d := th.wait(client); d != 0 {
			t.Fatalf("after waiting: still %v", d)
		}
	}
	th.failed(client)
	th.succeeded(client)
	if d := th.wait(client); d != 0 {
		t.Fatalf("after a success: wait %v", d)
	}
	th.failed(client)
	if d := th.wait(client); d != time.Second {
		t.Fatalf("a success restarts the count: wait %v", d)
	}
}
