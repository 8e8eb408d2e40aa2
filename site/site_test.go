package site_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// MustOpen opens a site service on a private database.
func MustOpen(tb testing.TB) *site.Service {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(tb), "site", site.Migrations())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return site.New(db, site.Options{})
}

func TestValidateURL(t *testing.T) {
	valid := map[string]string{
		"https://encore.dev":                        "https://encore.dev",
		"  https://encore.dev  ":                    "https://encore.dev",
		"http://127.0.0.1:8080/x":                   "http://127.0.0.1:8080/x",
		"localhost:8080/x":                          "localhost:8080/x",
		"example.com":                               "example.com",
		`https://x.org/"><script>alert(1)</script>`: `https://x.org/"><script>alert(1)</script>`,
		"HTTPS://EXAMPLE.COM/":                      "HTTPS://EXAMPLE.COM/",
		"https://[::1]:8080/":                       "https://[::1]:8080/",
	}
	for in, want := range valid {
		got, err := site.ValidateURL(in)
		if err != nil || got != want {
			t.Errorf("ValidateURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	invalid := []string{
		"", "   ", "javascript:alert(1)", "ftp://x.org", "file:///etc/passwd", "gopher://x",
		"https://", "http:///path", "https://exa mple.com", "https://x.org/\x00", "https://x.org/a\tb",
		"https://x.org/\u0085a", "https://x.org/" + strings.Repeat("a", 2048), "https://x.org/\xff",
		"://x.org", "https://x.org:port/",
	}
	for _, in := range invalid {
		_, err := site.ValidateURL(in)
		if !api.IsCode(err, api.InvalidArgument) {
			t.Errorf("ValidateURL(%q) = %v, want invalid_argument", in, err)
		}
	}
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{"https://encore.dev", "localhost:8080", "javascript:x", "ftp://a", " x ", "https://x.org/\"<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := site.ValidateURL(s)
		if err != nil {
			if !api.IsCode(err, api.InvalidArgument) {
				t.Fatalf("error of wrong kind: %v", err)
			}
			return
		}
		if got != strings.TrimSpace(s) || got == "" || len(got) > site.MaxURLBytes {
			t.Fatalf("ValidateURL(%q) = %q", s, got)
		}
		u, err := site.CheckURL(got)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "HTTP" && u.Scheme != "HTTPS" && !strings.EqualFold(u.Scheme, "https") && !strings.EqualFold(u.Scheme, "http")) || u.Hostname() == "" {
			t.Fatalf("accepted %q but it is not checkable: %v", got, err)
		}
	})
}

func TestCRUD(t *testing.T) {
	ctx := context.Background()
	svc := MustOpen(t)

	list, err := svc.List(ctx, &site.ListParams{})
	if err != nil || list.Sites == nil || len(list.Sites) != 0 {
		t.Fatalf("empty list = %+v, %v", list, err)
	}
	a, err := svc.Add(ctx, &site.AddParams{URL: " https://encore.dev "})
	if err != nil || a.ID != 1 || a.URL != "https://encore.dev" {
		t.Fatalf("Add = %+v, %v", a, err)
	}
	if _, err := svc.Add(ctx, &site.AddParams{URL: "https://encore.dev"}); !api.IsCode(err, api.AlreadyExists) {
		t.Fatalf("duplicate Add = %v, want already_exists", err)
	}
	b, err := svc.Add(ctx, &site.AddParams{URL: "example.com"})
	if err != nil || b.ID != 2 {
		t.Fatalf("Add = %+v, %v", b, err)
	}
	if _, err := svc.Add(ctx, &site.AddParams{URL: "ftp://x"}); !api.IsCode(err, api.InvalidArgument) {
		t.Fatalf("bad Add = %v", err)
	}
	got, err := svc.Get(ctx, &site.GetParams{ID: 2})
	if err != nil || got.ID != b.ID || got.URL != b.URL || got.Kind != "http" || got.Interval.D() != 5*time.Minute {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := svc.Get(ctx, &site.GetParams{ID: 99}); !api.IsCode(err, api.NotFound) {
		t.Fatalf("Get unknown = %v", err)
	}
	list, _ = svc.List(ctx, &site.ListParams{})
	if len(list.Sites) != 2 || list.Sites[0].ID != 1 || list.Sites[1].ID != 2 {
		t.Fatalf("List = %+v", list.Sites)
	}
	for range 2 { // idempotent
		if _, err := svc.Delete(ctx, &site.GetParams{ID: 1}); err != nil {
			t.Fatal(err)
		}
	}
	list, _ = svc.List(ctx, &site.ListParams{})
	if len(list.Sites) != 1 || list.Sites[0].ID != 2 {
		t.Fatalf("List after delete = %+v", list.Sites)
	}
	// Ids are not reused after a delete.
	c, err := svc.Add(ctx, &site.AddParams{URL: "https://encore.dev"})
	if err != nil || c.ID != 3 {
		t.Fatalf("re-Add = %+v, %v", c, err)
	}

	// Every add and delete left an event in the outbox.
	var n int
	if err := svc.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("outbox rows = %d, %v; want 4 (3 added, 1 deleted)", n, err)
	}
}
