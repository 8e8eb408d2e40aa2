package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestSetupPageOnce: on a fresh install the set-up page answers loopback
// clients only, creates the first owner, signs them in, and is gone
// afterwards; from then on the API needs a sign-in.
func TestSetupPageOnce(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	form := url.Values{"name": {"ada"}, "email": {"ada@example.com"}, "password": {"correct horse battery"}}.Encode()

	// From another address (through the handler: tests reach only
	// loopback), the page does not exist.
	for _, method := range []string{"GET", "POST"} {
		r := httptest.NewRequest(method, "/setup", strings.NewReader(form))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = "192.0.2.7:5000"
		w := httptest.NewRecorder()
		m.Handler().ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Fatalf("%s /setup from 192.0.2.7 = %d, want 404", method, w.Code)
		}
	}
	s := newSession(t, m.URL(), "127.0.0.1")
	if resp, body := s.do("GET", "/setup", "", ""); resp.StatusCode != 200 || !strings.Contains(body, `action="/setup"`) {
		t.Fatalf("GET /setup on a fresh install = %d", resp.StatusCode)
	}
	resp, _ := s.do("POST", "/setup", "application/x-www-form-urlencoded", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /setup = %d", resp.StatusCode)
	}
	if _, body := s.do("GET", "/me", "", ""); !strings.Contains(body, `"role":"owner"`) {
		t.Fatalf("after set-up, GET /me = %s", body)
	}
	again := url.Values{"name": {"mallory"}, "email": {"m@example.com"}, "password": {"correct horse battery"}}.Encode()
	other := newSession(t, m.URL(), "127.0.0.1")
	if resp, _ := other.do("POST", "/setup", "application/x-www-form-urlencoded", again); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a second POST /setup = %d, want 404", resp.StatusCode)
	}
	if resp, _ := other.do("GET", "/site", "", ""); resp.StatusCode != 401 {
		t.Fatalf("after set-up, anonymous GET /site = %d, want 401", resp.StatusCode)
	}
}
