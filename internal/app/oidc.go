package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"upmon/account"
	"upmon/platform/api"
)

// OIDCSecretName is the secret holding the OpenID Connect client secret.
const OIDCSecretName = "OIDCClientSecret"

// oidcStateCookie binds a sign-on in progress to the browser that
// started it: the callback's state must equal it (login CSRF).
const oidcStateCookie = "upmon_oidc_state"

// oidcLogin is single sign-on with an OpenID Connect provider
// (github.com/coreos/go-oidc for discovery, keys and ID token checks,
// golang.org/x/oauth2 for the code exchange with PKCE S256). The
// provider is discovered on first use and again after a failure, so an
// unreachable provider at start-up only delays sign-ons.
type oidcLogin struct {
	issuer, clientID, secret, redirect string
	roleClaim                          string
	defaultRole                        api.Role
	client                             *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCLogin(cfg Config, secret, publicURL string) *oidcLogin {
	def, _ := api.ParseRole(cfg.OIDCDefaultRole)
	return &oidcLogin{issuer: cfg.OIDCIssuer, clientID: cfg.OIDCClientID, secret: secret,
		redirect: publicURL + "/oidc/callback", roleClaim: cfg.OIDCRoleClaim, defaultRole: def,
		client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// setup returns the provider and the OAuth2 configuration.
func (o *oidcLogin) setup(ctx context.Context) (*oidc.Provider, *oauth2.Config, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("oidc discovery: %w", err)
		}
		o.provider = p
	}
	return o.provider, &oauth2.Config{ClientID: o.clientID, ClientSecret: o.secret, Endpoint: o.provider.Endpoint(),
		RedirectURL: o.redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// registerOIDC adds /oidc/login and /oidc/callback.
func (m *Main) registerOIDC() {
	m.api.Handle(api.Endpoint{Service: "platform", Method: "GET", Path: "/oidc/login", Access: api.Open}, http.HandlerFunc(m.oidcStart))
	m.api.Handle(api.Endpoint{Service: "platform", Method: "GET", Path: "/oidc/callback", Access: api.Open}, http.HandlerFunc(m.oidcCallback))
}

// oidcStart redirects the browser to the provider with a fresh state,
// nonce and PKCE challenge.
func (m *Main) oidcStart(w http.ResponseWriter, r *http.Request) {
	if m.oidc == nil {
		m.api.WriteError(w, r, api.ErrNotFoundEndpoint)
		return
	}
	_, conf, err := m.oidc.setup(r.Context())
	if err != nil {
		m.Logger.Warn("single sign-on unavailable", "err", err)
		m.loginHTML(w, http.StatusServiceUnavailable, loginData{Next: "/frontend/", Error: "Single sign-on is unavailable right now."})
		return
	}
	state, l := random(), account.OIDCLogin{Nonce: random(), Verifier: oauth2.GenerateVerifier(), Next: safeNext(r.URL.Query().Get("next"))}
	if err := m.Accounts.StartOIDCLogin(r.Context(), state, l); err != nil {
		m.api.WriteError(w, r, err)
		return
	}
	// Lax, not Strict: the provider's redirect back is a cross-site
	// navigation, which must carry it.
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: state, Path: "/oidc/", MaxAge: int(account.OIDCLoginTTL.Seconds()),
		HttpOnly: true, Secure: m.auth.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, conf.AuthCodeURL(state, oidc.Nonce(l.Nonce), oauth2.S256ChallengeOption(l.Verifier)), http.StatusFound)
}

// errSignOn is every refused callback's answer: which check failed is
// logged, not told.
var errSignOn = &api.Error{Code: api.Unauthenticated, Message: "single sign-on failed; start again from the sign-in page"}

// oidcCallback checks the state (bound to this browser, usable once),
// exchanges the code with the PKCE verifier, verifies the ID token
// (signature by the provider's keys, issuer, audience, expiry) and its
// nonce, and opens a session for the user it names.
func (m *Main) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if m.oidc == nil {
		m.api.WriteError(w, r, api.ErrNotFoundEndpoint)
		return
	}
	u, next, err := m.oidcUser(w, r)
	if err != nil {
		m.Logger.Warn("single sign-on refused", "err", err)
		m.api.WriteError(w, r, errSignOn)
		return
	}
	value, err := m.Accounts.OpenSession(r.Context(), u.ID, "", clientHost(r.RemoteAddr), r.UserAgent())
	if err != nil {
		m.api.WriteError(w, r, err)
		return
	}
	http.SetCookie(w, m.auth.cookie(r, value, int(m.auth.lifetime.Seconds())))
	// A page, not a redirect: the session cookie is SameSite=Strict, and
	// a redirect chain that began at the provider is cross-site, so the
	// browser would not send it. Following a link from our own page is
	// same-site.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'")
	w.Header().Set("Cache-Control", "no-store")
	_ = ssoDonePage.Execute(w, next)
}

var ssoDonePage = template.Must(template.New("sso").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={{.}}">
<title>Signed in · upmon</title><link rel="stylesheet" href="/frontend/static/app.css"></head>
<body><main class="login"><h1>upmon</h1><p>Signed in. <a id="continue" href="{{.}}">Continue</a></p></main></body></html>`))

// oidcUser runs the callback's checks and returns the signed-in user and
// where to go next.
func (m *Main) oidcUser(w http.ResponseWriter, r *http.Request) (*account.User, string, error) {
	ctx := r.Context()
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, "", fmt.Errorf("provider answered error %.64q", e)
	}
	state, code := q.Get("state"), q.Get("code")
	c, err := r.Cookie(oidcStateCookie)
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		return nil, "", errors.New("state does not match this browser's sign-on")
	}
	// The state is used up whatever follows (a forged one, above, leaves
	// the browser's sign-on in progress alone).
	http.SetCookie(w, &http.Cookie{Name: oidcStateCookie, Value: "", Path: "/oidc/", MaxAge: -1, HttpOnly: true})
	l, err := m.Accounts.TakeOIDCLogin(ctx, state)
	if err != nil {
		return nil, "", err
	}
	provider, conf, err := m.oidc.setup(ctx)
	if err != nil {
		return nil, "", err
	}
	hctx := oidc.ClientContext(ctx, m.oidc.client)
	tok, err := conf.Exchange(context.WithValue(hctx, oauth2.HTTPClient, m.oidc.client), code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		return nil, "", fmt.Errorf("code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return nil, "", errors.New("no id_token in the token response")
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: m.oidc.clientID}).Verify(hctx, raw)
	if err != nil {
		return nil, "", fmt.Errorf("id token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		return nil, "", errors.New("id token nonce does not match")
	}
	id, err := m.oidc.identity(idt)
	if err != nil {
		return nil, "", err
	}
	actx := account.WithPrincipal(ctx, &account.Principal{Name: "single sign-on", Address: clientHost(r.RemoteAddr)})
	u, err := m.Accounts.SignInOIDC(actx, id, m.oidc.defaultRole)
	return u, l.Next, err
}

// identity reads the claims upmon uses from a verified ID token.
func (o *oidcLogin) identity(idt *oidc.IDToken) (account.OIDCIdentity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return account.OIDCIdentity{}, err
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	verified, _ := claims["email_verified"].(bool)
	role := claimRole(claims[o.roleClaim])
	name := str("preferred_username")
	if name == "" {
		name = str("name")
	}
	return account.OIDCIdentity{Issuer: idt.Issuer, Subject: idt.Subject, Email: str("email"), EmailVerified: verified,
		Name: name, Role: role}, nil
}

// claimRole reads a role claim: a string, or a list of strings (the
// highest role in it); Anonymous when it holds no valid role.
func claimRole(v any) api.Role {
	switch x := v.(type) {
	case string:
		r, _ := api.ParseRole(x)
		return r
	case []any:
		best := api.Anonymous
		for _, e := range x {
			if s, ok := e.(string); ok {
				if r, ok := api.ParseRole(s); ok && r > best {
					best = r
				}
			}
		}
		return best
	}
	return api.Anonymous
}
