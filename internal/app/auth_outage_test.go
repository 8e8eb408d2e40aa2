package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"upmon/account"
	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
)

// When the account database is unavailable the guard cannot tell who is
// calling: whether access control is on (no user counted yet), whose
// session or personal token a request carries. It answers 503
// unavailable then, never 401 and never lets the request through;
// what needs no identity (service tokens, open endpoints) still works.
func TestGuardAccountDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(t), "account", account.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.New(db, account.Options{})
	if err := db.Close(); err != nil { // the outage
		t.Fatal(err)
	}
	var (
		read = api.Endpoint{Method: "GET", Path: "/site", Access: api.Public}
		open = api.Endpoint{Method: "GET", Path: "/healthz", Access: api.Open}
	)
	tokens := DefaultConfig()
	tokens.APITokens = []string{testRW}
	cookie := &http.Cookie{Name: SessionCookie, Value: strings.Repeat("ab", 32)}
	personal := "Bearer " + account.TokenPrefix + strings.Repeat("x", 40)
	cases := []struct {
		name     string
		cfg      Config
		counted  bool // users were counted before the outage
		ep       api.Endpoint
		header   string
		cookie   *http.Cookie
		wantCode api.ErrCode // "" for allowed
	}{
		{"no credential, users not yet counted", DefaultConfig(), false, read, "", nil, api.Unavailable},
		{"session cookie", DefaultConfig(), true, read, "", cookie, api.Unavailable},
		{"session cookie, users not yet counted", DefaultConfig(), false, read, "", cookie, api.Unavailable},
		{"personal token", DefaultConfig(), true, read, personal, nil, api.Unavailable},
		{"personal token beside service tokens", tokens, false, read, personal, nil, api.Unavailable},
		{"service token needs no database", tokens, false, read, "Bearer " + testRW, nil, ""},
		{"open endpoint needs no identity", DefaultConfig(), false, open, "", cookie, ""},
	}
	for _, tc := range cases {
		a := newAuth(tc.cfg, accounts)
		a.hasUsers.Store(tc.counted)
		r := httptest.NewRequest(tc.ep.Method, "/x", nil)
		r.RemoteAddr = "192.0.2.7:5000"
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if tc.cookie != nil {
			r.AddCookie(tc.cookie)
		}
		got := guardVia(a, r, tc.ep)
		if tc.wantCode == "" {
			if got != nil {
				t.Errorf("%s: guard = %v, want nil", tc.name, got)
			}
			continue
		}
		var apiErr *api.Error
		if !errors.As(got, &apiErr) || apiErr.Code != tc.wantCode || api.HTTPStatus(apiErr.Code) != http.StatusServiceUnavailable {
			t.Errorf("%s: guard = %v, want %s (503)", tc.name, got, tc.wantCode)
		}
	}
}
