package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"upmon/account"
	"upmon/platform/api"
)

// explorerDoc is a small OpenAPI document: a read a viewer may call and
// a change that needs an editor (as api.RequiredRole states them).
func explorerDoc() map[string]any {
	op := func(id, name, access string) map[string]any {
		return map[string]any{"operationId": id, "x-upmon-name": name, "x-upmon-access": access, "tags": []any{"site"}}
	}
	return map[string]any{"paths": map[string]any{"/site": map[string]any{
		"get":  op("site_get_site", "List", "viewer"),
		"post": op("site_post_site", "Add", "editor"),
	}}}
}

// TestExplorerStatesRoles checks that the explorer's operations carry the
// least role each needs and that the page states the caller's role, from
// which its script decides what it may send.
func TestExplorerStatesRoles(t *testing.T) {
	ops := ExplorerOps(explorerDoc())
	got := map[string]string{}
	for _, op := range ops {
		got[op.ID] = op.Access
	}
	if got["site_get_site"] != "viewer" || got["site_post_site"] != "editor" {
		t.Fatalf("explorer ops' access: %v", got)
	}
	h := New(Options{Sites: newFakeSites(), Monitor: newFakeMonitor(), OpenAPI: explorerDoc})
	srv := api.NewServer(nil)
	h.Register(srv)
	for _, tc := range []struct {
		p    *account.Principal
		want string
	}{
		{&account.Principal{Name: "v", UserID: 1, Role: api.Viewer}, `data-role="viewer"`},
		{&account.Principal{Name: "e", UserID: 2, Role: api.Editor}, `data-role="editor"`},
		{&account.Principal{Name: account.ServiceTokenName, Role: api.Owner}, `data-role="owner"`},
		{nil, `data-role="owner"`}, // no accounts layer: every control shows
	} {
		req := httptest.NewRequest(http.MethodGet, "/frontend/api", nil)
		if tc.p != nil {
			req = req.WithContext(account.WithPrincipal(req.Context(), tc.p))
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("principal %+v: status %d, want %s in the page:\n%s", tc.p, w.Code, tc.want, w.Body.String())
		}
	}
}
