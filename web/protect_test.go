package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProtect(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ran")) })
	h := Protect([]string{"https://app.example", "http://localhost:3000"}, ok)
	type hdrs map[string]string
	tests := []struct {
		name, method, path string
		hdr                hdrs
		code               int
		allowOrigin        string
		ran                bool
	}{
		{"curl POST (no Origin)", "POST", "/site", nil, 200, "", true},
		{"curl DELETE", "DELETE", "/site/1", nil, 200, "", true},
		{"same-origin form", "POST", "/frontend/sites", hdrs{"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:4000"}, 200, "", true},
		{"cross-site form", "POST", "/frontend/sites", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, "", false},
		{"cross-site API", "POST", "/site", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, "", false},
		{"cross-site API, old browser", "DELETE", "/site/1", hdrs{"Origin": "https://evil.example"}, 403, "", false},
		{"trusted origin API", "POST", "/site", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"}, 200, "https://app.example", true},
		{"trusted origin DELETE", "DELETE", "/site/7", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost:3000"}, 200, "http://localhost:3000", true},
		{"trusted origin GET status", "GET", "/status", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"}, 200, "https://app.example", true},
		{"trusted origin, page form", "POST", "/frontend/sites", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"}, 200, "", true},
		{"cross-site GET runs, no CORS", "GET", "/site", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200, "", true},
		{"preflight trusted", "OPTIONS", "/site/3", hdrs{"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"}, 204, "https://app.example", false},
		{"preflight untrusted", "OPTIONS", "/site", hdrs{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, 403, "", false},
		{"preflight other path", "OPTIONS", "/check/1", hdrs{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, 200, "", true},
		{"nested path not CORS", "GET", "/site/1/x", hdrs{"Origin": "https://app.example"}, 200, "", true},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		ran := w.Body.String() == "ran"
		if w.Code != tc.code || w.Header().Get("Access-Control-Allow-Origin") != tc.allowOrigin || ran != tc.ran {
			t.Errorf("%s: %d ACAO=%q ran=%v; want %d %q %v", tc.name, w.Code, w.Header().Get("Access-Control-Allow-Origin"), ran, tc.code, tc.allowOrigin, tc.ran)
		}
		if tc.code == 204 {
			if m := w.Header().Get("Access-Control-Allow-Methods"); m != "GET, POST, DELETE, PATCH" {
				t.Errorf("%s: methods %q", tc.name, m)
			}
			if !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Content-Type") {
				t.Errorf("%s: headers %q", tc.name, w.Header().Get("Access-Control-Allow-Headers"))
			}
		}
		if tc.code == 403 && !strings.Contains(w.Body.String(), `"permission_denied"`) {
			t.Errorf("%s: body %s", tc.name, w.Body)
		}
	}
}

func TestNoOriginsTrustsNone(t *testing.T) {
	h := Protect(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("OPTIONS", "/site", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight with no origins = %d %v", w.Code, w.Header())
	}
}

func TestValidateOrigins(t *testing.T) {
	if err := ValidateOrigins([]string{"https://a.example", "http://localhost:3000"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"a.example", "https://a.example/path", "*", ""} {
		if ValidateOrigins([]string{bad}) == nil {
			t.Errorf("ValidateOrigins(%q) = nil", bad)
		}
	}
}
