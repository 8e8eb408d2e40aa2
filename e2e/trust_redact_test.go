package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/site"
)

// sessionGet signs in with token and GETs path with the session cookie.
func sessionGet(t *testing.T, base, token, path string) string {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"token": {token}, "next": {"/frontend/"}})
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
	if session == nil {
		t.Fatalf("login with %s…: %d, no session cookie", token[:3], resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+path, nil)
	req.AddCookie(session)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = ioCopy(b, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s with a session: %d %s", path, resp.StatusCode, b)
	}
	return b.String()
}

// TestReadOnlyCallersSeeNoSecrets: header values, bodies, URL
// credentials and push tokens reach read-write callers only, over the API
// and on the dashboard; the status page and badges name a site without a
// name by host and path.
func TestReadOnlyCallersSeeNoSecrets(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t)
	cfg.APITokens, cfg.ReadTokens, cfg.PublicRead = []string{rwToken}, []string{roToken}, true
	m := apptest.Start(t, cfg, app.Hooks{})
	base := m.URL()
	target := apptest.NewTarget(t)
	hostPath := strings.TrimPrefix(target.URL, "http://") + "/health"
	siteURL := "http://bob:hunter2@" + hostPath + "?token=t0k&page=1"
	for _, body := range []string{
		`{"url":"` + siteURL + `","method":"POST","headers":{"Authorization":"Bearer s3cr3t"},"body":"b0dy"}`,
		`{"kind":"push","name":"nightly"}`,
	} {
		if status, resp := doAuth(t, "POST", base+"/site", rwToken, body); status != 200 {
			t.Fatalf("add: %d %s", status, resp)
		}
	}
	_, pushList := doAuth(t, "GET", base+"/site/2", rwToken, "")
	pushToken := between(pushList, `"push_token":"`, `"`)
	if pushToken == "" {
		t.Fatalf("read-write GET of a push monitor has no push_token: %s", pushList)
	}
	secrets := []string{"hunter2", "t0k", "Bearer s3cr3t", "b0dy", pushToken}

	for _, path := range []string{"/site", "/site/1", "/site/2"} {
		for who, token := range map[string]string{"read-only": roToken, "anonymous": "", "read-write": rwToken} {
			status, body := doAuth(t, "GET", base+path, token, "")
			if status != 200 {
				t.Fatalf("%s GET %s: %d %s", who, path, status, body)
			}
			for _, s := range secrets {
				if strings.Contains(body, s) && who != "read-write" {
					t.Errorf("%s GET %s shows %q: %s", who, path, s, body)
				}
			}
			if path == "/site" && who != "read-write" && !strings.Contains(body, `"Authorization":"`+site.Redacted+`"`) {
				t.Errorf("%s GET /site lacks the header name with a redacted value: %s", who, body)
			}
			if path == "/site" && who == "read-write" {
				for _, s := range secrets {
					if !strings.Contains(body, s) {
						t.Errorf("read-write GET /site hides %q: %s", s, body)
					}
				}
			}
		}
	}

	// The dashboard of a read-only session; a read-write session sees all.
	page := sessionGet(t, base, roToken, "/frontend/sites/1")
	for _, s := range secrets {
		if strings.Contains(page, s) {
			t.Errorf("read-only dashboard shows %q", s)
		}
	}
	if !strings.Contains(page, "Authorization: "+site.Redacted) {
		t.Error("read-only dashboard lacks the header name with a redacted value")
	}
	if page := sessionGet(t, base, rwToken, "/frontend/sites/1"); !strings.Contains(page, "Bearer s3cr3t") || !strings.Contains(page, "hunter2") {
		t.Error("read-write dashboard hides the site's secrets")
	}

	// Public surfaces: host and path only, whoever asks.
	for _, path := range []string{"/status-page", "/badge/1/status.svg", "/badge/1/uptime.svg"} {
		for _, token := range []string{"", rwToken} {
			_, body := doAuth(t, "GET", base+path, token, "")
			if strings.Contains(body, "bob") || strings.Contains(body, "hunter2") || strings.Contains(body, "t0k") || strings.Contains(body, "page=1") {
				t.Errorf("%s shows the URL's user information or query: %s", path, body)
			}
			if !strings.Contains(body, hostPath) {
				t.Errorf("%s does not name the site by host and path: %s", path, body)
			}
		}
	}

	// The marker is never written back as a secret.
	status, body := doAuth(t, "PATCH", base+"/site/1", rwToken, `{"headers":{"Authorization":"`+site.Redacted+`"}}`)
	if status != 400 || !strings.Contains(body, `"field":"headers.Authorization"`) {
		t.Errorf("PATCH with the redaction marker: %d %s", status, body)
	}
}

// between returns the text of s between from and to, "" if absent.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

// TestSlackMessageHidesURLCredentials: the down message names the site
// by its URL without its user info (user and password) and with secret
// query values redacted.
func TestSlackMessageHidesURLCredentials(t *testing.T) {
	t.Parallel()
	_, c, slack := startSlackOnly(t, quickConfig(t), app.Hooks{})
	target := apptest.NewTarget(t)
	hostPath := strings.TrimPrefix(target.URL, "http://") + "/health"
	id := addSite(t, c, `{"url":"http://bob:hunter2@`+hostPath+`?token=t0k&page=1"}`)
	waitFirstCheck(t, c, id)
	target.SetStatus(500)
	checkNow(t, c, id)
	got := slack.WaitFor(1, 10*time.Second)
	want := "*http://" + hostPath + "?token=" + site.Redacted + "&amp;page=1 is down!*\nHTTP 500 after 1 failed check"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("slack messages %q, want [%q]", got, want)
	}
}
