package app

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"upmon/account"
	"upmon/platform/api"
	"upmon/site"
)

// SessionCookie is the dashboard's login cookie.
const SessionCookie = "upmon_session"

// Service tokens (--api-token, --read-token) act as built-in callers: a
// read-write token is an owner (it always could use /admin/), a
// read-only token a viewer.
const serviceTokenName = account.ServiceTokenName

// auth authenticates requests: personal tokens and sessions of users
// (the accounts service), the service tokens of the flags (compared in
// constant time), and decides with the route registry (api.RequiredRole)
// whether the caller's role may call an endpoint.
type auth struct {
	dbTimeout   time.Duration // bounds the account database calls of one identification
	write, read [][]byte
	publicRead  bool
	accounts    *account.Service
	secure      bool // cookies are Secure: --public-url is https
	lifetime    time.Duration
	hasUsers    atomic.Bool // once true, stays true: the last owner cannot be deleted
}

func newAuth(cfg Config, accounts *account.Service) *auth {
	a := &auth{publicRead: cfg.PublicRead, accounts: accounts, lifetime: cfg.SessionLifetime,
		secure: strings.HasPrefix(cfg.PublicURL, "https://"), dbTimeout: cfg.DBTimeout}
	if a.dbTimeout <= 0 {
		a.dbTimeout = 5 * time.Second
	}
	for _, t := range cfg.APITokens {
		a.write = append(a.write, []byte(t))
	}
	for _, t := range cfg.ReadTokens {
		a.read = append(a.read, []byte(t))
	}
	return a
}

// enabled reports whether access is controlled: a service token is
// configured or a user exists. Without either (a fresh install on
// loopback), every caller may do everything but the owner endpoints,
// which answer loopback clients only. An error (the account database is
// unavailable) means it cannot be decided.
func (a *auth) enabled(ctx context.Context) (bool, error) {
	if len(a.write)+len(a.read) > 0 || a.hasUsers.Load() {
		return true, nil
	}
	if a.accounts == nil {
		return false, nil
	}
	n, err := a.accounts.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	if n > 0 {
		a.hasUsers.Store(true)
	}
	return n > 0, nil
}

// serviceRole returns the role a service token grants; every candidate
// is compared, in constant time, whatever matches first.
func (a *auth) serviceRole(tok string) api.Role {
	got := api.Anonymous
	b := []byte(tok)
	for _, t := range a.write {
		if subtle.ConstantTimeCompare(b, t) == 1 {
			got = api.Owner
		}
	}
	for _, t := range a.read {
		if subtle.ConstantTimeCompare(b, t) == 1 && got == api.Anonymous {
			got = api.Viewer
		}
	}
	return got
}

// serviceRoleByFP returns the role of the service token a session was
// opened with, if it is still configured.
func (a *auth) serviceRoleByFP(fp string) api.Role {
	got := api.Anonymous
	for _, t := range a.read {
		if account.ServiceFingerprint(string(t)) == fp {
			got = api.Viewer
		}
	}
	for _, t := range a.write {
		if account.ServiceFingerprint(string(t)) == fp {
			got = api.Owner
		}
	}
	return got
}

// caller is what authentication found out about a request.
type caller struct {
	p         *account.Principal
	via       string // session, token, service-token, open or ""
	sessionID string
	// err is why the caller could not be identified (the account
	// database is unavailable); the guard answers it instead of 401.
	err error
}

