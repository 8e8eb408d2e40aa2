package app

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"upmon/platform/api"
)

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · upmon</title><link rel="stylesheet" href="/frontend/static/style.css"></head>
<body><main class="login">
<h1>upmon</h1>
<form method="post" action="/login">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{{.Next}}">
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<button type="submit">Sign in</button>
</form></main></body></html>`))

type loginData struct {
	Next  string
	Error string
}

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/frontend/"
	}
	return next
}

// registerLogin adds the dashboard's sign-in and sign-out.
func (m *Main) registerLogin() {
	m.api.Handle(api.Endpoint{Service: "platform", Method: "GET", Path: "/login", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; frame-ancestors 'none'")
			_ = loginPage.Execute(w, loginData{Next: safeNext(r.URL.Query().Get("next"))})
		}))
	m.api.Handle(api.Endpoint{Service: "platform", Method: "POST", Path: "/login", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			next := safeNext(r.PostFormValue("next"))
			if d := m.login.wait(r.RemoteAddr); d > 0 {
				api.SetRetryAfter(w, &api.Error{Code: api.ResourceExhausted, RetryAfter: d})
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusTooManyRequests)
				_ = loginPage.Execute(w, loginData{Next: next, Error: "Too many failed attempts; wait a little and try again."})
				return
			}
			l := m.auth.tokenLevel(r.PostFormValue("token"))
			if l == levelNone {
				m.login.failed(r.RemoteAddr)
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusUnauthorized)
				_ = loginPage.Execute(w, loginData{Next: next, Error: "That token is not valid."})
				return
			}
			m.login.succeeded(r.RemoteAddr)
			value, err := m.auth.sessions.create(r.Context(), r.PostFormValue("token"))
			if err != nil {
				m.Logger.Warn("sign-in: cannot store the session", "err", err)
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusServiceUnavailable)
				_ = loginPage.Execute(w, loginData{Next: next, Error: "Signing in is unavailable right now; try again shortly."})
				return
			}
			http.SetCookie(w, m.auth.cookie(r, value, int(m.auth.lifetime.Seconds())))
			http.Redirect(w, r, next, http.StatusSeeOther)
		}))
	m.api.Handle(api.Endpoint{Service: "platform", Method: "POST", Path: "/logout", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The session ends on the server, so a copy of the cookie
			// stops working too.
			if c, err := r.Cookie(SessionCookie); err == nil {
				if err := m.auth.sessions.end(r.Context(), c.Value); err != nil {
					m.Logger.Warn("sign-out: cannot end the session", "err", err)
					http.Error(w, "signing out is unavailable right now; try again shortly", http.StatusServiceUnavailable)
					return
				}
			}
			http.SetCookie(w, m.auth.cookie(r, "", -1))
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}))
}

// loginRedirect sends browsers that open a dashboard page without a
// session to the sign-in page instead of answering a JSON 401.
func (m *Main) loginRedirect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.auth.enabled() && !m.auth.publicRead && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			strings.HasPrefix(r.URL.Path, "/frontend/") && !strings.HasPrefix(r.URL.Path, "/frontend/static/") {
			if l, _ := m.auth.requestLevel(r); l == levelNone {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
