package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

const (
	rwToken = "rw-token-0123456789abcdef"
	roToken = "ro-token-0123456789abcdef"
)

func doAuth(t *testing.T, method, u, token, body string) (int, string) {
	t.Helper()
	authz := ""
	if token != "" {
		authz = "Bearer " + token
	}
	return doAuthHeader(t, method, u, authz, body)
}

// doAuthHeader sends a request with authz as its Authorization header
// (none when empty) and returns the status and body.
func doAuthHeader(t *testing.T, method, u, authz, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = ioCopy(b, resp)
	return resp.StatusCode, b.String()
}

func TestAccessTokens(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	cfg.ReadTokens = []string{roToken}
	m := apptest.Start(t, cfg, app.Hooks{})
	target := apptest.NewTarget(t)
	base := m.URL()

	// A valid token under another scheme than Bearer is refused: the
	// token alone must not authenticate.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("upmon:"+rwToken))
	for _, authz := range []string{basic, "Token " + rwToken, rwToken} {
		status, body := doAuthHeader(t, "GET", base+"/status", authz, "")
		if status != 401 || !strings.Contains(body, `"code":"unauthenticated"`) {
			t.Errorf("not bearer (%.12s…): GET /status = %d %s, want 401 unauthenticated", authz, status, body)
		}
	}

	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"read without token", "GET", "/site", "", "", 401, "unauthenticated"},
		{"read with bad token", "GET", "/status", "wrong-token-0123456789", "", 401, "unauthenticated"},
		{"read with ro", "GET", "/site", roToken, "", 200, ""},
		{"read with rw", "GET", "/status", rwToken, "", 200, ""},
		{"metrics need a token", "GET", "/metrics", "", "", 401, "unauthenticated"},
		{"ping needs a token", "GET", "/ping/" + target.URL, "", "", 401, "unauthenticated"},
		{"ping with ro", "GET", "/ping/" + target.URL, roToken, "", 200, ""},
		{"write without token", "POST", "/site", "", `{"url":"` + target.URL + `"}`, 401, "unauthenticated"},
		{"write with ro", "POST", "/site", roToken, `{"url":"` + target.URL + `"}`, 403, "permission_denied"},
		{"write with rw", "POST", "/site", rwToken, `{"url":"` + target.URL + `"}`, 200, ""},
		{"delete with ro", "DELETE", "/site/1", roToken, "", 403, "permission_denied"},
		{"admin with ro", "GET", "/admin/deadletters", roToken, "", 403, "permission_denied"},
		{"admin with rw", "GET", "/admin/deadletters", rwToken, "", 200, ""},
		{"healthz is public", "GET", "/healthz", "", "", 200, ""},
		{"push is public (own token)", "POST", "/push/0000", "", "", 404, "not_found"},
	}
	for _, tc := range tests {
		status, body := doAuth(t, tc.method, base+tc.path, tc.token, tc.body)
		if status != tc.status || (tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`)) {
			t.Errorf("%s: %s %s = %d %s, want %d %s", tc.name, tc.method, tc.path, status, body, tc.status, tc.code)
		}
		if strings.Contains(body, rwToken) || strings.Contains(body, roToken) {
			t.Errorf("%s: a token leaked into the answer", tc.name)
		}
	}

	// The dashboard redirects to the sign-in page, and a signed-in browser
	// gets an HttpOnly, SameSite session cookie.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(base + "/frontend/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("dashboard without session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = noRedirect.PostForm(base+"/login", url.Values{"token": {roToken}, "next": {"//evil.example/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == app.SessionCookie {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/frontend/" || session == nil ||
		!session.HttpOnly || session.SameSite != http.SameSiteStrictMode || strings.Contains(session.Value, roToken) {
		t.Fatalf("login: %d %q cookie %+v", resp.StatusCode, resp.Header.Get("Location"), session)
	}
	req, _ := http.NewRequest("GET", base+"/status", nil)
	req.AddCookie(session)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("read with session: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("DELETE", base+"/site/1", nil)
	req.AddCookie(session)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("write with a read-only session: %v %v", resp, err)
	}
	resp.Body.Close()
	forged := *session
	forged.Value = "w" + session.Value[1:]
	req, _ = http.NewRequest("DELETE", base+"/site/1", nil)
	req.AddCookie(&forged)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("forged session: %v %v", resp, err)
	}
	resp.Body.Close()
	// A wrong token is refused (last: the client must then wait before
	// it may try again).
	resp, err = noRedirect.PostForm(base+"/login", url.Values{"token": {"nope-nope-nope-nope"}, "next": {"/frontend/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad login: %d", resp.StatusCode)
	}
}

func TestPublicReadAndLoopbackAdmin(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens = []string{rwToken}
	cfg.PublicRead = true
	m := apptest.Start(t, cfg, app.Hooks{})
	if status, _ := doAuth(t, "GET", m.URL()+"/site", "", ""); status != 200 {
		t.Fatalf("public read: %d", status)
	}
	if status, _ := doAuth(t, "POST", m.URL()+"/site", "", `{"url":"https://x.example"}`); status != 401 {
		t.Fatalf("write with public read: %d", status)
	}
}

// TestRefuseNonLoopbackWithoutToken: a non-loopback --addr without a
// token, an account or --insecure-no-auth does not start (before it
// listens: nothing is bound); with an account it is allowed
// (TestExposureRule in internal/app).
func TestRefuseNonLoopbackWithoutToken(t *testing.T) {
	cfg := apptest.Config(t)
	cfg.Addr = "0.0.0.0:0"
	m := app.New(cfg, nil)
	err := m.Open(context.Background())
	m.Close()
	var ue *app.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "without an access token or an account") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := app.ParseConfig("serve", []string{"--addr", "0.0.0.0:4000", "--insecure-no-auth"}, nil); err != nil {
		t.Fatalf("--insecure-no-auth: %v", err)
	}
	if _, _, err := app.ParseConfig("serve", []string{"--addr", "0.0.0.0:4000"}, []string{"UPMON_API_TOKEN=" + rwToken}); err != nil {
		t.Fatalf("with a token: %v", err)
	}
	if _, _, err := app.ParseConfig("serve", []string{"--api-token", "short"}, nil); err == nil {
		t.Fatal("a short token was accepted")
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.RateLimit = 1
	cfg.RateBurst = 3
	m := apptest.Start(t, cfg, app.Hooks{})
	target := apptest.NewTarget(t)
	limited := 0
	for range 10 {
		status, body := doAuth(t, "GET", m.URL()+"/ping/"+target.URL, "", "")
		if status == 429 {
			limited++
			if !strings.Contains(body, `"resource_exhausted"`) {
				t.Fatalf("429 body = %s", body)
			}
		}
	}
	if limited < 5 {
		t.Fatalf("only %d of 10 rapid pings were limited (burst 3, 1/s)", limited)
	}
	// Other endpoints are not limited.
	for range 10 {
		if status, _ := doAuth(t, "GET", m.URL()+"/site", "", ""); status != 200 {
			t.Fatalf("GET /site limited: %d", status)
		}
	}
}

func TestDenyPrivateTargets(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.DenyPrivateTargets = true
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	for _, u := range []string{target.URL, "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "tcp://[::1]:22", "http://0.0.0.0/",
		"http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/", "http://[::7f00:1]/", "http://198.18.0.1/", "http://240.0.0.1/",
		"http://255.255.255.255/"} {
		status, body := c.Do("POST", "/site", `{"url":"`+u+`"}`)
		if status != 400 || !strings.Contains(body, "deny-private-targets") {
			t.Errorf("POST /site %s = %d %s", u, status, body)
		}
	}
	// A name that resolves to loopback is accepted, then checked as down
	// with the reason; /ping answers down; the target never sees a request.
	port := target.URL[strings.LastIndex(target.URL, ":")+1:]
	var added struct{ ID int64 }
	c.JSON("POST", "/site", `{"url":"http://localhost:`+port+`/"}`, &added)
	var res struct {
		Up    bool   `json:"up"`
		Error string `json:"error"`
	}
	c.JSON("POST", "/check/1", "", &res)
	if res.Up || !strings.Contains(res.Error, "loopback") {
		t.Fatalf("check = %+v", res)
	}
	if status, body := c.Do("GET", "/ping/"+target.URL, ""); status != 200 || !strings.Contains(body, `"up":false`) {
		t.Fatalf("ping = %d %s", status, body)
	}
	time.Sleep(100 * time.Millisecond)
	if target.Hits() != 0 {
		t.Fatalf("the private target was contacted %d times", target.Hits())
	}
}
