package app

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// Access levels a request can carry.
type level int

const (
	levelNone level = iota
	levelRead
	levelWrite
)

// SessionCookie is the dashboard's login cookie.
const SessionCookie = "upmon_session"

// auth enforces the access policy: read-write and read-only bearer
// tokens (compared in constant time), a signed session cookie for the
// dashboard, loopback-only admin endpoints when no token is set.
type auth struct {
	write, read [][]byte
	publicRead  bool
	sessions    *sessions // server-side dashboard sessions
	secure      bool      // cookies are Secure: --public-url is https
	lifetime    time.Duration

	fpMu sync.Mutex
	fps  map[string]level // token fingerprints, once the key is known
}

func newAuth(cfg Config, sess *sessions) *auth {
	a := &auth{publicRead: cfg.PublicRead, sessions: sess, lifetime: cfg.SessionLifetime,
		secure: strings.HasPrefix(cfg.PublicURL, "https://")}
	for _, t := range cfg.APITokens {
		a.write = append(a.write, []byte(t))
	}
	for _, t := range cfg.ReadTokens {
		a.read = append(a.read, []byte(t))
	}
	return a
}

// enabled reports whether any token is configured.
func (a *auth) enabled() bool { return len(a.write)+len(a.read) > 0 }

// tokenLevel returns the level a token grants; every candidate is
// compared, in constant time, whatever matches first.
func (a *auth) tokenLevel(tok string) level {
	got := levelNone
	b := []byte(tok)
	for _, t := range a.write {
		if subtle.ConstantTimeCompare(b, t) == 1 {
			got = levelWrite
		}
	}
	for _, t := range a.read {
		if subtle.ConstantTimeCompare(b, t) == 1 && got == levelNone {
			got = levelRead
		}
	}
	return got
}

// requestLevel authenticates r by its bearer token or session cookie.
func (a *auth) requestLevel(r *http.Request) (level, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return levelNone, true
		}
		return a.tokenLevel(strings.TrimSpace(tok)), true
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return a.sessionLevel(r.Context(), c.Value), true
	}
	return levelNone, false
}

// withAccess records in each request's context what the caller may see
// of sites' secrets (site.AccessFrom): everything with a read-write token
// or session, or when no token is configured; redacted otherwise.
func (a *auth) withAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acc := site.AccessWrite
		if a.enabled() {
			switch l, _ := a.requestLevel(r); l {
			case levelWrite:
			case levelRead:
				acc = site.AccessRead
			default:
				acc = site.AccessPublic
			}
		}
		next.ServeHTTP(w, r.WithContext(site.WithAccess(r.Context(), acc)))
	})
}

// sessionLevel returns the level of the session a cookie names: the
// level its token has today, none when the session is over or its token
// is no longer configured.
func (a *auth) sessionLevel(ctx context.Context, cookie string) level {
	fp, err := a.sessions.lookup(ctx, cookie)
	if err != nil {
		return levelNone
	}
	return a.fingerprints(ctx)[fp]
}

// fingerprints returns the token fingerprints under the session key,
// computing them once the key can be read (a failed read is tried again
// on the next request rather than leaving sessions broken until restart).
func (a *auth) fingerprints(ctx context.Context) map[string]level {
	a.fpMu.Lock()
	defer a.fpMu.Unlock()
	if a.fps == nil {
		if fps, err := a.sessions.tokenFingerprints(ctx, a.write, a.read); err == nil {
			a.fps = fps
		}
	}
	return a.fps
}

// cookie returns the session cookie carrying value; maxAge < 0 deletes
// it. It is Secure when the request came over TLS or --public-url is
// https (TLS ends at a proxy in front of upmon).
func (a *auth) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode}
}

var (
	errUnauthenticated = &api.Error{Code: api.Unauthenticated, Message: "a valid token is required (Authorization: Bearer …)"}
	errReadOnly        = &api.Error{Code: api.PermissionDenied, Message: "this token is read-only"}
	errAdminLoopback   = &api.Error{Code: api.PermissionDenied, Message: "admin endpoints answer only loopback clients (or set --api-token)"}
)

// guard is the api.Guard enforcing the policy.
func (a *auth) guard(r *http.Request, ep api.Endpoint) error {
	switch ep.Access {
	case api.Open, api.Push:
		return nil
	case api.Admin:
		if !a.enabled() {
			if !isLoopback(r.RemoteAddr) {
				return errAdminLoopback
			}
			return nil
		}
	}
	if !a.enabled() {
		return nil
	}
	l, _ := a.requestLevel(r)
	needWrite := needsWrite(ep)
	switch {
	case needWrite && l == levelWrite:
		return nil
	case needWrite && l == levelRead:
		return errReadOnly
	case needWrite:
		return errUnauthenticated
	case l >= levelRead || a.publicRead:
		return nil
	}
	return errUnauthenticated
}

// needsWrite reports whether an endpoint needs a read-write token.
func needsWrite(ep api.Endpoint) bool {
	return ep.Access == api.Admin || (ep.Mutating && !readLike(ep))
}

// readLike marks POST endpoints that change nothing: /ping and the
// login form.
func readLike(ep api.Endpoint) bool {
	return strings.HasPrefix(ep.Path, "/ping/") || ep.Path == "/login" || ep.Path == "/logout"
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
