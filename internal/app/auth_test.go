package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"upmon/platform/api"
)

const (
	testRW = "rw-token-0123456789abcdef"
	testRO = "ro-token-0123456789abcdef"
)

// guardVia runs a's guard on r after withAccess, as the server does.
func guardVia(a *auth, r *http.Request, ep api.Endpoint) error {
	var got error
	a.withAccess(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = a.guard(r, ep)
	})).ServeHTTP(httptest.NewRecorder(), r)
	return got
}

// TestGuardPolicy is the access policy of docs/security.md for service
// tokens as a table: who may call which kind of endpoint, with and
// without tokens. (Users and their roles: the permission table test in
// permissions_test.go.)
func TestGuardPolicy(t *testing.T) {
	t.Parallel()
	var (
		read     = api.Endpoint{Method: "GET", Path: "/site", Access: api.Public}
		write    = api.Endpoint{Method: "POST", Path: "/site", Access: api.Public, Mutating: true}
		ping     = api.Endpoint{Method: "", Path: "/ping/{url...}", Access: api.Public}
		admin    = api.Endpoint{Method: "GET", Path: "/admin/deadletters", Access: api.Admin}
		users    = api.Endpoint{Method: "GET", Path: "/users", Access: api.OwnerOnly}
		open     = api.Endpoint{Method: "GET", Path: "/healthz", Access: api.Open}
		push     = api.Endpoint{Method: "POST", Path: "/push/{token}", Access: api.Push, Mutating: true}
		unmapped = api.Endpoint{Method: "GET", Path: "/new", Access: api.Access(99)}
		loopback = "127.0.0.1:5000"
		remote   = "192.0.2.7:5000"
	)
	tokens := DefaultConfig()
	tokens.APITokens, tokens.ReadTokens = []string{testRW}, []string{testRO}
	public := tokens
	public.PublicRead = true
	readOnly := errNeedsRole(api.Editor)
	cases := []struct {
		name   string
		cfg    Config
		ep     api.Endpoint
		remote string
		header string
		want   error
	}{
		{"no tokens: reads open", DefaultConfig(), read, remote, "", nil},
		{"no tokens: writes open", DefaultConfig(), write, remote, "", nil},
		{"no tokens: admin from loopback", DefaultConfig(), admin, loopback, "", nil},
		{"no tokens: admin from elsewhere", DefaultConfig(), admin, remote, "", errAdminLoopback},
		{"no tokens: users from elsewhere", DefaultConfig(), users, remote, "", errAdminLoopback},
		{"read without token", tokens, read, loopback, "", errUnauthenticated},
		{"read with ro", tokens, read, remote, "Bearer " + testRO, nil},
		{"read with rw", tokens, read, remote, "Bearer " + testRW, nil},
		{"read with a wrong token", tokens, read, remote, "Bearer " + testRO + "x", errUnauthenticated},
		{"not a bearer", tokens, read, remote, "Basic " + testRW, errUnauthenticated},
		{"write with ro", tokens, write, remote, "Bearer " + testRO, readOnly},
		{"write with rw", tokens, write, remote, "Bearer " + testRW, nil},
		{"write without token", tokens, write, remote, "", errUnauthenticated},
		{"ping is a read", tokens, ping, remote, "Bearer " + testRO, nil},
		{"admin with ro", tokens, admin, loopback, "Bearer " + testRO, errNeedsRole(api.Owner)},
		{"admin with rw", tokens, admin, remote, "Bearer " + testRW, nil},
		{"users with rw (owner)", tokens, users, remote, "Bearer " + testRW, nil},
		{"open needs nothing", tokens, open, remote, "", nil},
		{"push needs its own token only", tokens, push, remote, "", nil},
		{"public read", public, read, remote, "", nil},
		{"public read: writes still need rw", public, write, remote, "", errUnauthenticated},
		{"public read: not the owner endpoints", public, users, remote, "", errUnauthenticated},
		{"a route without a rule is refused", tokens, unmapped, remote, "Bearer " + testRW, errNoRule},
	}
	for _, tc := range cases {
		a := newAuth(tc.cfg, nil)
		r := httptest.NewRequest(tc.ep.Method, "/x", nil)
		r.RemoteAddr = tc.remote
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		got := guardVia(a, r, tc.ep)
		if tc.want == nil && got != nil || tc.want != nil && (got == nil || got.Error() != tc.want.Error()) {
			t.Errorf("%s: guard = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A token in both lists is read-write (owner); tokens compare exactly.
func TestServiceRole(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.APITokens, cfg.ReadTokens = []string{testRW}, []string{testRO, testRW}
	a := newAuth(cfg, nil)
	for tok, want := range map[string]api.Role{testRW: api.Owner, testRO: api.Viewer, "": api.Anonymous, testRO[:20]: api.Anonymous, testRO + " ": api.Anonymous} {
		if got := a.serviceRole(tok); got != want {
			t.Errorf("serviceRole(%q) = %v, want %v", tok, got, want)
		}
	}
}
