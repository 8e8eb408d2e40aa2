package app

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"upmon/platform/api"
)

// limiter rate-limits expensive endpoints per client address, with a
// token bucket for each class of endpoint (rateClass) and client.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	now     func() time.Time
	clients map[string]*clientLimit
	sweep   time.Time
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{every: rate.Limit(perSecond), burst: burst, now: time.Now, clients: map[string]*clientLimit{}}
}

// clientHost is the address a limit applies to: the client's IP.
func clientHost(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// wait returns 0 when the client may make one more request of a class
// now, else how long until it may.
func (l *limiter) wait(class, remote string) time.Duration {
	host := class + " " + clientHost(remote)
	now := l.now()
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
	r := c.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// rateClass returns the class of a rate-limited endpoint, or "": the
// ones that make upmon connect out (/ping, /check, the dashboard's check
// button), push heartbeats, sign-in and the dashboard's delete button.
// Each class has its own budget per client.
func rateClass(ep api.Endpoint) string {
	p := ep.Path
	switch {
	case strings.HasPrefix(p, "/ping/"), strings.HasPrefix(p, "/check"):
		return "probe"
	case strings.HasPrefix(p, "/push/"):
		return "push"
	case ep.Method != http.MethodPost:
		return ""
	case p == "/login":
		return "login"
	case strings.HasPrefix(p, "/frontend/sites/") && strings.HasSuffix(p, "/check"):
		return "probe"
	case strings.HasPrefix(p, "/frontend/sites/") && strings.HasSuffix(p, "/delete"):
		return "delete"
	}
	return ""
}

// guard answers 429 with Retry-After to a client past its limit.
func (l *limiter) guard(r *http.Request, ep api.Endpoint) error {
	class := rateClass(ep)
	if class == "" {
		return nil
	}
	if d := l.wait(class, r.RemoteAddr); d > 0 {
		return &api.Error{Code: api.ResourceExhausted, Message: "too many requests; slow down", RetryAfter: d}
	}
	return nil
}

// loginThrottle makes a client wait after failed sign-ins: 1 s after the
// first, doubling up to loginMaxDelay; a success clears it. Sign-in
// throttles two keys at once: the client's address and the account
// named (loginKeys), so spreading guesses over many addresses does not
// speed up guessing one account's password.
type loginThrottle struct {
	mu      sync.Mutex
	now     func() time.Time
	clients map[string]*loginFailures
	sweep   time.Time
}

type loginFailures struct {
	n     int
	until time.Time
}

// loginMaxDelay caps the wait after repeated failed sign-ins.
const loginMaxDelay = 30 * time.Second

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{now: time.Now, clients: map[string]*loginFailures{}}
}

// loginDelay is the wait after n consecutive failures.
func loginDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	return min(time.Second<<min(n-1, 6), loginMaxDelay)
}

// loginKeys are the throttle keys of a sign-in from remote naming login.
func loginKeys(remote, login string) []string {
	keys := []string{"addr\x00" + clientHost(remote)}
	if login != "" {
		keys = append(keys, "account\x00"+strings.ToLower(login))
	}
	return keys
}

// wait returns how long a client must wait before trying again, the
// longest wait of its keys, or 0.
func (t *loginThrottle) wait(keys ...string) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var d time.Duration
	for _, k := range keys {
		if f := t.clients[k]; f != nil && now.Before(f.until) {
			d = max(d, f.until.Sub(now))
		}
	}
	return d
}

// failed records a failed sign-in against every key.
func (t *loginThrottle) failed(keys ...string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.sweep) > time.Minute {
		for k, f := range t.clients {
			if now.Sub(f.until) > 15*time.Minute {
				delete(t.clients, k)
			}
		}
		t.sweep = now
	}
	for _, k := range keys {
		f := t.clients[k]
		if f == nil {
			f = &loginFailures{}
			t.clients[k] = f
		}
		f.n++
		f.until = now.Add(loginDelay(f.n))
	}
}

// succeeded clears the failures of every key.
func (t *loginThrottle) succeeded(keys ...string) {
	t.mu.Lock()
	for _, k := range keys {
		delete(t.clients, k)
	}
	t.mu.Unlock()
}
