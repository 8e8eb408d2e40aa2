package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// browser follows redirects (to the provider and back) and keeps cookies.
func ssoBrowser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// get fetches u and returns the status, the final URL and the body.
func get(t *testing.T, c *http.Client, u string) (int, *url.URL, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, string(b)
}

func startOIDC(t *testing.T) (*app.Main, *fakeIdP) {
	idp := newFakeIdP(t, "client-secret-0123")
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	cfg.OIDCIssuer, cfg.OIDCClientID = idp.srv.URL, "upmon-test"
	cfg.Env = append(cfg.Env, "OIDC_CLIENT_SECRET=client-secret-0123")
	return apptest.Start(t, cfg, app.Hooks{}), idp
}

// TestOIDCSignOn: a browser signs in through the provider (discovery,
// keys, code exchange with PKCE); the role comes from the role claim, a
// user without one gets --oidc-default-role; the session works for the
// API and the callback's next stays on the site.
func TestOIDCSignOn(t *testing.T) {
	t.Parallel()
	m, idp := startOIDC(t)
	idp.set("", map[string]any{"email": "ed@example.com", "email_verified": true, "preferred_username": "ed", "role": "editor"})
	b := ssoBrowser(t)
	status, final, body := get(t, b, m.URL()+"/oidc/login?next=/frontend/sites")
	if status != 200 || final.Path != "/oidc/callback" || !strings.Contains(body, `href="/frontend/sites"`) {
		t.Fatalf("sign-on ended at %s with %d: %.300s", final, status, body)
	}
	if _, _, me := get(t, b, m.URL()+"/me"); !strings.Contains(me, `"role":"editor"`) || !strings.Contains(me, `"sso":true`) {
		t.Fatalf("GET /me after sign-on: %s", me)
	}
	if idp.pkceOK != 1 {
		t.Fatalf("PKCE-checked exchanges: %d", idp.pkceOK)
	}
	// Another identity without a role claim: the default role.
	idp.set("", map[string]any{"sub": "subject-2", "email": "v@example.com", "email_verified": true})
	b2 := ssoBrowser(t)
	if _, _, page := get(t, b2, m.URL()+"/oidc/login?next=//evil.example/"); !strings.Contains(page, `href="/frontend/"`) || strings.Contains(page, "evil") {
		t.Fatalf("next=//evil.example/ through sign-on: %.300s", page)
	}
	if _, _, me := get(t, b2, m.URL()+"/me"); !strings.Contains(me, `"role":"viewer"`) {
		t.Fatalf("without a role claim: %s", me)
	}
	// A list claim: the highest valid role in it.
	idp.set("", map[string]any{"sub": "subject-3", "role": []any{"viewer", "owner", "admin"}})
	b3 := ssoBrowser(t)
	get(t, b3, m.URL()+"/oidc/login")
	if _, _, me := get(t, b3, m.URL()+"/me"); !strings.Contains(me, `"role":"owner"`) {
		t.Fatalf("with a list role claim: %s", me)
	}
	if resp, _ := doAuth(t, "GET", m.URL()+"/users", rwToken, ""); resp != 200 {
		t.Fatalf("GET /users: %d", resp)
	}
}

// TestOIDCHostileCallbacks: tokens that are expired, signed by a key the
// provider does not publish, carry another nonce or are for another
// client are refused; a callback replayed after success, one without
// this browser's state cookie, and a forged state are refused too.
func TestOIDCHostileCallbacks(t *testing.T) {
	t.Parallel()
	m, idp := startOIDC(t)
	for _, mode := range []string{"expired", "wrong-key", "wrong-nonce", "wrong-aud"} {
		idp.set(mode, map[string]any{"role": "owner"})
		b := ssoBrowser(t)
		status, final, _ := get(t, b, m.URL()+"/oidc/login")
		if status != 401 || final.Path != "/oidc/callback" {
			t.Errorf("%s token: callback %s answered %d, want 401", mode, final, status)
		}
		if s, _, _ := get(t, b, m.URL()+"/me"); s != 401 {
			t.Errorf("%s token: signed in anyway (GET /me = %d)", mode, s)
		}
	}

	// Capture a callback URL without following it.
	idp.set("", map[string]any{"role": "owner"})
	b := ssoBrowser(t)
	stop := *b
	stop.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/oidc/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := stop.Get(m.URL() + "/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if !strings.Contains(callback, "/oidc/callback?") {
		t.Fatalf("no callback redirect: %d %q", resp.StatusCode, callback)
	}
	// Another browser (no state cookie) cannot use it.
	if s, _, _ := get(t, ssoBrowser(t), callback); s != 401 {
		t.Fatalf("callback in another browser = %d, want 401", s)
	}
	// A forged state in the right browser is refused.
	forged := strings.Replace(callback, "state=", "state=x", 1)
	if s, _, _ := get(t, b, forged); s != 401 {
		t.Fatalf("forged state = %d, want 401", s)
	}
	idp.mu.Lock()
	idp.reuse = true // a lax provider: only upmon's state stops a replay
	idp.mu.Unlock()
	// The real one works once (the forged attempt did not consume it)...
	if s, _, _ := get(t, b, callback); s != 200 {
		t.Fatalf("callback = %d", s)
	}
	// ...and a replay, even with the state cookie put back and a provider
	// that takes the code again (set above), does not.
	u, _ := url.Parse(callback)
	b.Jar.SetCookies(u, []*http.Cookie{{Name: "upmon_oidc_state", Value: u.Query().Get("state"), Path: "/oidc/"}})
	if s, _, _ := get(t, b, callback); s != 401 {
		t.Fatalf("replayed callback = %d, want 401", s)
	}
}
