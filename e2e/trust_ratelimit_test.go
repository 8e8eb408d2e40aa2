package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// post sends a form (or nothing) with an optional bearer token and
// returns the status and Retry-After.
func post(t *testing.T, u, token string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestRateLimits: /push/, /login and the dashboard's check and delete
// buttons are limited per client like /ping, and every 429 says when to
// retry.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	cfg.RateLimit, cfg.RateBurst = 0.01, 2 // the bucket does not refill during the test
	m := apptest.Start(t, cfg, app.Hooks{})
	base := m.URL()
	for _, path := range []string{"/push/0000", "/login", "/frontend/sites/1/delete", "/frontend/sites/1/check"} {
		var statuses []int
		for range 3 {
			status, retry := post(t, base+path, rwToken, url.Values{"token": {rwToken}})
			statuses = append(statuses, status)
			if status == http.StatusTooManyRequests {
				if n, err := strconv.Atoi(retry); err != nil || n < 1 {
					t.Errorf("POST %s: 429 with Retry-After %q", path, retry)
				}
			}
		}
		if statuses[0] == http.StatusTooManyRequests || statuses[2] != http.StatusTooManyRequests {
			t.Errorf("POST %s x3 = %v, want the third limited", path, statuses)
		}
	}
	// /ping shares the dashboard check button's budget (both make upmon
	// connect out), spent above; its 429 says when to retry too.
	target := apptest.NewTarget(t)
	req, _ := http.NewRequest("GET", base+"/ping/"+target.URL, nil)
	req.Header.Set("Authorization", "Bearer "+rwToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	last, retry := resp.Status, resp.Header.Get("Retry-After")
	if !strings.HasPrefix(last, "429") || retry == "" {
		t.Errorf("/ping = %s, Retry-After %q", last, retry)
	}
}

// TestLoginDelayAfterFailures: after a wrong token the same client must
// wait before it may try again (429 with Retry-After), even with the
// right token; the delay doubles with every failure.
func TestLoginDelayAfterFailures(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	m := apptest.Start(t, cfg, app.Hooks{})
	login := m.URL() + "/login"
	// The first delay is 1 s and doubles: a busy machine may let one pass,
	// not six in a row.
	for attempt := range 6 {
		if status, _ := post(t, login, "", url.Values{"token": {"wrong-token-0123456789"}}); status != http.StatusUnauthorized && status != http.StatusTooManyRequests {
			t.Fatalf("wrong token = %d", status)
		}
		status, retry := post(t, login, "", url.Values{"token": {rwToken}})
		if status == http.StatusTooManyRequests {
			if n, err := strconv.Atoi(retry); err != nil || n < 1 {
				t.Fatalf("429 with Retry-After %q", retry)
			}
			return
		}
		t.Logf("attempt %d: the right token right after a failure = %d", attempt+1, status)
	}
	t.Fatal("failed sign-ins never delayed the next one")
}
