package app

import (
	"errors"
	"net/http/httptest"
	"testing"

	"upmon/platform/api"
)

// TestGuardPolicy is the access policy of docs/security.md as a table:
// who may call which kind of endpoint, with and without tokens.
func TestGuardPolicy(t *testing.T) {
	t.Parallel()
	var (
		read     = api.Endpoint{Method: "GET", Path: "/site", Access: api.Public}
		write    = api.Endpoint{Method: "POST", Path: "/site", Access: api.Public, Mutating: true}
		ping     = api.Endpoint{Method: "POST", Path: "/ping/{url...}", Access: api.Public, Mutating: true}
		admin    = api.Endpoint{Method: "GET", Path: "/admin/deadletters", Access: api.Admin}
		open     = api.Endpoint{Method: "GET", Path: "/healthz", Access: api.Open}
		push     = api.Endpoint{Method: "POST", Path: "/push/{token}", Access: api.Push, Mutating: true}
		loopback = "127.0.0.1:5000"
		remote   = "192.0.2.7:5000"
	)
	tokens := DefaultConfig()
	tokens.APITokens, tokens.ReadTokens = []string{testRW}, []string{testRO}
	public := tokens
	public.PublicRead = true
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
		{"read without token", tokens, read, loopback, "", errUnauthenticated},
		{"read with ro", tokens, read, remote, "Bearer " + testRO, nil},
		{"read with rw", tokens, read, remote, "Bearer " + testRW, nil},
		{"read with a wrong token", tokens, read, remote, "Bearer " + testRO + "x", errUnauthenticated},
		{"not a bearer", tokens, read, remote, "Basic " + testRW, errUnauthenticated},
		{"write with ro", tokens, write, remote, "Bearer " + testRO, errReadOnly},
		{"write with rw", tokens, write, remote, "Bearer " + testRW, nil},
		{"write without token", tokens, write, remote, "", errUnauthenticated},
		{"ping is a read", tokens, ping, remote, "Bearer " + testRO, nil},
		{"admin with ro", tokens, admin, loopback, "Bearer " + testRO, errReadOnly},
		{"admin with rw", tokens, admin, remote, "Bearer " + testRW, nil},
		{"open needs nothing", tokens, open, remote, "", nil},
		{"push needs its own token only", tokens, push, remote, "", nil},
		{"public read", public, read, remote, "", nil},
		{"public read: writes still need rw", public, write, remote, "", errUnauthenticated},
	}
	for _, tc := range cases {
		a := newAuth(tc.cfg, nil)
		r := httptest.NewRequest(tc.ep.Method, "/x", nil)
		r.RemoteAddr = tc.remote
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := a.guard(r, tc.ep); !errors.Is(got, tc.want) {
			t.Errorf("%s: guard = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A token in both lists is read-write; tokens compare exactly.
func TestTokenLevel(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.APITokens, cfg.ReadTokens = []string{testRW}, []string{testRO, testRW}
	a := newAuth(cfg, nil)
	for tok, want := range map[string]level{testRW: levelWrite, testRO: levelRead, "": levelNone, testRO[:20]: levelNone, testRO + " ": levelNone} {
		if got := a.tokenLevel(tok); got != want {
			t.Errorf("tokenLevel(%q) = %v, want %v", tok, got, want)
		}
	}
}
