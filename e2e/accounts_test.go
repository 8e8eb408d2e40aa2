package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"upmon/account"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// session is a browser-like client with its own cookie jar.
type session struct {
	t    *testing.T
	base string
	c    *http.Client
}

// newSession returns a client that connects from local (a 127.0.0.x
// address), keeps cookies and does not follow redirects.
func newSession(t *testing.T, base, local string) *session {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &session{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request (JSON body unless form is set) and returns the
// response with its body read.
func (s *session) do(method, path, contentType, body string, header ...string) (*http.Response, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *session) loginJSON(login, password string) int {
	s.t.Helper()
	b, _ := json.Marshal(map[string]string{"login": login, "password": password})
	resp, _ := s.do("POST", "/login", "application/json", string(b))
	return resp.StatusCode
}

// TestAccountsOverHTTP: an owner made on the command line's code path
// signs in with a password (JSON), creates an editor over the API, the
// editor signs in with the form, makes a personal token that is shown
// once and works as a bearer token with the editor's role, changes a
// site, and the owner reads who did what in the audit log, secrets
// masked; the editor cannot read it. Log out everywhere ends both of
// the editor's sessions.
func TestAccountsOverHTTP(t *testing.T) {
	t.Parallel()
	target := apptest.NewTarget(t)
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	if _, err := m.Accounts.AddUser(context.Background(), &account.AddUserParams{Name: "ada", Email: "ada@example.com", Role: "owner", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	anon := newSession(t, m.URL(), "127.0.0.1")
	if resp, _ := anon.do("GET", "/site", "", ""); resp.StatusCode != 401 {
		t.Fatalf("with an owner, anonymous GET /site = %d, want 401", resp.StatusCode)
	}
	owner := newSession(t, m.URL(), "127.0.0.1")
	if got := owner.loginJSON("ada@example.com", "correct horse battery"); got != 200 {
		t.Fatalf("owner JSON login = %d", got)
	}
	resp, body := owner.do("POST", "/users", "application/json", `{"name":"eddie","email":"eddie@example.com","role":"editor","password":"eddie's long password"}`)
	if resp.StatusCode != 200 || strings.Contains(body, "argon2") {
		t.Fatalf("POST /users = %d %s", resp.StatusCode, body)
	}

	ed := newSession(t, m.URL(), "127.0.0.1")
	resp, _ = ed.do("POST", "/login", "application/x-www-form-urlencoded", url.Values{"login": {"eddie"}, "password": {"eddie's long password"}, "next": {"/frontend/"}}.Encode())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/frontend/" {
		t.Fatalf("editor form login = %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = ed.do("GET", "/me", "", "")
	if !strings.Contains(body, `"role":"editor"`) || !strings.Contains(body, `"via":"session"`) {
		t.Fatalf("GET /me = %s", body)
	}
	if resp, _ := ed.do("GET", "/audit", "", ""); resp.StatusCode != 403 {
		t.Fatalf("editor GET /audit = %d, want 403", resp.StatusCode)
	}
	if resp, _ := ed.do("POST", "/tokens", "application/json", `{"name":"ci","role":"owner"}`); resp.StatusCode != 403 {
		t.Fatalf("editor asks for an owner token: %d, want 403", resp.StatusCode)
	}
	resp, body = ed.do("POST", "/tokens", "application/json", `{"name":"ci","expires_in":"24h"}`)
	var tok account.Token
	_ = json.Unmarshal([]byte(body), &tok)
	if resp.StatusCode != 200 || !strings.HasPrefix(tok.Token, account.TokenPrefix) {
		t.Fatalf("POST /tokens = %d %s", resp.StatusCode, body)
	}
	if _, list := ed.do("GET", "/tokens", "", ""); strings.Contains(list, tok.Token) || !strings.Contains(list, tok.Prefix) {
		t.Fatalf("GET /tokens shows the token again or not at all: %s", list)
	}

	// The token works as a bearer token with the editor's rights.
	bearer := newSession(t, m.URL(), "127.0.0.1")
	resp, body = bearer.do("POST", "/site", "application/json", `{"url":"`+target.URL+`/?token=s3cr3t","headers":{"Authorization":"Bearer hunter2"}}`, "Authorization", "Bearer "+tok.Token)
	if resp.StatusCode != 200 {
		t.Fatalf("POST /site with the personal token = %d %s", resp.StatusCode, body)
	}
	var st struct{ ID int64 }
	_ = json.Unmarshal([]byte(body), &st)
	if resp, _ := bearer.do("GET", "/users", "", "", "Authorization", "Bearer "+tok.Token); resp.StatusCode != 403 {
		t.Fatalf("GET /users with an editor's token = %d", resp.StatusCode)
	}
	ed.do("PATCH", "/site/"+itoa(st.ID), "application/json", `{"name":"shop"}`)

	_, body = owner.do("GET", "/audit?action=site", "", "")
	var page account.AuditPage
	_ = json.Unmarshal([]byte(body), &page)
	if len(page.Entries) != 2 {
		t.Fatalf("audit of site changes: %s", body)
	}
	upd, add := page.Entries[0], page.Entries[1]
	if add.Actor != "eddie" || add.Action != "site.create" || upd.Action != "site.update" || upd.Actor != "eddie" ||
		upd.Address != "127.0.0.1" || !strings.Contains(string(upd.Before), target.URL) || !strings.Contains(string(upd.After), `"shop"`) {
		t.Fatalf("audit records: %+v / %+v", add, upd)
	}
	if strings.Contains(body, "s3cr3t") || strings.Contains(body, "hunter2") || strings.Contains(body, tok.Token) {
		t.Fatalf("the audit log holds a secret: %s", body)
	}
	owner.do("DELETE", "/site/"+itoa(st.ID), "", "")
	_, body = owner.do("GET", "/audit?action=site.delete", "", "")
	var del account.AuditPage
	_ = json.Unmarshal([]byte(body), &del)
	if len(del.Entries) != 1 || del.Entries[0].Actor != "ada" || !strings.Contains(string(del.Entries[0].Before), `"shop"`) ||
		del.Entries[0].After != nil || strings.Contains(body, "hunter2") {
		t.Fatalf("audit of a delete: %s", body)
	}
	if _, body := owner.do("GET", "/audit?action=user", "", ""); !strings.Contains(body, `"user.add"`) || !strings.Contains(body, `"actor":"ada"`) {
		t.Fatalf("user changes not audited: %s", body)
	}

	// Log out everywhere: a second session of the editor ends too.
	ed2 := newSession(t, m.URL(), "127.0.0.1")
	if got := ed2.loginJSON("eddie", "eddie's long password"); got != 200 {
		t.Fatalf("second login = %d", got)
	}
	_, body = ed.do("GET", "/me/sessions", "", "")
	if strings.Count(body, `"id"`) != 2 || !strings.Contains(body, `"current":true`) {
		t.Fatalf("GET /me/sessions = %s", body)
	}
	var eddie struct{ Users []account.User }
	_, body = owner.do("GET", "/users", "", "")
	_ = json.Unmarshal([]byte(body), &eddie)
	for _, u := range eddie.Users {
		if u.Name == "eddie" {
			if _, list := owner.do("GET", "/users/"+itoa(u.ID)+"/sessions", "", ""); strings.Count(list, `"id"`) != 2 {
				t.Fatalf("owner lists eddie's sessions: %s", list)
			}
		}
	}
	if resp, body := ed.do("DELETE", "/me/sessions", "", ""); resp.StatusCode != 200 || !strings.Contains(body, `"ended":2`) {
		t.Fatalf("log out everywhere = %d %s", resp.StatusCode, body)
	}
	for _, s := range []*session{ed, ed2} {
		if resp, _ := s.do("GET", "/me", "", ""); resp.StatusCode != 401 {
			t.Fatalf("after log out everywhere: GET /me = %d", resp.StatusCode)
		}
	}
	// Revoked tokens stop working.
	if resp, _ := owner.do("DELETE", "/tokens/"+itoa(tok.ID), "", ""); resp.StatusCode != 200 {
		t.Fatalf("owner revokes the token: %d", resp.StatusCode)
	}
	if resp, _ := bearer.do("GET", "/site", "", "", "Authorization", "Bearer "+tok.Token); resp.StatusCode != 401 {
		t.Fatalf("a revoked token: %d", resp.StatusCode)
	}
}

// TestLoginHostileInputs: failed sign-ins are throttled per account
// even when they come from different addresses, and per address; next=
// never leads off the site.
func TestLoginHostileInputs(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	m := apptest.Start(t, apptest.Config(t), app.Hooks{Clock: func() time.Time { return time.Unix(0, now.Load()) }})
	if _, err := m.Accounts.AddUser(context.Background(), &account.AddUserParams{Name: "ada", Email: "ada@example.com", Role: "owner", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	a := newSession(t, m.URL(), "127.0.0.2")
	if got := a.loginJSON("ada", "wrong password!"); got != 401 {
		t.Fatalf("wrong password = %d", got)
	}
	// Another address, the same account: throttled.
	b := newSession(t, m.URL(), "127.0.0.3")
	if got := b.loginJSON("ada", "correct horse battery"); got != 429 {
		t.Fatalf("right password for a throttled account from another address = %d, want 429", got)
	}
	// The same address, another account: throttled too.
	if got := a.loginJSON("nobody", "whatever it is"); got != 429 {
		t.Fatalf("a throttled address = %d, want 429", got)
	}
	// A third address and another account: not throttled.
	c := newSession(t, m.URL(), "127.0.0.4")
	if got := c.loginJSON("nobody", "whatever it is"); got != 401 {
		t.Fatalf("an unrelated sign-in = %d, want 401", got)
	}

	d := newSession(t, m.URL(), "127.0.0.5")
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "\\\\evil.example", "/%0d%0aSet-Cookie:x=y", "javascript:alert(1)", "/\t/evil.example"} {
		now.Add(int64(time.Minute)) // past the throttle of the failures above
		resp, _ := d.do("POST", "/login", "application/x-www-form-urlencoded",
			url.Values{"login": {"ada"}, "password": {"correct horse battery"}, "next": {next}}.Encode())
		loc := resp.Header.Get("Location")
		if resp.StatusCode == http.StatusSeeOther && loc != "/frontend/" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\r\n")) {
			t.Errorf("next=%q redirected to %q", next, loc)
		}
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != 429 {
			t.Errorf("next=%q: %d", next, resp.StatusCode)
		}
		if resp.StatusCode == 429 {
			t.Fatalf("next=%q: throttled after a success", next)
		}
	}
	resp, body := d.do("GET", "/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E", "", "")
	if resp.StatusCode != 200 || strings.Contains(body, "<script>") {
		t.Fatalf("login page with a hostile next: %d", resp.StatusCode)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
