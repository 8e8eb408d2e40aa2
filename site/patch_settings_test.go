package site_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

// openSitesWith opens a site service with opts on a private database.
func openSitesWith(tb testing.TB, opts site.Options) *site.Service {
	tb.Helper()
	db, err := sqldb.Open(context.Background(), sqldbtest.Config(tb), "site", site.Migrations())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return site.New(db, opts)
}

// patchJSON decodes body as the API does and patches site id.
func patchJSON(svc *site.Service, id int64, body string) (*site.Site, error) {
	var p site.PatchParams
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return nil, err
	}
	p.ID = id
	return svc.Patch(context.Background(), &p)
}

// mustJSON encodes v as the API does (no HTML escaping), on one line.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestPatchSemantics(t *testing.T) {
	t.Parallel()
	svc := openSitesWith(t, site.Options{Defaults: site.Defaults{Interval: 2 * time.Minute, Timeout: 3 * time.Second}})
	ctx := context.Background()
	orig, err := addJSON(svc, `{"url":"https://example.com","name":"Example","interval":"30s","tags":["prod"],
		"headers":{"X-A":"1"},"follow_redirects":false,"failure_threshold":3,"json_path":[{"path":"$.ok","op":"exists"}]}`)
	if err != nil {
		t.Fatal(err)
	}

	// Absent fields keep their values.
	st, err := patchJSON(svc, orig.ID, `{"timeout":"5s"}`)
	if err != nil {
		t.Fatal(err)
	}
	if st.Timeout.D() != 5*time.Second || st.Interval.D() != 30*time.Second || st.Name != "Example" || len(st.Tags) != 1 ||
		st.Headers["X-A"] != "1" || *st.FollowRedirects || st.FailureThreshold != 3 || len(st.JSONPath) != 1 {
		t.Fatalf("after patching timeout: %s", mustJSON(t, st))
	}
	// null resets to the default (the global ones for interval and
	// timeout).
	st, err = patchJSON(svc, orig.ID, `{"interval":null,"timeout":null,"tags":null,"headers":null,"follow_redirects":null,
		"failure_threshold":null,"json_path":null,"name":null}`)
	if err != nil {
		t.Fatal(err)
	}
	if st.Interval.D() != 2*time.Minute || st.Timeout.D() != 3*time.Second || len(st.Tags) != 0 || st.Tags == nil ||
		len(st.Headers) != 0 || !*st.FollowRedirects || st.FailureThreshold != 1 || len(st.JSONPath) != 0 || st.Name != "" {
		t.Fatalf("after resetting with null: %s", mustJSON(t, st))
	}
	// The stored settings follow the defaults, not a copy of them.
	got, err := svc.Get(ctx, &site.GetParams{ID: orig.ID})
	if err != nil || mustJSON(t, got) != mustJSON(t, st) {
		t.Fatalf("GET after PATCH = %s, %v", mustJSON(t, got), err)
	}

	// Unknown fields, bad values and a change of kind are refused, and
	// leave the site as it was.
	before := mustJSON(t, got)
	for body, field := range map[string]string{
		`{"colour":"blue"}`:  "colour",
		`{"id":9}`:           "id",
		`{"interval":"1ms"}`: "interval",
		`{"json_path":[{"path":"$","op":"exists"},{"path":"$.a","op":"like","value":1}]}`: "json_path[1].op",
		`{"expected_status":["ok"]}`:     "expected_status[0]",
		`{"headers":{"a b":"c"}}`:        "headers",
		`{"kind":"tcp"}`:                 "kind",
		`{"url":"tcp://example.com:80"}`: "url",
		`{"url":"dns:example.com"}`:      "url",
		`{"url":""}`:                     "url",
		`{"url":null}`:                   "url",
		`{"timeout":"5s","retries":99}`:  "retries",
		`{"name":"x\u0000"}`:             "name",
	} {
		_, err := patchJSON(svc, orig.ID, body)
		if got := fieldOf(err); got != field {
			t.Errorf("PATCH %s: %v → field %q, want %q", body, err, got, field)
		}
	}
	after, _ := svc.Get(ctx, &site.GetParams{ID: orig.ID})
	if mustJSON(t, after) != before {
		t.Fatalf("a refused PATCH changed the site:\nbefore %s\nafter  %s", before, mustJSON(t, after))
	}

	// The same kind may be named; the URL may change within the kind.
	st, err = patchJSON(svc, orig.ID, `{"kind":"http","url":"  https://example.com/v2  "}`)
	if err != nil || st.URL != "https://example.com/v2" {
		t.Fatalf("PATCH url = %+v, %v", st, err)
	}
	if _, err := addJSON(svc, `{"url":"https://example.org"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := patchJSON(svc, orig.ID, `{"url":"https://example.org"}`); !api.IsCode(err, api.AlreadyExists) {
		t.Fatalf("PATCH to another site's URL: %v, want already_exists", err)
	}
	if _, err := patchJSON(svc, 99, `{"paused":true}`); !api.IsCode(err, api.NotFound) {
		t.Fatalf("PATCH of an unknown site: %v, want not_found", err)
	}
	// An empty body changes nothing.
	st, err = patchJSON(svc, orig.ID, `{}`)
	if err != nil || st.URL != "https://example.com/v2" {
		t.Fatalf("empty PATCH = %+v, %v", st, err)
	}

	// Every accepted PATCH published site-updated.
	var n int
	if err := svc.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE topic = 'site-updated'`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("site-updated events = %d, %v; want 4", n, err)
	}
}

func TestPatchPushMonitor(t *testing.T) {
	t.Parallel()
	svc := openSitesWith(t, site.Options{PublicURL: "http://127.0.0.1:4000"})
	st, err := addJSON(svc, `{"kind":"push","name":"backup","interval":"1h","grace":"10m"}`)
	if err != nil {
		t.Fatal(err)
	}
	// Renaming moves its URL; its token stays.
	got, err := patchJSON(svc, st.ID, `{"name":"nightly-backup","grace":"15m"}`)
	if err != nil || got.URL != "push:nightly-backup" || got.PushToken != st.PushToken || got.PushURL != st.PushURL || got.Grace.D() != 15*time.Minute {
		t.Fatalf("renamed push monitor = %+v, %v", got, err)
	}
	for body, field := range map[string]string{
		`{"url":"push:other"}`:    "url",
		`{"url":"https://x.org"}`: "url",
		`{"name":""}`:             "name",
		`{"name":null}`:           "name",
		`{"kind":"http"}`:         "kind",
	} {
		if _, err := patchJSON(svc, st.ID, body); fieldOf(err) != field {
			t.Errorf("PATCH %s: %v, want a 400 naming %s", body, err, field)
		}
	}
	if !strings.HasPrefix(got.PushURL, "http://127.0.0.1:4000/push/") {
		t.Fatalf("push_url = %q", got.PushURL)
	}
}
