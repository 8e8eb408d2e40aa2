package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

const xssURL = `https://x.org/"><script>alert(1)</script>`

var testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

type env struct {
	t     *testing.T
	sites *fakeSites
	mon   *fakeMonitor
	h     *Handler
	srv   http.Handler
	// access is what the requests may see (the server's auth middleware
	// sets it); read-write unless a test says otherwise.
	access site.Access
}

func newEnv(t *testing.T, withSettings bool) *env {
	t.Helper()
	e := &env{t: t, sites: newFakeSites(), mon: newFakeMonitor(), access: site.AccessWrite}
	opts := Options{Sites: e.sites, Monitor: e.mon, Now: func() time.Time { return testNow }, PageSize: 3,
		Logger: slog.New(slog.NewTextHandler(tLog{t}, nil))}
	if withSettings {
		opts.Settings = e.sites
	}
	e.h = New(opts)
	srv := api.NewServer(nil)
	e.h.Register(srv)
	e.srv = Protect([]string{"https://app.example"}, srv)
	return e
}

func (e *env) add(u string) *site.Site {
	e.t.Helper()
	s, err := e.sites.Add(context.Background(), &site.AddParams{URL: u})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) do(method, target string, body url.Values, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req.WithContext(site.WithAccess(req.Context(), e.access)))
	return w
}

func recent(n int, downAt ...int) []RecentCheck {
	out := make([]RecentCheck, n)
	for i := range out {
		out[i] = RecentCheck{At: testNow.Add(time.Duration(i-n) * time.Minute), Up: true, LatencyMS: int64(40 + i)}
	}
	for _, i := range downAt {
		out[i].Up = false
	}
	return out
}

func TestRedirectsAndNotFound(t *testing.T) {
	e := newEnv(t, false)
	for path, want := range map[string]string{"/": "/frontend/", "/frontend": "/frontend/"} {
		w := e.do("GET", path, nil)
		if w.Code != http.StatusFound || w.Header().Get("Location") != want {
			t.Errorf("GET %s = %d %q", path, w.Code, w.Header().Get("Location"))
		}
	}
	if w := e.do("GET", "/nope", nil); w.Code != 404 || !strings.Contains(w.Body.String(), `"endpoint not found"`) {
		t.Errorf("GET /nope = %d %s (the API's JSON 404 must stay)", w.Code, w.Body)
	}
	if w := e.do("GET", "/frontend/nope", nil); w.Code != 404 || !strings.Contains(w.Body.String(), "<title>Not Found · upmon</title>") {
		t.Errorf("GET /frontend/nope = %d %s", w.Code, w.Body)
	}
	if w := e.do("GET", "/frontend/sites/abc", nil); w.Code != 400 {
		t.Errorf("GET /frontend/sites/abc = %d", w.Code)
	}
	if w := e.do("GET", "/frontend/sites/9", nil); w.Code != 404 {
		t.Errorf("GET /frontend/sites/9 = %d", w.Code)
	}
}

