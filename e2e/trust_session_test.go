package e2e

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// signIn posts the sign-in form and returns the session cookie.
func signIn(t *testing.T, base, token string) *http.Cookie {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == app.SessionCookie && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in = %d without a session cookie", resp.StatusCode)
	return nil
}

// withCookie sends a request carrying c and returns the status.
func withCookie(t *testing.T, method, u string, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.AddCookie(c)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSessionLifecycle: logging out ends the session on the server (a
// copied cookie stops working), a session ends after --session-idle
// without use, and the cookie is Secure when --public-url is https even
// though the request reached upmon over plain HTTP (TLS ended at a proxy).
func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	cfg.PublicURL = "https://upmon.example.com"
	cfg.SessionIdle = time.Hour
	m := apptest.Start(t, cfg, app.Hooks{Clock: func() time.Time { return time.Unix(0, now.Load()) }})
	base := m.URL()

	c := signIn(t, base, rwToken)
	if !c.Secure || !c.HttpOnly {
		t.Fatalf("cookie behind an https public URL: %+v", c)
	}
	copied := *c
	if got := withCookie(t, "GET", base+"/status", c); got != 200 {
		t.Fatalf("signed in: GET /status = %d", got)
	}
	if got := withCookie(t, "POST", base+"/logout", c); got != http.StatusSeeOther {
		t.Fatalf("logout = %d", got)
	}
	if got := withCookie(t, "GET", base+"/status", &copied); got != 401 {
		t.Fatalf("a copy of the cookie after logout: GET /status = %d, want 401", got)
	}

	c = signIn(t, base, rwToken)
	now.Add(int64(59 * time.Minute))
	if got := withCookie(t, "GET", base+"/status", c); got != 200 {
		t.Fatalf("after 59 idle minutes: GET /status = %d", got)
	}
	now.Add(int64(61 * time.Minute))
	if got := withCookie(t, "GET", base+"/status", c); got != 401 {
		t.Fatalf("after 61 idle minutes: GET /status = %d, want 401", got)
	}
}

// TestSessionsAcrossReplicas: two replicas of one installation (one
// PostgreSQL, one NATS) share sessions: a sign-in on one works on the
// other, and signing out on the other ends it on both.
func TestSessionsAcrossReplicas(t *testing.T) {
	requireExternalBackends(t)
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	a := apptest.Start(t, cfg, app.Hooks{})
	cfg.DataDir = t.TempDir()
	b := apptest.Start(t, cfg, app.Hooks{})

	c := signIn(t, a.URL(), rwToken)
	copied := *c
	if got := withCookie(t, "GET", b.URL()+"/status", c); got != 200 {
		t.Fatalf("a session from replica A on replica B: GET /status = %d", got)
	}
	if got := withCookie(t, "POST", b.URL()+"/logout", c); got != http.StatusSeeOther {
		t.Fatalf("logout on B = %d", got)
	}
	for _, m := range []*app.Main{a, b} {
		if got := withCookie(t, "GET", m.URL()+"/status", &copied); got != 401 {
			t.Fatalf("after logout on B, the cookie on %s: GET /status = %d, want 401", m.URL(), got)
		}
	}
}
