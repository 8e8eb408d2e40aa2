package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// TestSettingsFormWSSend: the site page of a websocket site shows and
// saves ws_send; other kinds' pages do not show it.
func TestSettingsFormWSSend(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldbtest.Config(t), "site", site.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sites := site.New(db, site.Options{Defaults: site.Defaults{Interval: 5 * time.Minute, Timeout: 10 * time.Second}})
	h := New(Options{Sites: sites, Monitor: newFakeMonitor(), Settings: SiteSettingsStore{Sites: sites},
		Logger: slog.New(slog.NewTextHandler(tLog{t}, nil))})
	srv := api.NewServer(nil)
	h.Register(srv)
	do := func(method, target string, form url.Values, a site.Access) *httptest.ResponseRecorder {
		t.Helper()
		var req *http.Request
		if form != nil {
			req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, target, nil)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req.WithContext(site.WithAccess(req.Context(), a)))
		return w
	}
	ws, err := sites.Add(ctx, &site.AddParams{URL: "wss://a.example/live", Settings: site.Settings{WSSend: "sub <1>", Keyword: "ok"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sites.Add(ctx, &site.AddParams{URL: "https://b.example"}); err != nil {
		t.Fatal(err)
	}
	if page := do("GET", "/frontend/sites/2", nil, site.AccessWrite).Body.String(); strings.Contains(page, `name="ws_send"`) {
		t.Fatal("an http site's page shows ws_send")
	}
	if page := do("GET", "/frontend/sites/1", nil, site.AccessRead).Body.String(); strings.Contains(page, "sub &lt;1&gt;") {
		t.Fatal("a read-only page shows ws_send")
	}
	page := do("GET", "/frontend/sites/1", nil, site.AccessWrite).Body.String()
	form := formOf(t, page, "/frontend/sites/1/settings")
	if form.Get("ws_send") != "sub <1>" {
		t.Fatalf("websocket site form ws_send = %q", form.Get("ws_send"))
	}
	form.Set("ws_send", "subscribe")
	if w := do("POST", "/frontend/sites/1/settings", form, site.AccessWrite); w.Header().Get("Location") != "/frontend/sites/1?msg=saved" {
		t.Fatalf("save = %d %s", w.Code, w.Body)
	}
	if st, err := sites.StoredSettings(ctx, ws.ID); err != nil || st.WSSend != "subscribe" || st.Keyword != "ok" {
		t.Fatalf("stored after save = %+v, %v", st, err)
	}
	form.Set("ws_send", strings.Repeat("x", site.MaxWSSendBytes+1))
	if w := do("POST", "/frontend/sites/1/settings", form, site.AccessWrite); w.Code != 400 || !strings.Contains(w.Body.String(), `id="e-ws_send">must be valid UTF-8 of at most`) {
		t.Fatalf("too long ws_send = %d", w.Code)
	}
}
