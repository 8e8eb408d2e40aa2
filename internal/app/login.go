package app

import (
	"encoding/json"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"upmon/account"
	"upmon/platform/api"
)

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Setup}}Set up{{else}}Sign in{{end}} · upmon</title><link rel="stylesheet" href="/frontend/static/app.css"></head>
<body><main class="login">
<h1>upmon</h1>
{{if .Setup}}<p>Create the first owner of this installation.</p>
<form method="post" action="/setup">
<label for="name">Name</label>
<input id="name" name="name" autocomplete="username" required autofocus>
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<button type="submit">Create owner</button>
</form>{{else}}<form method="post" action="/login" id="password-login">
<label for="login">Name or email</label>
<input id="login" name="login" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{{.Next}}">
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<button type="submit">Sign in</button>
</form>
{{if .SSO}}<form method="get" action="/oidc/login" id="sso-login"><input type="hidden" name="next" value="{{.Next}}">
<button type="submit">Sign in with single sign-on</button></form>{{end}}
<details><summary>Sign in with an access token</summary>
<form method="post" action="/login" id="token-login">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<input type="hidden" name="next" value="{{.Next}}">
<button type="submit">Sign in with the token</button>
</form></details>{{end}}
</main></body></html>`))

type loginData struct {
	Next  string
	Error string
	SSO   bool
	Setup bool
}

// safeNext keeps post-login redirects on this site: a path, not a
// scheme-relative URL (//evil), not a backslash trick (/\evil), no
// control characters.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/frontend/"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/frontend/"
	}
	return next
}

// loginRequest is a sign-in, as JSON or form fields: a name or email and
// a password, or an access token (a service token or a personal one).
type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	Token    string `json:"token"`
	Next     string `json:"next"`
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// readLogin reads a sign-in from a JSON body or a form.
func readLogin(w http.ResponseWriter, r *http.Request) (loginRequest, error) {
	var lr loginRequest
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if isJSON(r) {
		if err := json.NewDecoder(r.Body).Decode(&lr); err != nil {
			return lr, api.Errorf(api.InvalidArgument, "invalid JSON body")
		}
		return lr, nil
	}
	if err := r.ParseForm(); err != nil {
		return lr, api.Errorf(api.InvalidArgument, "could not read the form")
	}
	return loginRequest{Login: r.PostFormValue("login"), Password: r.PostFormValue("password"),
		Token: r.PostFormValue("token"), Next: r.PostFormValue("next")}, nil
}

// errBadLogin refuses a sign-in without saying which part was wrong.
var errBadLogin = &api.Error{Code: api.Unauthenticated, Message: "that name and password (or token) are not valid"}

// loginHTML answers a form sign-in's failure with the page again.
func (m *Main) loginHTML(w http.ResponseWriter, status int, d loginData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	d.SSO = m.oidc != nil
	_ = loginPage.Execute(w, d)
}

// postLogin signs a user in with a password, or a browser in with a
// token, and sets the session cookie. Failures are throttled per address
// and per account named (loginThrottle).
func (m *Main) postLogin(w http.ResponseWriter, r *http.Request) {
	lr, err := readLogin(w, r)
	asJSON := isJSON(r)
	next := safeNext(lr.Next)
	fail := func(e *api.Error, msg string) {
		if asJSON {
			m.api.WriteError(w, r, e)
			return
		}
		api.SetRetryAfter(w, e)
		m.loginHTML(w, e.Status(), loginData{Next: next, Error: msg})
	}
	if err != nil {
		fail(api.AsError(err), "The sign-in form could not be read.")
		return
	}
	keys := loginKeys(r.RemoteAddr, lr.Login)
	if d := m.login.wait(keys...); d > 0 {
		fail(&api.Error{Code: api.ResourceExhausted, Message: "too many failed sign-ins; try again later", RetryAfter: d},
			"Too many failed attempts; wait a little and try again.")
		return
	}
	userID, fp, name, role, err := m.checkLogin(r, lr)
	if err != nil {
		fail(&api.Error{Code: api.Unavailable, Message: "signing in is unavailable right now"}, "Signing in is unavailable right now; try again shortly.")
		return
	}
	if userID == 0 && fp == "" {
		m.login.failed(keys...)
		fail(errBadLogin, "That name and password (or token) are not valid.")
		return
	}
	m.login.succeeded(keys...)
	m.startSession(w, r, userID, fp, name, role, next, asJSON)
}

// checkLogin returns who a sign-in names: a user (userID) or a service
// token (fp); neither when the credentials are wrong.
func (m *Main) checkLogin(r *http.Request, lr loginRequest) (userID int64, fp, name, role string, err error) {
	if lr.Token != "" {
		if rl := m.auth.serviceRole(lr.Token); rl != api.Anonymous {
			return 0, account.ServiceFingerprint(lr.Token), serviceTokenName, rl.String(), nil
		}
		return 0, "", "", "", nil
	}
	u, err := m.Accounts.Authenticate(r.Context(), lr.Login, lr.Password)
	if err != nil || u == nil {
		return 0, "", "", "", err
	}
	return u.ID, "", u.Name, u.Role, nil
}

// startSession opens a session and answers the sign-in: a redirect to
// next for a form, the caller as JSON otherwise.
func (m *Main) startSession(w http.ResponseWriter, r *http.Request, userID int64, fp, name, role, next string, asJSON bool) {
	value, err := m.Accounts.OpenSession(r.Context(), userID, fp, clientHost(r.RemoteAddr), r.UserAgent())
	if err != nil {
		m.Logger.Warn("sign-in: cannot store the session", "err", err)
		if asJSON {
			m.api.WriteError(w, r, &api.Error{Code: api.Unavailable, Message: "signing in is unavailable right now"})
			return
		}
		m.loginHTML(w, http.StatusServiceUnavailable, loginData{Next: next, Error: "Signing in is unavailable right now; try again shortly."})
		return
	}
	http.SetCookie(w, m.auth.cookie(r, value, int(m.auth.lifetime.Seconds())))
	if asJSON {
		api.WriteJSON(w, http.StatusOK, map[string]string{"name": name, "role": role})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// registerLogin adds the dashboard's sign-in, sign-out and first set-up.
func (m *Main) registerLogin() {
	m.api.Handle(api.Endpoint{Service: "platform", Method: "GET", Path: "/login", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.loginHTML(w, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
		}))
	m.api.Handle(api.Endpoint{Service: "platform", Method: "POST", Path: "/login", Access: api.Open}, http.HandlerFunc(m.postLogin))
	m.api.Handle(api.Endpoint{Service: "platform", Method: "POST", Path: "/logout", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The session ends on the server, so a copy of the cookie
			// stops working too.
			if c, err := r.Cookie(SessionCookie); err == nil {
				if err := m.Accounts.EndSession(r.Context(), c.Value); err != nil {
					m.Logger.Warn("sign-out: cannot end the session", "err", err)
					m.api.WriteError(w, r, &api.Error{Code: api.Unavailable, Message: "signing out is unavailable right now; try again shortly"})
					return
				}
			}
			http.SetCookie(w, m.auth.cookie(r, "", -1))
			if isJSON(r) {
				api.WriteJSON(w, http.StatusOK, struct{}{})
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}))
	m.registerSetup()
}

// errSetupClosed answers the set-up page once an account exists, or to
// a client not on loopback.
var errSetupClosed = &api.Error{Code: api.NotFound, Message: "set-up is done (or open it from the server itself)"}

// setupOpen reports whether the one-time set-up page may answer r: no
// user exists yet and the client is on loopback.
func (m *Main) setupOpen(r *http.Request) bool {
	if !isLoopback(r.RemoteAddr) {
		return false
	}
	n, err := m.Accounts.CountUsers(r.Context())
	return err == nil && n == 0
}

// registerSetup adds the one-time set-up page that creates the first
// owner of a fresh install, reachable only from loopback.
func (m *Main) registerSetup() {
	m.api.Handle(api.Endpoint{Service: "platform", Method: "GET", Path: "/setup", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !m.setupOpen(r) {
				m.api.WriteError(w, r, errSetupClosed)
				return
			}
			m.loginHTML(w, http.StatusOK, loginData{Setup: true})
		}))
	m.api.Handle(api.Endpoint{Service: "platform", Method: "POST", Path: "/setup", Access: api.Open},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
			if !m.setupOpen(r) || r.ParseForm() != nil {
				m.api.WriteError(w, r, errSetupClosed)
				return
			}
			p := &account.Principal{Name: "set-up", Address: clientHost(r.RemoteAddr)}
			u, err := m.Accounts.AddUser(account.WithPrincipal(r.Context(), p), &account.AddUserParams{
				Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), Role: "owner", Password: r.PostFormValue("password")})
			if err != nil {
				var ae *api.Error
				msg := "The owner could not be created."
				if errors.As(err, &ae) && ae.Code != api.Internal {
					msg = ae.Message
				}
				m.loginHTML(w, api.AsError(err).Status(), loginData{Setup: true, Error: msg})
				return
			}
			m.auth.hasUsers.Store(true)
			m.startSession(w, r, u.ID, "", u.Name, u.Role, "/frontend/", false)
		}))
}

// loginRedirect sends browsers that open a dashboard page without a
// session to the sign-in page instead of answering a JSON 401. It runs
// after withAccess.
func (m *Main) loginRedirect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.auth.publicRead && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			strings.HasPrefix(r.URL.Path, "/frontend/") && !strings.HasPrefix(r.URL.Path, "/frontend/static/") {
			if c := callerFrom(r.Context()); c.via != "open" && c.p.Role == api.Anonymous {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
