package web

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/platform/sqldb"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/site"
)

var (
	inputRE    = regexp.MustCompile(`<input ([^>]*)>`)
	attrRE     = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
	textareaRE = regexp.MustCompile(`(?s)<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`)
	selectRE   = regexp.MustCompile(`(?s)<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>`)
	optionRE   = regexp.MustCompile(`<option(?: value="([^"]*)")?( selected)?>([^<]*)</option>`)
)

// formOf returns what a browser would post for the page's form with
// the action: every field with its shown value, ticked checkboxes only.
func formOf(t *testing.T, page, action string) url.Values {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form method="post" action="` + regexp.QuoteMeta(action) + `"[^>]*>(.*?)</form>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no form to %s", action)
	}
	body, v := m[1], url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(body, -1) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(in[1], -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if _, ok := attrs["checked"]; attrs["type"] == "checkbox" && !ok {
			continue
		}
		v.Add(attrs["name"], attrs["value"])
	}
	for _, ta := range textareaRE.FindAllStringSubmatch(body, -1) {
		v.Set(ta[1], strings.ReplaceAll(html.UnescapeString(ta[2]), "\n", "\r\n"))
	}
	for _, sel := range selectRE.FindAllStringSubmatch(body, -1) {
		opts := optionRE.FindAllStringSubmatch(sel[2], -1)
		chosen := opts[0] // a select without a selected option posts its first
		for _, o := range opts {
			if o[2] != "" {
				chosen = o
			}
		}
		val := chosen[3]
		if chosen[1] != "" {
			val = chosen[1]
		}
		v.Set(sel[1], html.UnescapeString(val))
	}
	return v
}