func TestOverview(t *testing.T) {
	e := newEnv(t, false)
	a := e.add("https://a.example")
	b := e.add("https://b.example")
	c := e.add("https://c.example")
	d := e.add("https://d.example")
	e.mon.set(&SiteOverview{SiteID: a.ID, State: "up", CheckedAt: testNow.Add(-3 * time.Minute), LatencyMS: 84, Uptime24h: ptr(99.999), Recent: recent(30, 4)})
	e.mon.set(&SiteOverview{SiteID: b.ID, State: "down", CheckedAt: testNow.Add(-time.Minute), StatusCode: 503, Recent: recent(5, 4)})
	e.mon.set(&SiteOverview{SiteID: c.ID, State: "degraded", CheckedAt: testNow, Maintenance: true})
	_ = d // never checked: unknown

	w := e.do("GET", "/frontend/", nil)
	body := w.Body.String()
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, body)
	}
	for _, want := range []string{
		"<title>(1 down) Overview · upmon</title>",
		`<b id="t-up">1</b> up`, `<b id="t-down">1</b> down`, `<b id="t-degraded">1</b> degraded`, `<b id="t-unknown">1</b> unknown`,
		`<span class="st st-down">Down</span>`, `<span class="st st-degraded">Degraded</span>`, `<span class="st st-unknown">Unknown</span>`,
		`<span class="pill maint">Maintenance</span>`,
		`title="2026-11-27 09:59:00 UTC">1 min ago</time>`,
		"Showing 1–3 of 4", `href="/frontend/?page=2"`,
		`<label for="add-url">URL</label>`, `<label for="q">Filter</label>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	// Down first, then degraded, then unknown; the up site is on page 2.
	ib, ic, id := strings.Index(body, `id="site-2"`), strings.Index(body, `id="site-3"`), strings.Index(body, `id="site-4"`)
	if ib < 0 || ic < ib || id < ic || strings.Contains(body, `id="site-1"`) {
		t.Errorf("order: down %d, degraded %d, unknown %d, up present %v", ib, ic, id, strings.Contains(body, `id="site-1"`))
	}
	w = e.do("GET", "/frontend/?page=2", nil)
	if !strings.Contains(w.Body.String(), `id="site-1"`) || !strings.Contains(w.Body.String(), "99.99 %") {
		t.Errorf("page 2 lacks the up site with its uptime rounded down: %s", w.Body)
	}
	w = e.do("GET", "/frontend/?q=B.EXAMPLE", nil)
	if b := w.Body.String(); !strings.Contains(b, `id="site-2"`) || strings.Contains(b, `id="site-3"`) || !strings.Contains(b, `<b id="t-all">4</b>`) {
		t.Errorf("filter: %s", b)
	}
	w = e.do("GET", "/frontend/?sort=name", nil)
	if b := w.Body.String(); strings.Index(b, `id="site-1"`) > strings.Index(b, `id="site-2"`) {
		t.Error("sort=name does not put a before b")
	}
	h := w.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("headers = %v", h)
	}
}

func TestNoInlineScriptOrStyle(t *testing.T) {
	e := newEnv(t, true)
	s := e.add("https://a.example")
	e.mon.set(&SiteOverview{SiteID: s.ID, State: "up", CheckedAt: testNow, Recent: recent(3)})
	for _, p := range []string{"/frontend/", "/frontend/sites/1", "/frontend/sites/1/delete", "/status-page"} {
		body := e.do("GET", p, nil).Body.String()
		if m := regexp.MustCompile(`<script(?: [^>]*)?>[^<]|<style|\sstyle=|\son[a-z]+=`).FindString(body); m != "" {
			t.Errorf("%s has inline script or style: %q", p, m)
		}
	}
}

func TestScriptInjectionStaysText(t *testing.T) {
	e := newEnv(t, true)
	s := e.add(xssURL)
	e.sites.settings[s.ID] = SiteSettings{Tags: []string{"<b>t</b>"}}
	e.mon.set(&SiteOverview{SiteID: s.ID, State: "down", CheckedAt: testNow, Error: `<img src=x onerror=alert(2)>`, Recent: recent(2)})
	e.mon.checks[s.ID] = []Check{{CheckedAt: testNow, State: "down", Error: `<img src=x onerror=alert(3)>`}}
	e.mon.incidents[s.ID] = []Incident{{Start: testNow, Ongoing: true, Reason: `<svg onload=alert(4)>`}}
	pages := []string{"/frontend/", "/frontend/sites/1", "/frontend/sites/1/delete", "/status-page", "/badge/1/status.svg",
		"/badge/1/uptime.svg?window=7d&label=%3Cscript%3E", "/frontend/?msg=added&site=1"}
	for _, p := range pages {
		w := e.do("GET", p, nil)
		body := w.Body.String()
		if w.Code != 200 {
			t.Errorf("%s: %d", p, w.Code)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload", "<b>t</b>", "<script>"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q unescaped", p, bad)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the escaped URL or label", p)
		}
	}
	// A URL in a filter query is echoed as text too.
	body := e.do("GET", "/frontend/?q="+url.QueryEscape(`"><script>alert(5)</script>`), nil).Body.String()
	if strings.Contains(body, "<script>alert(5)") {
		t.Error("filter echo not escaped")
	}
}

