package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"upmon/platform/api"
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

// sessionTTL is how long a dashboard login lasts.
const sessionTTL = 7 * 24 * time.Hour

// auth enforces the access policy: read-write and read-only bearer
// tokens (compared in constant time), a signed session cookie for the
// dashboard, loopback-only admin endpoints when no token is set.
type auth struct {
	write, read [][]byte
	publicRead  bool
	key         []byte // signs session cookies; derived from the tokens
	now         func() time.Time
}

func newAuth(cfg Config) *auth {
	a := &auth{publicRead: cfg.PublicRead, now: time.Now}
	h := sha256.New()
	h.Write([]byte("upmon session key\x00"))
	for _, t := range cfg.APITokens {
		a.write = append(a.write, []byte(t))
		h.Write([]byte("w" + t + "\x00"))
	}
	for _, t := range cfg.ReadTokens {
		a.read = append(a.read, []byte(t))
		h.Write([]byte("r" + t + "\x00"))
	}
	a.key = h.Sum(nil)
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
		return a.sessionLevel(c.Value), true
	}
	return levelNone, false
}

// session returns a signed cookie value for a level: "w|r.expiry.mac".
func (a *auth) session(l level) string {
	kind := "r"
	if l == levelWrite {
		kind = "w"
	}
	body := kind + "." + strconv.FormatInt(a.now().Add(sessionTTL).Unix(), 10)
	return body + "." + a.mac(body)
}

func (a *auth) mac(body string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func (a *auth) sessionLevel(v string) level {
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		return levelNone
	}
	body, sig := v[:i], v[i+1:]
	if !hmac.Equal([]byte(sig), []byte(a.mac(body))) {
		return levelNone
	}
	kind, exp, ok := strings.Cut(body, ".")
	if !ok {
		return levelNone
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || a.now().Unix() > e {
		return levelNone
	}
	if kind == "w" {
		return levelWrite
	}
	return levelRead
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

// limiter rate-limits expensive endpoints per client address.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	clients map[string]*clientLimit
	sweep   time.Time
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{every: rate.Limit(perSecond), burst: burst, clients: map[string]*clientLimit{}}
}

// allow reports whether the client may make one more request now.
func (l *limiter) allow(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		for k, c := range l.clients {
			if now.Sub(c.seen) > 5*time.Minute {
				delete(l.clients, k)
			}
		}
		l.sweep = now
	}
	c := l.clients[host]
	if c == nil {
		c = &clientLimit{lim: rate.NewLimiter(l.every, l.burst)}
		l.clients[host] = c
	}
	c.seen = now
	return c.lim.AllowN(now, 1)
}

var errRateLimited = &api.Error{Code: api.ResourceExhausted, Message: "too many requests; slow down"}

// guard limits /ping and /check per client address.
func (l *limiter) guard(r *http.Request, ep api.Endpoint) error {
	if !strings.HasPrefix(ep.Path, "/ping/") && !strings.HasPrefix(ep.Path, "/check") {
		return nil
	}
	if !l.allow(r.RemoteAddr) {
		return errRateLimited
	}
	return nil
}
