package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

const (
	testRW = "rw-token-0123456789abcdef"
	testRO = "ro-token-0123456789abcdef"
)

// testClock is a settable clock for sessions.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time { return c.t }

// newTestSessions returns sessions on b's prefix with a settable clock.
func newTestSessions(b *pubsub.Broker, idle, lifetime time.Duration) (*sessions, *testClock) {
	clock := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newSessions(b.JetStream(), b.Prefix(), 1, idle, lifetime)
	s.now = clock.now
	return s, clock
}

func TestSessionEndsOnLogout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newTestSessions(pubsubtest.Open(t), time.Hour, 24*time.Hour)
	cookie, err := s.create(ctx, testRW)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cookie, testRW) {
		t.Fatal("the cookie carries the token")
	}
	fp, err := s.lookup(ctx, cookie)
	if err != nil || fp == "" {
		t.Fatalf("lookup of a new session = %q, %v", fp, err)
	}
	copied := cookie
	if err := s.end(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	if _, err := s.lookup(ctx, copied); err != errNoSession {
		t.Fatalf("a copy of the cookie after logout: %v, want errNoSession", err)
	}
}

// A session ends after SessionIdle without use and after SessionLifetime
// whatever its use; using it within SessionIdle keeps it alive.
func TestSessionIdleAndLifetime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := newTestSessions(pubsubtest.Open(t), time.Hour, 3*time.Hour)
	idle, err := s.create(ctx, testRW)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := s.create(ctx, testRW)
	if err != nil {
		t.Fatal(err)
	}
	start := clock.t
	for _, at := range []time.Duration{50 * time.Minute, 100 * time.Minute, 150 * time.Minute, 179 * time.Minute} {
		clock.t = start.Add(at)
		if _, err := s.lookup(ctx, busy); err != nil {
			t.Fatalf("a session used every 50 minutes, at %v: %v", at, err)
		}
	}
	if _, err := s.lookup(ctx, idle); err != errNoSession {
		t.Fatalf("a session unused for 179 minutes (idle 1h): %v", err)
	}
	clock.t = start.Add(3*time.Hour + time.Second)
	if _, err := s.lookup(ctx, busy); err != errNoSession {
		t.Fatalf("a session past its lifetime: %v", err)
	}
}

// The signing key is random, kept in the broker and shared by replicas:
// a cookie works on a second replica of the same installation, not on
// another installation with the same tokens.
func TestSessionKeySharedAndRandom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := pubsubtest.Config(t)
	b := pubsubtest.OpenConfig(t, cfg)
	a, _ := newTestSessions(b, time.Hour, 24*time.Hour)
	cookie, err := a.create(ctx, testRW)
	if err != nil {
		t.Fatal(err)
	}
	replica, _ := newTestSessions(b, time.Hour, 24*time.Hour)
	if _, err := replica.lookup(ctx, cookie); err != nil {
		t.Fatalf("another replica refuses the session: %v", err)
	}
	other, _ := newTestSessions(pubsubtest.Open(t), time.Hour, 24*time.Hour)
	if _, err := other.lookup(ctx, cookie); err != errNoSession {
		t.Fatalf("another installation accepts the cookie: %v", err)
	}
	_, key, err := a.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	derived := sha256.Sum256([]byte(testRW))
	if len(key) != 32 || string(key) == string(derived[:]) {
		t.Fatalf("signing key = %x", key)
	}
}

// The auth policy reads a session's level from the token it was opened
// with, as configured now; forged and tampered cookies get nothing.
func TestAuthSessionLevel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := pubsubtest.Open(t)
	sess, _ := newTestSessions(b, time.Hour, 24*time.Hour)
	cfg := DefaultConfig()
	cfg.APITokens, cfg.ReadTokens = []string{testRW}, []string{testRO}
	a := newAuth(cfg, sess)
	rw, err := sess.create(ctx, testRW)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := sess.create(ctx, testRO)
	if err != nil {
		t.Fatal(err)
	}
	id, sig, _ := strings.Cut(rw, ".")
	flip := func(s string) string {
		if s[0] == 'a' {
			return "b" + s[1:]
		}
		return "a" + s[1:]
	}
	cases := []struct {
		name   string
		cookie string
		want   level
	}{
		{"read-write", rw, levelWrite},
		{"read-only", ro, levelRead},
		{"tampered id", flip(id) + "." + sig, levelNone},
		{"tampered mac", id + "." + flip(sig), levelNone},
		{"no mac", id, levelNone},
		{"garbage", "w.9999999999.abc", levelNone},
		{"empty", "", levelNone},
	}
	for _, tc := range cases {
		if got := a.sessionLevel(ctx, tc.cookie); got != tc.want {
			t.Errorf("%s: level %v, want %v", tc.name, got, tc.want)
		}
	}
	// Tokens changed: sessions opened with the old ones are over.
	cfg.APITokens = []string{"rw-token-new-0123456789"}
	if got := newAuth(cfg, sess).sessionLevel(ctx, rw); got != levelNone {
		t.Errorf("session of a removed token: level %v", got)
	}
}

// The session cookie is Secure when --public-url is https (TLS ends at a
// proxy) or the request came over TLS, and HttpOnly, SameSite=Strict.
func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		publicURL string
		tls       bool
		secure    bool
	}{
		{"https://upmon.example.com", false, true},
		{"http://upmon.example.com", false, false},
		{"", false, false},
		{"", true, true},
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		cfg.PublicURL = tc.publicURL
		a := newAuth(cfg, nil)
		r := httptest.NewRequest("POST", "/login", nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		c := a.cookie(r, "v", 60)
		if c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Name != SessionCookie || c.Path != "/" {
			t.Errorf("public URL %q, TLS %v: cookie %+v", tc.publicURL, tc.tls, c)
		}
	}
}
