package web

import (
	"fmt"
	"net/http"
	"strings"

	"upmon/platform/api"
)

// corsMethods are the methods cross-origin callers may use on the API
// paths listed by corsPath.
const corsMethods = "GET, POST, DELETE, PATCH"

// corsPath reports whether p is one of the JSON API paths the tutorial's
// frontend calls from another origin: /site, /site/{id} and /status.
func corsPath(p string) bool {
	if p == "/site" || p == "/status" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/site/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// ValidateOrigins checks a list of trusted origins ("scheme://host[:port]",
// no path), as --cors-origins takes them.
func ValidateOrigins(origins []string) error {
	cop := http.NewCrossOriginProtection()
	for _, o := range origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return fmt.Errorf("%q is not an origin like https://app.example.com", o)
		}
	}
	return nil
}

// Protect wraps the whole server. It refuses state-changing browser
// requests from other origins (http.CrossOriginProtection), except from
// the trusted origins; requests without Origin or Sec-Fetch-Site headers
// (curl, scripts) pass. It also answers CORS preflights, and adds CORS
// headers to answers, for exactly the trusted origins on GET, POST,
// DELETE and PATCH of /site, /site/{id} and /status. Invalid origins are
// ignored; validate them first with ValidateOrigins.
func Protect(origins []string, next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	trusted := make(map[string]bool, len(origins))
	for _, o := range origins {
		if err := cop.AddTrustedOrigin(o); err == nil {
			trusted[o] = true
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusForbidden, api.Errorf(api.PermissionDenied, "cross-origin request refused"))
	}))
	protected := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !corsPath(r.URL.Path) {
			protected.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !trusted[origin] {
			if preflight {
				api.WriteJSON(w, http.StatusForbidden, api.Errorf(api.PermissionDenied, "origin not allowed"))
				return
			}
			protected.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		protected.ServeHTTP(w, r)
	})
}