// authenticate returns the caller of r: by bearer token, else by session
// cookie; anonymous when neither is valid. When the account database
// cannot tell (it is unavailable), the caller is anonymous with err set.
func (a *auth) authenticate(r *http.Request) caller {
	ctx := r.Context()
	addr := clientHost(r.RemoteAddr)
	anon := caller{p: &account.Principal{Name: "anonymous", Address: addr}}
	undecided := func(err error) caller { return caller{p: anon.p, err: err} }
	on, err := a.enabled(ctx)
	if err != nil {
		return undecided(err)
	}
	if !on {
		return caller{p: &account.Principal{Name: "anonymous", Role: api.Owner, Address: addr}, via: "open"}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return anon
		}
		tok = strings.TrimSpace(tok)
		if role := a.serviceRole(tok); role != api.Anonymous {
			return caller{p: &account.Principal{Name: serviceTokenName, Role: role, Address: addr}, via: "service-token"}
		}
		if a.accounts != nil {
			p, err := a.accounts.AuthenticateToken(ctx, tok)
			if err != nil {
				return undecided(err)
			}
			if p != nil {
				p.Address = addr
				return caller{p: p, via: "token"}
			}
		}
		return anon
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || a.accounts == nil {
		return anon
	}
	ss, err := a.accounts.LookupSession(ctx, c.Value)
	if errors.Is(err, account.ErrNoSession) {
		return anon
	} else if err != nil {
		return undecided(err)
	}
	if ss.UserID == 0 {
		role := a.serviceRoleByFP(ss.ServiceFP())
		if role == api.Anonymous {
			return anon
		}
		return caller{p: &account.Principal{Name: serviceTokenName, Role: role, Address: addr}, via: "session", sessionID: ss.ID}
	}
	u, err := a.accounts.GetUser(ctx, &account.UserID{ID: ss.UserID})
	if api.IsCode(err, api.NotFound) {
		return anon // deleted meanwhile
	} else if err != nil {
		return undecided(err)
	}
	role, _ := api.ParseRole(u.Role)
	return caller{p: &account.Principal{UserID: u.ID, Name: u.Name, Role: role, Address: addr}, via: "session", sessionID: ss.ID}
}

// withAccess authenticates each request once and records the caller in
// its context (account.PrincipalFrom), with what it may see of sites'
// secrets (site.AccessFrom): everything for editors and owners (or any
// caller of an installation without access control), redacted otherwise.
func (a *auth) withAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Identifying the caller may read the account database: bounded
		// like every hot-path call (--db-timeout), so a stalled database
		// answers 503 in time and open endpoints (/healthz) still answer.
		actx, cancel := context.WithTimeout(r.Context(), a.dbTimeout)
		c := a.authenticate(r.WithContext(actx))
		cancel()
		acc := site.AccessPublic
		switch {
		case c.p.Role >= api.Editor:
			acc = site.AccessWrite
		case c.p.Role == api.Viewer:
			acc = site.AccessRead
		}
		ctx := site.WithAccess(r.Context(), acc)
		ctx = account.WithPrincipal(ctx, c.p)
		ctx = account.WithVia(ctx, c.via)
		ctx = account.WithSessionID(ctx, c.sessionID)
		ctx = context.WithValue(ctx, callerKey{}, c)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// cookie returns the session cookie carrying value; maxAge < 0 deletes
// it. It is Secure when the request came over TLS or --public-url is
// https (TLS ends at a proxy in front of upmon).
func (a *auth) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

var (
	errUnauthenticated = &api.Error{Code: api.Unauthenticated, Message: "sign in or send a valid token (Authorization: Bearer …)"}
	errAdminLoopback   = &api.Error{Code: api.PermissionDenied, Message: "admin endpoints answer only loopback clients (or create an owner, or set --api-token)"}
	errNoRule          = errors.New("app: endpoint without an access rule")
)

// errNeedsRole is the refusal for a signed-in caller whose role is short.
func errNeedsRole(need api.Role) error {
	return &api.Error{Code: api.PermissionDenied, Message: "this needs the " + need.String() + " role"}
}

// guard is the api.Guard enforcing the policy: the caller's role against
// the role the route registry requires (api.RequiredRole).
func (a *auth) guard(r *http.Request, ep api.Endpoint) error {
	need, ok := api.RequiredRole(ep)
	if !ok {
		return errNoRule
	}
	if need == api.Anonymous {
		return nil
	}
	c := callerFrom(r.Context())
	if c.err != nil {
		return c.err // who is calling cannot be decided: 503, not 401
	}
	if c.via == "open" {
		if need == api.Owner && !isLoopback(r.RemoteAddr) {
			return errAdminLoopback
		}
		return nil
	}
	p := c.p
	switch {
	case p.Role >= need:
		return nil
	case need == api.Viewer && ep.Access == api.Public && a.publicRead:
		return nil
	case p.Role == api.Anonymous:
		return errUnauthenticated
	}
	return errNeedsRole(need)
}

type callerKey struct{}

// callerFrom returns the caller withAccess recorded; anonymous when
// none was (a request that did not pass through withAccess).
func callerFrom(ctx context.Context) caller {
	if c, ok := ctx.Value(callerKey{}).(caller); ok {
		return c
	}
	return caller{p: &account.Principal{Name: "anonymous"}}
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