// TestSettingsFormLeavesDefaultsUnset checks that the settings forms show
// unset settings empty, with the defaults as placeholders, and send only
// the fields that changed.
func TestSettingsFormLeavesDefaultsUnset(t *testing.T) {
	e := newEnv(t, true)
	e.add("https://a.example")
	page := e.do("GET", "/frontend/sites/1", nil).Body.String()
	for _, want := range []string{
		`name="interval" type="text" value="" placeholder="5m"`, `name="timeout" type="text" value="" placeholder="10s"`,
		`value="" placeholder="200-399"`, `name="max_latency" type="text" value="" placeholder="off"`,
		`name="failure_threshold" type="number" min="0" inputmode="numeric" value="" placeholder="1"`,
		`<option selected>GET</option>`, `src="/badge/1/status.svg?v=0"`, `<input type="hidden" name="follow_redirects" value=""><input id="f-follow" name="follow_redirects" type="checkbox" value="1" checked>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("site page lacks %q", want)
		}
	}
	form := formOf(t, page, "/frontend/sites/1/settings")

	// Saving the form as shown changes nothing and sends nothing.
	w := e.do("POST", "/frontend/sites/1/settings", form)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/frontend/sites/1?msg=same" || len(e.sites.changes) != 1 {
		t.Fatalf("unchanged save = %d %q, changes %v", w.Code, w.Header().Get("Location"), e.sites.changes)
	}
	if b := e.do("GET", "/frontend/sites/1?msg=same", nil).Body.String(); !strings.Contains(b, "No settings changed.") {
		t.Error("no notice for an unchanged save")
	}

	// Only the changed fields are sent; the same value written another
	// way ("60s" for "1m") is no change.
	tests := []struct {
		set    map[string]string
		unset  []string
		fields []string
		check  func(SiteSettings) bool
	}{
		{map[string]string{"interval": "1m", "keyword_mode": "absent"}, nil, []string{"keyword_mode", "interval"},
			func(s SiteSettings) bool {
				return s.Interval == time.Minute && s.KeywordMode == "absent" && s.Timeout == 0
			}},
		{map[string]string{"interval": "60s", "keyword_mode": "absent", "retries": "2"}, nil, []string{"retries"},
			func(s SiteSettings) bool { return s.Interval == time.Minute && s.Retries == 2 }},
		// Clearing a field sends it empty: back to the default.
		{map[string]string{"interval": "", "keyword_mode": "absent", "retries": "2"}, []string{"follow_redirects"}, []string{"follow_redirects", "interval"},
			func(s SiteSettings) bool { return s.Interval == 0 && !s.FollowRedirects && s.Retries == 2 }},
	}
	for i, tc := range tests {
		f := formOf(t, e.do("GET", "/frontend/sites/1", nil).Body.String(), "/frontend/sites/1/settings")
		for k, v := range tc.set {
			f.Set(k, v)
		}
		for _, k := range tc.unset {
			f[k] = f[k][:1] // the hidden marker only: unticked
		}
		w := e.do("POST", "/frontend/sites/1/settings", f)
		last := e.sites.changes[len(e.sites.changes)-1]
		if w.Code != http.StatusSeeOther || !slices.Equal(last, tc.fields) || !tc.check(e.sites.settings[1]) {
			t.Errorf("%d: save = %d, fields %v (want %v), settings %+v", i, w.Code, last, tc.fields, e.sites.settings[1])
		}
	}

	// A field a script leaves out is unchanged; a box it leaves out too.
	w = e.do("POST", "/frontend/sites/1/settings", url.Values{"name": {"Named"}})
	if last := e.sites.changes[len(e.sites.changes)-1]; w.Code != http.StatusSeeOther || !slices.Equal(last, []string{"name"}) || e.sites.settings[1].Retries != 2 {
		t.Errorf("partial post = %d, fields %v, settings %+v", w.Code, last, e.sites.settings[1])
	}

	// The add form sends only what differs from a blank form.
	add := formOf(t, e.do("GET", "/frontend/", nil).Body.String(), "/frontend/sites")
	add.Set("url", "https://b.example")
	add.Set("with_settings", "1")
	add.Set("timeout", "3s")
	if w := e.do("POST", "/frontend/sites", add); w.Code != http.StatusSeeOther {
		t.Fatalf("add = %d %s", w.Code, w.Body)
	}
	if last := e.sites.changes[len(e.sites.changes)-1]; !slices.Equal(last, []string{"timeout"}) {
		t.Errorf("add sent %v, want [timeout]", last)
	}
}

// TestSettingsFormOnSiteService saves the form through SiteSettingsStore
// into the real site service: what the form leaves alone stays unset in
// the database and follows the configured defaults.
func TestSettingsFormOnSiteService(t *testing.T) {
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
	do := func(method, target string, form url.Values) *httptest.ResponseRecorder {
		t.Helper()
		var req *http.Request
		if form != nil {
			req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, target, nil)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req.WithContext(site.WithAccess(req.Context(), site.AccessWrite)))
		return w
	}
	s, err := sites.Add(ctx, &site.AddParams{URL: "https://a.example", Name: "Shop",
		Settings: site.Settings{Headers: map[string]string{"X-B": "2", "X-A": "1"}, Body: "a\nb", Tags: []string{"eu"}}})
	if err != nil {
		t.Fatal(err)
	}
	stored := func() site.Settings {
		t.Helper()
		st, err := sites.StoredSettings(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	page := do("GET", "/frontend/sites/1", nil).Body.String()
	if !strings.Contains(page, `value="" placeholder="5m"`) || !strings.Contains(page, `value="Shop"`) {
		t.Fatalf("site page does not show the stored settings")
	}
	form := formOf(t, page, "/frontend/sites/1/settings")
	if w := do("POST", "/frontend/sites/1/settings", form); w.Header().Get("Location") != "/frontend/sites/1?msg=same" {
		t.Fatalf("unchanged save = %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	form.Set("timeout", "3s")
	if w := do("POST", "/frontend/sites/1/settings", form); w.Header().Get("Location") != "/frontend/sites/1?msg=saved" {
		t.Fatalf("save = %d %s", w.Code, w.Body)
	}
	st := stored()
	if st.Timeout.D() != 3*time.Second || st.Interval != 0 || st.Method != "" || st.FollowRedirects != nil ||
		len(st.ExpectedStatus) != 0 || st.FailureThreshold != 0 || st.KeywordMode != "" || st.Body != "a\nb" || len(st.Headers) != 2 {
		t.Errorf("stored after save = %+v, want only the timeout set", st)
	}
	// The interval keeps following the defaults: a service configured
	// with another default answers that.
	other := site.New(db, site.Options{Defaults: site.Defaults{Interval: 2 * time.Minute}})
	if got, err := other.Get(ctx, &site.GetParams{ID: s.ID}); err != nil || got.Interval.D() != 2*time.Minute {
		t.Errorf("interval under other defaults = %v, %v", got.Interval, err)
	}
	// A cleared field returns to its default; a service error is shown
	// next to its field.
	form.Set("timeout", "")
	form.Set("failure_threshold", "500")
	if w := do("POST", "/frontend/sites/1/settings", form); w.Code != 400 || !strings.Contains(w.Body.String(), `id="e-failure_threshold">must be between 1 and 100</p>`) {
		t.Errorf("invalid save = %d", w.Code)
	}
	form.Set("failure_threshold", "")
	if w := do("POST", "/frontend/sites/1/settings", form); w.Header().Get("Location") != "/frontend/sites/1?msg=saved" {
		t.Fatalf("clearing save = %d %s", w.Code, w.Body)
	}
	if st := stored(); st.Timeout != 0 || st.FailureThreshold != 0 {
		t.Errorf("stored after clearing = %+v", st)
	}
}
