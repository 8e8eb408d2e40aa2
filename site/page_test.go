package site_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// serve answers one request through the service's registered endpoints
// as a read-write caller.
func serve(t *testing.T, svc *site.Service, method, target, body string) (int, map[string]any) {
	t.Helper()
	srv := api.NewServer(nil)
	svc.Register(srv)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(rec, req.WithContext(site.WithAccess(req.Context(), site.AccessWrite)))
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d %q: %v", method, target, rec.Code, rec.Body, err)
	}
	return rec.Code, out
}

func TestListPagesFollowTheCursor(t *testing.T) {
	svc := MustOpen(t)
	ctx := context.Background()
	var want []float64
	for i := range 25 {
		st, err := svc.Add(ctx, &site.AddParams{URL: fmt.Sprintf("https://p%d.example", i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, float64(st.ID))
	}
	// The tutorial's form: every site, no cursor.
	code, all := serve(t, svc, "GET", "/site", "")
	if code != 200 || len(all["sites"].([]any)) != 25 {
		t.Fatalf("GET /site: %d %v", code, all)
	}
	if _, ok := all["next"]; ok {
		t.Fatalf("unpaginated answer has a cursor: %v", all["next"])
	}
	var got []float64
	target, pages := "/site?limit=10", 0
	for target != "" {
		code, page := serve(t, svc, "GET", target, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %v", target, code, page)
		}
		pages++
		sites := page["sites"].([]any)
		if len(sites) > 10 {
			t.Fatalf("GET %s: %d sites, limit 10", target, len(sites))
		}
		for _, s := range sites {
			got = append(got, s.(map[string]any)["id"].(float64))
		}
		target = ""
		if next, ok := page["next"].(string); ok {
			target = "/site?limit=10&after=" + next
		}
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d pages, ids %v; want 3 pages, %v", pages, got, want)
	}
	// A page that ends exactly at the last site has no cursor.
	if _, page := serve(t, svc, "GET", fmt.Sprintf("/site?limit=5&after=%d", int64(want[19])), ""); page["next"] != nil || len(page["sites"].([]any)) != 5 {
		t.Fatalf("last full page: %v", page)
	}
	for _, bad := range []string{"/site?limit=1001", "/site?limit=-1", "/site?after=x", "/site?after=-3"} {
		code, e := serve(t, svc, "GET", bad, "")
		if code != 400 || e["code"] != string(api.InvalidArgument) {
			t.Errorf("GET %s: %d %v, want 400 invalid_argument", bad, code, e)
		}
	}
}

func TestBulkAddStoresNewSitesOnce(t *testing.T) {
	svc := MustOpen(t)
	ctx := context.Background()
	old, err := svc.Add(ctx, &site.AddParams{URL: "https://old.example"})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"sites":[{"url":"https://a.example","interval":"1m"},{"url":"https://old.example"},` +
		`{"url":"https://b.example","name":"B"},{"url":"https://a.example"},{"kind":"push","name":"job"}]}`
	code, resp := serve(t, svc, "POST", "/site/bulk", body)
	if code != 200 {
		t.Fatalf("POST /site/bulk: %d %v", code, resp)
	}
	if resp["created"] != 3.0 || resp["existing"] != 2.0 {
		t.Fatalf("created %v existing %v, want 3 and 2: %v", resp["created"], resp["existing"], resp)
	}
	entries := resp["sites"].([]any)
	e := func(i int) map[string]any { return entries[i].(map[string]any) }
	if e(1)["id"] != float64(old.ID) || e(1)["created"] != false || e(3)["id"] != e(0)["id"] || e(3)["created"] != false {
		t.Fatalf("existing entries: %v", entries)
	}
	if e(4)["push_token"] == nil || e(4)["url"] != "push:job" {
		t.Fatalf("push entry: %v", e(4))
	}
	a, err := svc.Get(ctx, &site.GetParams{ID: int64(e(0)["id"].(float64))})
	if err != nil || a.URL != "https://a.example" || a.Interval.D() != time.Minute {
		t.Fatalf("stored a: %+v %v", a, err)
	}
	// One site-added event per new site (plus the first Add's).
	var n int
	if err := svc.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE topic = 'site-added'`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("site-added events: %d %v, want 4", n, err)
	}
	// Sending the same request again stores nothing.
	if code, resp := serve(t, svc, "POST", "/site/bulk", body); code != 200 || resp["created"] != 0.0 || resp["existing"] != 5.0 {
		t.Fatalf("repeat: %d %v, want nothing created", code, resp)
	}
}

func TestBulkAddNamesTheBadEntry(t *testing.T) {
	svc := MustOpen(t)
	ctx := context.Background()
	cases := map[string]struct {
		body  string
		index float64
		field string
	}{
		"bad url":       {`{"sites":[{"url":"https://ok.example"},{"url":"https://ok2.example"},{"url":"ftp://x"}]}`, 2, "url"},
		"bad interval":  {`{"sites":[{"url":"https://ok.example","interval":"soon"}]}`, 0, "interval"},
		"unknown field": {`{"sites":[{"url":"https://ok.example"},{"url":"https://y.example","colour":"red"}]}`, 1, "colour"},
	}
	for name, c := range cases {
		code, e := serve(t, svc, "POST", "/site/bulk", c.body)
		d, _ := e["details"].(map[string]any)
		if code != 400 || d["index"] != c.index || d["field"] != c.field ||
			!strings.HasPrefix(e["message"].(string), fmt.Sprintf("sites[%d]: %s", int(c.index), c.field)) {
			t.Errorf("%s: %d %v; want 400 naming sites[%v] and %s", name, code, e, c.index, c.field)
		}
	}
	list, err := svc.List(ctx, &site.ListParams{})
	if err != nil || len(list.Sites) != 0 {
		t.Fatalf("an invalid request stored %d sites (%v)", len(list.Sites), err)
	}
	many := `{"sites":[` + strings.TrimSuffix(strings.Repeat(`{"url":"https://x.example"},`, 1001), ",") + `]}`
	if code, e := serve(t, svc, "POST", "/site/bulk", many); code != 400 {
		t.Fatalf("%d entries: %d %v, want 400", 1001, code, e)
	}
}

func TestBulkAddRespectsTheSiteCapWhole(t *testing.T) {
	db := MustOpen(t).DB()
	svc := site.New(db, site.Options{MaxSites: 3})
	ctx := context.Background()
	if _, err := svc.Add(ctx, &site.AddParams{URL: "https://one.example"}); err != nil {
		t.Fatal(err)
	}
	// The existing site does not count twice; three new ones exceed the cap of 3.
	body := `{"sites":[{"url":"https://one.example"},{"url":"https://a.example"},{"url":"https://b.example"},{"url":"https://c.example"}]}`
	if code, e := serve(t, svc, "POST", "/site/bulk", body); code != 429 || !strings.Contains(e["message"].(string), "sites[3]") {
		t.Fatalf("over the cap: %d %v, want 429 naming sites[3]", code, e)
	}
	if list, err := svc.List(ctx, &site.ListParams{}); err != nil || len(list.Sites) != 1 {
		t.Fatalf("a refused request stored sites: %d %v", len(list.Sites), err)
	}
	if code, resp := serve(t, svc, "POST", "/site/bulk", `{"sites":[{"url":"https://a.example"},{"url":"https://b.example"}]}`); code != 200 || resp["created"] != 2.0 {
		t.Fatalf("up to the cap: %d %v", code, resp)
	}
}
