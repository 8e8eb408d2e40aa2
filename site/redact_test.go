package site_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"upmon/platform/api"
	"upmon/site"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	const r = site.Redacted
	for _, tc := range []struct{ in, want string }{
		{"https://example.com/health", "https://example.com/health"},
		{"https://example.com/a?x=1&y=2#f", "https://example.com/a?x=1&y=2#f"},
		{"https://user:pa55@example.com/x", "https://user:" + r + "@example.com/x"},
		{"https://ghp_abc@example.com/x", "https://" + r + "@example.com/x"},
		{"user:pass@example.com", "user:" + r + "@example.com"},
		{"https://a:b@c@example.com/", "https://a:" + r + "@example.com/"},
		{"https://example.com/x?token=abc&page=2", "https://example.com/x?token=" + r + "&page=2"},
		{"https://example.com/?api_key=1&apiKey=2&SECRET=3&password=4&X-Amz-Signature=5&sig=6&q=7",
			"https://example.com/?api_key=" + r + "&apiKey=" + r + "&SECRET=" + r + "&password=" + r + "&X-Amz-Signature=" + r + "&sig=" + r + "&q=7"},
		{"https://example.com/?access%5Ftoken=1", "https://example.com/?access%5Ftoken=" + r},
		{"https://example.com/?flag&token", "https://example.com/?flag&token"},
		{"https://example.com/p@th?x=1", "https://example.com/p@th?x=1"},
		{"tcp://db.internal:5432", "tcp://db.internal:5432"},
		{"dns:example.org?type=A&server=127.0.0.1:53", "dns:example.org?type=A&server=127.0.0.1:53"},
		{"push:nightly", "push:nightly"},
	} {
		if got := site.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPublicURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://example.com/health", "example.com/health"},
		{"https://user:pass@example.com/health?token=x#frag", "example.com/health"},
		{"user:pass@example.com:8443/a/b?q=1", "example.com:8443/a/b"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"https://ex.com/a%20b", "ex.com/a b"},
		{"tcp://db.internal:5432", "tcp://db.internal:5432"},
		{"dns:example.org?type=TXT&expect=s3cr3t&server=10.0.0.1:53", "dns:example.org"},
		{"push:nightly-backup", "push:nightly-backup"},
		{"https://", ""},
	} {
		if got := site.PublicURL(tc.in); got != tc.want {
			t.Errorf("PublicURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactedFor(t *testing.T) {
	t.Parallel()
	svc := openSitesWith(t, site.Options{PublicURL: "https://upmon.example"})
	st, err := addJSON(svc, `{"url":"https://u:pw@example.com/?token=t0k","headers":{"Authorization":"Bearer s3cr3t"},"body":"{\"password\":\"hunter2\"}"}`)
	if err != nil {
		t.Fatal(err)
	}
	push, err := addJSON(svc, `{"kind":"push","name":"job"}`)
	if err != nil {
		t.Fatal(err)
	}
	full := mustJSON(t, st) + mustJSON(t, push)
	for _, a := range []site.Access{site.AccessPublic, site.AccessRead} {
		got := mustJSON(t, st.RedactedFor(a)) + mustJSON(t, push.RedactedFor(a))
		for _, secret := range []string{"pw", "t0k", "s3cr3t", "hunter2", push.PushToken, "push_url"} {
			if strings.Contains(got, secret) {
				t.Errorf("access %d sees %q: %s", a, secret, got)
			}
		}
		if !strings.Contains(got, `"Authorization":"`+site.Redacted+`"`) {
			t.Errorf("access %d: header name not kept with a redacted value: %s", a, got)
		}
	}
	if got := mustJSON(t, st.RedactedFor(site.AccessWrite)) + mustJSON(t, push.RedactedFor(site.AccessWrite)); got != full {
		t.Errorf("read-write sees %s, want %s", got, full)
	}
	if mustJSON(t, st)+mustJSON(t, push) != full {
		t.Error("RedactedFor changed the site it was given")
	}
	if a := site.AccessFrom(context.Background()); a.SeesSecrets() {
		t.Error("a context without access sees secrets")
	}
	if !site.AccessFrom(site.WithAccess(context.Background(), site.AccessWrite)).SeesSecrets() {
		t.Error("AccessWrite does not see secrets")
	}

	// The marker is never taken back as a value.
	for body, field := range map[string]string{
		`{"url":"https://example.com/b","headers":{"Authorization":"` + site.Redacted + `"}}`: "headers.Authorization",
		`{"url":"https://example.com/c","body":"` + site.Redacted + `"}`:                      "body",
		`{"url":"https://u:` + site.Redacted + `@example.com/d"}`:                             "url",
		`{"url":"https://example.com/e?token=` + site.Redacted + `"}`:                         "url",
	} {
		if _, err := addJSON(svc, body); fieldOf(err) != field {
			t.Errorf("POST %s: %v; want 400 naming %s", body, err, field)
		}
	}
	if _, err := patchJSON(svc, st.ID, `{"headers":{"Authorization":"`+site.Redacted+`"}}`); fieldOf(err) != "headers.Authorization" {
		t.Errorf("PATCH with a redacted header: %v", err)
	}
}

// TestHTTPAnswersRedactByAccess: GET /site and /site/{id} show header
// values, bodies, URL credentials and push tokens only to read-write
// callers.
func TestHTTPAnswersRedactByAccess(t *testing.T) {
	t.Parallel()
	svc := openSitesWith(t, site.Options{PublicURL: "https://upmon.example"})
	if _, err := addJSON(svc, `{"url":"https://u:pw@example.com/?token=t0k","headers":{"Authorization":"Bearer s3cr3t"},"body":"hunter2"}`); err != nil {
		t.Fatal(err)
	}
	push, err := addJSON(svc, `{"kind":"push","name":"job"}`)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(nil)
	svc.Register(srv)
	secrets := []string{"pw@", "t0k", "s3cr3t", "hunter2", push.PushToken}
	get := func(path string, ctx context.Context) string {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	for _, path := range []string{"/site", "/site/1", "/site/2"} {
		for name, ctx := range map[string]context.Context{
			"no access":  context.Background(),
			"public":     site.WithAccess(context.Background(), site.AccessPublic),
			"read-only":  site.WithAccess(context.Background(), site.AccessRead),
			"read-write": site.WithAccess(context.Background(), site.AccessWrite),
		} {
			body := get(path, ctx)
			for _, s := range secrets {
				leaked := strings.Contains(body, s)
				if name != "read-write" && leaked {
					t.Errorf("%s GET %s shows %q: %s", name, path, s, body)
				}
			}
			if name == "read-write" && path != "/site/2" && !strings.Contains(body, "Bearer s3cr3t") {
				t.Errorf("read-write GET %s hides the header: %s", path, body)
			}
			if name == "read-write" && path != "/site/1" && !strings.Contains(body, push.PushToken) {
				t.Errorf("read-write GET %s hides the push token: %s", path, body)
			}
		}
	}
}

func TestPublicURLOfARedactedURL(t *testing.T) {
	t.Parallel()
	in := "https://user:pass@example.com/x?token=1"
	if got := site.PublicURL(site.RedactURL(in)); got != "example.com/x" {
		t.Errorf("PublicURL(RedactURL(%q)) = %q", in, got)
	}
}

// TestRedactedListMatchesRedactedSites: the list a read-only caller gets
// (written from the memo's redacted encoding) is exactly each site's
// RedactedFor, as encoding/json writes it.
func TestRedactedListMatchesRedactedSites(t *testing.T) {
	t.Parallel()
	svc := openSitesWith(t, site.Options{PublicURL: "https://upmon.example"})
	for _, body := range []string{
		`{"url":"https://u:pw@a.example/?token=1&x=<y>","headers":{"Authorization":"Bearer x","X-A":"1"},"body":"b"}`,
		`{"url":"https://b.example","headers":{"Authorization":"Bearer x","X-A":"1"},"body":"b"}`,
		`{"url":"tcp://db.example:5432","interval":"30s"}`,
		`{"kind":"push","name":"backup"}`,
	} {
		if _, err := addJSON(svc, body); err != nil {
			t.Fatal(err)
		}
	}
	srv := api.NewServer(nil)
	svc.Register(srv)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequestWithContext(site.WithAccess(context.Background(), site.AccessRead), http.MethodGet, "/site", nil))
	list, err := svc.List(context.Background(), &site.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Sites []*site.Site `json:"sites"`
	}
	for _, st := range list.Sites {
		want.Sites = append(want.Sites, st.RedactedFor(site.AccessRead))
	}
	w, err := json.Marshal(want) // the API escapes HTML as encoding/json does
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(rec.Body.String()) != string(w) {
		t.Errorf("read-only list:\n got %s\nwant %s", rec.Body, w)
	}
}
