package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"upmon/platform/api"
)

// Every dashboard form refuses a body larger than the API's limit with
// 413, and acts on nothing.
func TestFormsCapTheBody(t *testing.T) {
	e := newEnv(t, true)
	e.add("https://a.example")
	big := "return=site&pad=" + strings.Repeat("x", api.MaxBodyBytes)
	for _, path := range []string{"/frontend/sites", "/frontend/sites/1/check", "/frontend/sites/1/delete", "/frontend/sites/1/settings"} {
		req := httptest.NewRequest("POST", path, strings.NewReader(big))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with %d bytes = %d, want 413", path, len(big), w.Code)
		}
	}
	if len(e.mon.checked) != 0 || len(e.sites.sites) != 1 {
		t.Errorf("an oversized form acted: %d checks, %d sites", len(e.mon.checked), len(e.sites.sites))
	}
}