func TestAddForm(t *testing.T) {
	e := newEnv(t, false)
	w := e.do("POST", "/frontend/sites", url.Values{"url": {"https://ok.example"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/frontend/?msg=added&site=1" {
		t.Fatalf("add = %d %q", w.Code, w.Header().Get("Location"))
	}
	if b := e.do("GET", "/frontend/?msg=added&site=1", nil).Body.String(); !strings.Contains(b, "Site added: https://ok.example") {
		t.Errorf("flash missing: %s", b)
	}
	w = e.do("POST", "/frontend/sites", url.Values{"url": {"ftp://bad"}})
	body := w.Body.String()
	if w.Code != 400 || !strings.Contains(body, `<p class="err" id="add-url-err">scheme must be http`) ||
		!strings.Contains(body, `value="ftp://bad"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Errorf("bad URL = %d %s", w.Code, body)
	}
	w = e.do("POST", "/frontend/sites", url.Values{"url": {"https://ok.example"}})
	if w.Code != 409 || !strings.Contains(w.Body.String(), "a site with this URL already exists") {
		t.Errorf("duplicate = %d", w.Code)
	}
	w = e.do("POST", "/frontend/sites", url.Values{"url": {"javascript:alert(1)"}}, "Accept", "application/json")
	var je api.Error
	if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &je) != nil || je.Code != api.InvalidArgument || !strings.HasPrefix(je.Message, "url: ") {
		t.Errorf("JSON add = %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/frontend/sites", url.Values{"url": {"https://two.example"}}, "Accept", "application/json")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"location":"/frontend/?msg=added\u0026site=2"`) {
		t.Errorf("JSON add ok = %d %s", w.Code, w.Body)
	}
}

func TestSettingsForms(t *testing.T) {
	e := newEnv(t, true)
	form := url.Values{"url": {"https://s.example"}, "with_settings": {"1"}, "name": {"Shop"}, "interval": {"30s"},
		"method": {"post"}, "headers": {"X-A: 1\nX-B: two"}, "expected_status": {"200, 204"}, "tags": {"prod, eu"},
		"follow_redirects": {"1"}, "keyword_mode": {"absent"}, "keyword": {"error"}, "retries": {"2"}}
	w := e.do("POST", "/frontend/sites", form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("add with settings = %d %s", w.Code, w.Body)
	}
	st := e.sites.settings[1]
	if st.Name != "Shop" || st.Interval != 30*time.Second || st.Method != "POST" || st.Headers["X-B"] != "two" ||
		len(st.ExpectedStatus) != 2 || len(st.Tags) != 2 || !st.FollowRedirects || st.KeywordMode != "absent" || st.Retries != 2 {
		t.Fatalf("settings = %+v", st)
	}
	body := e.do("GET", "/frontend/sites/1", nil).Body.String()
	for _, want := range []string{"<title>Shop · upmon</title>", `value="30s"`, "X-A: 1\nX-B: two", `<option selected>POST</option>`, `value="prod, eu"`} {
		if !strings.Contains(body, want) {
			t.Errorf("site page lacks %q", want)
		}
	}
	// A syntax error is caught here, a value error comes from the service.
	w = e.do("POST", "/frontend/sites/1/settings", url.Values{"interval": {"soon"}})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `<p class="err" id="e-interval">must be a duration such as 30s or 5m</p>`) {
		t.Errorf("bad interval = %d", w.Code)
	}
	w = e.do("POST", "/frontend/sites/1/settings", url.Values{"interval": {"10ms"}, "name": {"Kept"}})
	if w.Code != 400 || !strings.Contains(w.Body.String(), `<p class="err" id="e-interval">must be at least 1s</p>`) || !strings.Contains(w.Body.String(), `value="Kept"`) {
		t.Errorf("service error = %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/frontend/sites/1/settings", url.Values{"interval": {"1m"}, "paused": {"1"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/frontend/sites/1?msg=saved" || !e.sites.settings[1].Paused {
		t.Errorf("save = %d %q", w.Code, w.Header().Get("Location"))
	}
	if b := e.do("GET", "/frontend/", nil).Body.String(); !strings.Contains(b, `<span class="pill paused">Paused</span>`) {
		t.Error("paused badge missing")
	}
	if b := e.do("GET", "/badge/1/status.svg", nil).Body.String(); !strings.Contains(b, ">paused</text>") {
		t.Errorf("paused badge: %s", b)
	}
}

func TestDeleteAndCheckForms(t *testing.T) {
	e := newEnv(t, false)
	e.add("https://a.example")
	body := e.do("GET", "/frontend/sites/1/delete", nil).Body.String()
	if !strings.Contains(body, `<form method="post" action="/frontend/sites/1/delete"`) || !strings.Contains(body, "<title>Delete https://a.example? · upmon</title>") {
		t.Errorf("confirm page: %s", body)
	}
	w := e.do("POST", "/frontend/sites/1/check", url.Values{"return": {"site"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/frontend/sites/1?msg=checked&site=1" || len(e.mon.checked) != 1 {
		t.Errorf("check = %d %q", w.Code, w.Header().Get("Location"))
	}
	w = e.do("POST", "/frontend/sites/1/check", nil)
	if w.Header().Get("Location") != "/frontend/?msg=checked&site=1#site-1" {
		t.Errorf("check from overview = %q", w.Header().Get("Location"))
	}
	w = e.do("POST", "/frontend/sites/1/delete", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/frontend/?msg=deleted" || len(e.sites.sites) != 0 {
		t.Errorf("delete = %d", w.Code)
	}
	if w := e.do("POST", "/frontend/sites/1/check", nil); w.Code != 404 {
		t.Errorf("check deleted = %d", w.Code)
	}
}

func TestSitePage(t *testing.T) {
	e := newEnv(t, false)
	e.add("https://a.example")
	e.mon.uptime = ptr(99.5)
	e.mon.set(&SiteOverview{SiteID: 1, State: "down", CheckedAt: testNow, StatusCode: 503, Error: "HTTP 503"})
	end := testNow.Add(-time.Hour)
	e.mon.incidents[1] = []Incident{
		{Start: testNow.Add(-5 * time.Minute), Ongoing: true, DurationSeconds: 300, Reason: "HTTP 503"},
		{Start: end.Add(-90 * time.Minute), End: &end, DurationSeconds: 5400, Reason: "timeout"},
	}
	e.mon.checks[1] = []Check{{CheckedAt: testNow, Up: false, StatusCode: 503, LatencyMS: 12, Error: "HTTP 503"}}
	for i := range 96 {
		at := testNow.Add(-24 * time.Hour).Add(time.Duration(i) * 15 * time.Minute)
		p := LatencyPoint{At: at, P50MS: 50 + float64(i%7), P95MS: 120, MaxMS: 300, Count: 3, Up: 3}
		if i == 90 {
			p.Down, p.Up = 2, 1
		}
		e.mon.latency[1] = append(e.mon.latency[1], p)
	}
	body := e.do("GET", "/frontend/sites/1", nil).Body.String()
	for _, want := range []string{
		"<title>https://a.example · upmon</title>", `<dt>24h</dt><dd>99.50 %</dd>`, `<dt>30d</dt>`,
		`<svg class="chart"`, `<text class="unit" x="4" y="10">ms</text>`, "time (UTC)", ">150</text>", ">04:00</text>",
		`<path class="p50" d="M`, "2 of 3 checks failed", "<strong>ongoing</strong>", "1 h 30 min", "5 min 0 s",
		`<td class="n">503</td>`, `aria-current="true">24h</a>`, "![status](http://example.com/badge/1/status.svg)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("site page lacks %q", want)
		}
	}
	if e.mon.overviews != 0 || e.mon.overviewOf != 1 {
		t.Errorf("the site page read %d overviews of every site and %d of its own; want 0 and 1", e.mon.overviews, e.mon.overviewOf)
	}
	body = e.do("GET", "/frontend/sites/1?window=7d", nil).Body.String()
	if !strings.Contains(body, `aria-current="true">7d</a>`) || !strings.Contains(body, ">Nov 21</text>") {
		t.Error("7d window: no day ticks")
	}
	e.mon.latency[1] = nil
	if body := e.do("GET", "/frontend/sites/1?window=30d", nil).Body.String(); !strings.Contains(body, "No checks in this window") {
		t.Error("empty chart has no notice")
	}
}

func TestStatusPageIsReadOnly(t *testing.T) {
	e := newEnv(t, true)
	e.add("https://a.example")
	e.add("https://b.example")
	e.mon.set(&SiteOverview{SiteID: 2, State: "down", CheckedAt: testNow})
	body := e.do("GET", "/status-page", nil).Body.String()
	for _, bad := range []string{"<form", "<button", "<input", "/frontend/sites", "Delete"} {
		if strings.Contains(body, bad) {
			t.Errorf("status page contains %q", bad)
		}
	}
	if !strings.Contains(body, "1 of 2 services down") || strings.Index(body, "b.example") > strings.Index(body, "a.example") {
		t.Errorf("status page: %s", body)
	}
}

func TestBadges(t *testing.T) {
	e := newEnv(t, false)
	e.add("https://a.example")
	e.mon.set(&SiteOverview{SiteID: 1, State: "up", CheckedAt: testNow})
	e.mon.uptime = ptr(99.95)
	tests := []struct {
		path, want, ctype string
		code              int
	}{
		{"/badge/1/status.svg", ">up</text>", "image/svg+xml", 200},
		{"/badge/1/uptime.svg?window=30d", ">99.95%</text>", "image/svg+xml", 200},
		{"/badge/1/uptime.svg", ">uptime 30d</text>", "image/svg+xml", 200},
		{"/badge/1/uptime.svg?window=2d", `"invalid_argument"`, "application/json", 400},
		{"/badge/9/status.svg", ">site not found</text>", "image/svg+xml", 404},
		{"/badge/x/status.svg", `"invalid_argument"`, "application/json", 400},
		{"/badge/0/uptime.svg", `"invalid_argument"`, "application/json", 400},
	}
	for _, tc := range tests {
		w := e.do("GET", tc.path, nil)
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) || w.Header().Get("Content-Type") != tc.ctype {
			t.Errorf("%s = %d %s %s", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		if tc.ctype == "image/svg+xml" && w.Header().Get("Cache-Control") != "max-age=60" {
			t.Errorf("%s Cache-Control = %q", tc.path, w.Header().Get("Cache-Control"))
		}
	}
	if e.mon.overviews != 0 {
		t.Errorf("badges read the overview of every site %d times", e.mon.overviews)
	}
	e.add("https://never.example")
	if b := e.do("GET", "/badge/2/status.svg", nil).Body.String(); !strings.Contains(b, ">unknown</text>") {
		t.Errorf("badge of a site never checked: %s", b)
	}
}

func TestStaticAssets(t *testing.T) {
	e := newEnv(t, false)
	body := e.do("GET", "/frontend/", nil).Body.String()
	m := regexp.MustCompile(`src="(/frontend/static/app\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no script tag")
	}
	w := e.do("GET", m[1], nil)
	if w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("asset = %d %v", w.Code, w.Header())
	}
	if w := e.do("GET", "/frontend/static/nope.js", nil); w.Code != 404 {
		t.Errorf("missing asset = %d", w.Code)
	}
}

func TestLiveState(t *testing.T) {
	e := newEnv(t, false)
	e.add("https://a.example")
	e.add("https://b.example")
	e.mon.set(&SiteOverview{SiteID: 2, State: "down", CheckedAt: testNow, LatencyMS: 7})
	w := e.do("GET", "/frontend/state.json?ids=2,x,9", nil)
	var got liveStateResponse
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Totals.Down != 1 || got.Totals.All != 2 ||
		len(got.Sites) != 1 || got.Sites["2"].State != "down" || got.Sites["2"].LatencyMS != 7 {
		t.Errorf("state = %s", w.Body)
	}
}

// tLog writes log lines to the test's log.
type tLog struct{ t *testing.T }

func (l tLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
