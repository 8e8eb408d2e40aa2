package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/client"
	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// scriptedTarget is a loopback site whose status, delay and body tests
// switch at will, and which records the requests it served.
type scriptedTarget struct {
	URL string

	mu       sync.Mutex
	status   int
	delay    time.Duration
	body     string
	failNext int // answer 503 to this many requests first
	requests []servedRequest
}

// servedRequest is what the target saw of one request.
type servedRequest struct {
	Method string
	Header http.Header
	Body   string
	Path   string
}

func newScriptedTarget(t *testing.T) *scriptedTarget {
	t.Helper()
	st := &scriptedTarget{status: 200}
	st.URL = apptest.NewHandlerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		st.mu.Lock()
		st.requests = append(st.requests, servedRequest{Method: r.Method, Header: r.Header.Clone(), Body: string(b), Path: r.URL.RequestURI()})
		code, delay, body := st.status, st.delay, st.body
		if st.failNext > 0 {
			st.failNext--
			code = 503
		}
		st.mu.Unlock()
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/landing", http.StatusFound)
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	return st
}

func (s *scriptedTarget) set(f func(s *scriptedTarget)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *scriptedTarget) served() []servedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// quickConfig is apptest.Config without the per-client rate limit of
// /check: these tests check sites many times a second on purpose.
func quickConfig(t *testing.T) app.Config {
	t.Helper()
	cfg := apptest.Config(t)
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	return cfg
}

// startSlackOnly starts the program with a fake Slack webhook and no
// sites.
func startSlackOnly(t *testing.T, cfg app.Config, hooks app.Hooks) (*app.Main, apptest.Client, *apptest.Slack) {
	t.Helper()
	slack := apptest.NewSlack(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, hooks)
	return m, apptest.Client{Base: m.URL(), TB: t}, slack
}

// addSite posts body to /site and returns the new site's id as a string.
func addSite(t *testing.T, c apptest.Client, body string) string {
	t.Helper()
	var out struct {
		ID int64 `json:"id"`
	}
	c.JSON("POST", "/site", body, &out)
	return strconv.FormatInt(out.ID, 10)
}

// siteSettings is the part of GET /site/{id} the tests look at.
type siteSettings map[string]any

func getSite(t *testing.T, c apptest.Client, id string) siteSettings {
	t.Helper()
	var out siteSettings
	c.JSON("GET", "/site/"+id, "", &out)
	return out
}

// checkNow checks site id at once (POST /check/{id}).
func checkNow(t *testing.T, c apptest.Client, id string) *client.MonitorCheckResult {
	t.Helper()
	r, err := typed(c).Monitor.Check(context.Background(), mustID(t, id))
	if err != nil {
		t.Fatalf("check %s: %v", id, err)
	}
	return r
}

// errorBody is the API's error answer.
type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Details map[string]string `json:"details"`
}

// requireFieldError requires a 400 naming field in its message and
// details.
func requireFieldError(t *testing.T, c apptest.Client, method, path, body, field string) {
	t.Helper()
	status, resp := c.Do(method, path, body)
	var e errorBody
	if err := json.Unmarshal([]byte(resp), &e); err != nil || status != 400 || e.Code != "invalid_argument" ||
		e.Details["field"] != field || !strings.HasPrefix(e.Message, field+": ") {
		t.Errorf("%s %s %.100s: %d %s; want 400 naming %q", method, path, body, status, resp, field)
	}
}

// waitFirstCheck waits until the site-added subscription has checked a
// new site.
func waitFirstCheck(t *testing.T, c apptest.Client, id string) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "site "+id+"'s first check", func() bool {
		st, err := typed(c).Monitor.Status(context.Background())
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		_, ok := st.Sites[id]
		return ok
	})
}

func TestSettingsValidationAndPatchOverHTTP(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)

	for body, field := range map[string]string{
		`{"url":"%s","interval":"10ms"}`:              "interval",
		`{"url":"%s","timeout":"1h"}`:                 "timeout",
		`{"url":"%s","method":"DELETE"}`:              "method",
		`{"url":"%s","headers":{"Bad Name":"x"}}`:     "headers",
		`{"url":"%s","body":1}`:                       "body",
		`{"url":"%s","expected_status":["2xx"]}`:      "expected_status[0]",
		`{"url":"%s","follow_redirects":"sometimes"}`: "follow_redirects",
		`{"url":"%s","keyword_mode":"maybe"}`:         "keyword_mode",
		`{"url":"%s","json_path":[{"path":"$.a","op":"exists"},{"path":"$.b","op":"=~","value":1}]}`: "json_path[1].op",
		`{"url":"%s","max_latency":"1h"}`:       "max_latency",
		`{"url":"%s","failure_threshold":0.5}`:  "failure_threshold",
		`{"url":"%s","success_threshold":1000}`: "success_threshold",
		`{"url":"%s","retries":100}`:            "retries",
		`{"url":"%s","paused":1}`:               "paused",
		`{"url":"%s","tags":["no spaces"]}`:     "tags[0]",
		`{"url":"%s","name":7}`:                 "name",
		`{"url":"%s","nickname":"x"}`:           "nickname",
		`{"url":"%s","kind":"dns"}`:             "kind",
	} {
		requireFieldError(t, c, "POST", "/site", fmt.Sprintf(body, target.URL), field)
	}

	// Defaults filled in: interval the global check interval (1h in
	// tests), timeout the global ping timeout (2s).
	id := addSite(t, c, `{"url":"`+target.URL+`"}`)
	got := getSite(t, c, id)
	want := map[string]any{"interval": "1h", "timeout": "2s", "method": "GET", "follow_redirects": true,
		"expected_status": []any{"200-399"}, "keyword_mode": "contains", "failure_threshold": 1.0, "success_threshold": 1.0,
		"retries": 0.0, "paused": false, "tags": []any{}, "json_path": []any{}, "headers": map[string]any{}, "max_latency": "0s",
		"keyword": "", "body": "", "name": "", "kind": "http"}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("GET default %s = %v, want %v", k, got[k], v)
		}
	}
	var list struct{ Sites []siteSettings }
	c.JSON("GET", "/site", "", &list)
	if len(list.Sites) != 1 || fmt.Sprint(list.Sites[0]) != fmt.Sprint(got) {
		t.Errorf("GET /site = %v, want the same settings as GET /site/%s", list.Sites, id)
	}

	// PATCH: absent keeps, null resets, a bad value names its field.
	c.JSON("PATCH", "/site/"+id, `{"interval":"30s","tags":["prod"],"retries":2,"name":"API"}`, nil)
	c.JSON("PATCH", "/site/"+id, `{"timeout":"5s"}`, nil)
	got = getSite(t, c, id)
	if got["interval"] != "30s" || got["timeout"] != "5s" || fmt.Sprint(got["tags"]) != "[prod]" || got["retries"] != 2.0 || got["name"] != "API" {
		t.Errorf("after PATCHes: %v", got)
	}
	c.JSON("PATCH", "/site/"+id, `{"interval":null,"tags":null,"retries":null}`, nil)
	got = getSite(t, c, id)
	if got["interval"] != "1h" || fmt.Sprint(got["tags"]) != "[]" || got["retries"] != 0.0 || got["timeout"] != "5s" {
		t.Errorf("after resetting with null: %v", got)
	}
	requireFieldError(t, c, "PATCH", "/site/"+id, `{"color":"red"}`, "color")
	requireFieldError(t, c, "PATCH", "/site/"+id, `{"kind":"tcp"}`, "kind")
	requireFieldError(t, c, "PATCH", "/site/"+id, `{"url":"tcp://127.0.0.1:1"}`, "url")
	requireFieldError(t, c, "PATCH", "/site/"+id, `{"json_path":[{"path":"$","op":"exists"},{"path":"$.x","op":"?"}]}`, "json_path[1].op")
	requireFieldError(t, c, "PATCH", "/site/"+id, `{"expected_status":["200","9000"]}`, "expected_status[1]")
	requireFieldError(t, c, "PATCH", "/site/"+id, `{"headers":{"X-Ok":"a\u0000b"}}`, "headers.X-Ok")
	if after := getSite(t, c, id); fmt.Sprint(after) != fmt.Sprint(got) {
		t.Errorf("a refused PATCH changed the site: %v", after)
	}
	if status, body := c.Do("PATCH", "/site/99", `{"paused":true}`); status != 404 {
		t.Errorf("PATCH of an unknown site: %d %s", status, body)
	}
}

func TestRequestSettingsReachTheTarget(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := newScriptedTarget(t)

	id := addSite(t, c, `{"url":"`+target.URL+`/hook","method":"POST","headers":{"Authorization":"Bearer t0ken","X-Env":"test"},"body":"{\"ping\":true}"}`)
	waitFirstCheck(t, c, id)
	if r := checkNow(t, c, id); !r.Up {
		t.Fatalf("check = %+v", r)
	}
	reqs := target.served()
	if len(reqs) != 2 {
		t.Fatalf("target served %d requests, want 2 (the first check and ours)", len(reqs))
	}
	for _, r := range reqs {
		if r.Method != "POST" || r.Path != "/hook" || r.Body != `{"ping":true}` || r.Header.Get("Authorization") != "Bearer t0ken" ||
			r.Header.Get("X-Env") != "test" || !strings.HasPrefix(r.Header.Get("User-Agent"), "upmon/") {
			t.Fatalf("the target saw %+v", r)
		}
	}
	c.JSON("PATCH", "/site/"+id, `{"method":"HEAD"}`, nil)
	checkNow(t, c, id)
	if reqs = target.served(); reqs[len(reqs)-1].Method != "HEAD" || reqs[len(reqs)-1].Body != "" {
		t.Fatalf("after PATCH method HEAD the target saw %+v", reqs[len(reqs)-1])
	}
}

func TestStatusKeywordAndJSONPathSettings(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := newScriptedTarget(t)
	target.set(func(s *scriptedTarget) { s.body = `{"status":"UP","db":{"latency_ms":12},"tags":["blue"]}` })

	tests := []struct {
		path, settings string
		up             bool
		status         int
		reason         string
	}{
		// follow_redirects false: a 302 within the default 200-399 is up;
		// with expected ["200"] it is down.
		{"/redirect", `"follow_redirects":false`, true, 302, ""},
		{"/redirect", `"follow_redirects":false,"expected_status":["200"]`, false, 302, "HTTP 302"},
		{"/redirect", ``, true, 200, ""},
		{"/a", `"expected_status":["201","300-399"]`, false, 200, "HTTP 200"},
		{"/b", `"expected_status":["200-200"]`, true, 200, ""},
		{"/c", `"keyword":"\"UP\""`, true, 200, ""},
		{"/d", `"keyword":"DOWN"`, false, 200, `keyword "DOWN" not found`},
		{"/e", `"keyword":"DOWN","keyword_mode":"absent"`, true, 200, ""},
		{"/f", `"keyword":"blue","keyword_mode":"absent"`, false, 200, `keyword "blue" found`},
		{"/g", `"json_path":[{"path":"$.status","op":"==","value":"UP"},{"path":"$.db.latency_ms","op":"<","value":100}]`, true, 200, ""},
		{"/h", `"json_path":[{"path":"$.db.latency_ms","op":">=","value":100}]`, false, 200, "json_path $.db.latency_ms: got 12, want >= 100"},
		{"/i", `"json_path":[{"path":"$.tags","op":"contains","value":"blue"},{"path":"$.db","op":"exists"}]`, true, 200, ""},
		{"/j", `"json_path":[{"path":"$.missing","op":"exists"}]`, false, 200, "not found"},
	}
	for i, tc := range tests {
		body := `{"url":"` + target.URL + tc.path + `?case=` + strconv.Itoa(i) + `"`
		if tc.settings != "" {
			body += "," + tc.settings
		}
		id := addSite(t, c, body+"}")
		r := checkNow(t, c, id)
		if r.Up != tc.up || r.StatusCode != int64(tc.status) || !strings.Contains(r.Error, tc.reason) || (tc.up && r.Error != "") {
			t.Errorf("%s {%s}: %+v; want up=%v status=%d reason~%q", tc.path, tc.settings, r, tc.up, tc.status, tc.reason)
		}
	}
}

func TestThresholdsNotifyExactly(t *testing.T) {
	t.Parallel()
	_, c, slack := startSlackOnly(t, quickConfig(t), app.Hooks{})
	target := apptest.NewTarget(t)
	id := addSite(t, c, `{"url":"`+target.URL+`","failure_threshold":3,"success_threshold":2}`)
	waitFirstCheck(t, c, id)
	check := func(code int, n int) {
		t.Helper()
		target.SetStatus(code)
		for range n {
			checkNow(t, c, id)
		}
	}

	// Two failures then a success: nothing.
	check(500, 2)
	check(200, 1)
	time.Sleep(settle)
	if got := slack.Messages(); len(got) != 0 {
		t.Fatalf("two failures then a success sent %q", got)
	}
	// Three failures: one down.
	check(500, 3)
	if got := slack.WaitFor(1, 10*time.Second); len(got) != 1 || got[0] != "*"+target.URL+" is down!*\nHTTP 500 after 3 failed checks" {
		t.Fatalf("after three failures: %q", got)
	}
	// More failures: nothing more.
	check(500, 2)
	// One success after down: nothing (success_threshold 2).
	check(200, 1)
	time.Sleep(settle)
	if got := slack.Messages(); len(got) != 1 {
		t.Fatalf("one success after down: %q", got)
	}
	if r := checkNow(t, c, id); r.State != "up" {
		t.Fatalf("second success: state %q", r.State)
	}
	slack.WaitFor(2, 10*time.Second)
	time.Sleep(settle)
	if got := slack.Messages(); len(got) != 2 || got[1] != "*"+target.URL+" is back up.*\nHTTP 200 after 2 successful checks" {
		t.Fatalf("after two successes: %q", got)
	}
}

func TestMaxLatencyDegradedEvents(t *testing.T) {
	t.Parallel()
	_, c, slack := startSlackOnly(t, quickConfig(t), app.Hooks{})
	target := newScriptedTarget(t)
	id := addSite(t, c, `{"url":"`+target.URL+`","max_latency":"200ms"}`)
	waitFirstCheck(t, c, id)

	target.set(func(s *scriptedTarget) { s.delay = 400 * time.Millisecond })
	if r := checkNow(t, c, id); !r.Up || r.State != "degraded" || !strings.HasPrefix(r.Error, "slow: ") {
		t.Fatalf("slow check = %+v", r)
	}
	var st struct {
		Sites map[string]struct {
			Up    bool   `json:"up"`
			State string `json:"state"`
		} `json:"sites"`
	}
	c.JSON("GET", "/status", "", &st)
	if s := st.Sites[id]; !s.Up || s.State != "degraded" {
		t.Fatalf("status of a degraded site = %+v", s)
	}
	msgs := slack.WaitFor(1, 10*time.Second)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "*"+target.URL+" is degraded!*\nslow: ") || !strings.HasSuffix(msgs[0], " &gt; max 200ms after 1 slow check") { // Slack escapes >
		t.Fatalf("degraded notification: %q", msgs)
	}
	target.set(func(s *scriptedTarget) { s.delay = 0 })
	if r := checkNow(t, c, id); !r.Up || r.State != "up" {
		t.Fatalf("fast check = %+v", r)
	}
	slack.WaitFor(2, 10*time.Second)
	time.Sleep(settle)
	if msgs = slack.Messages(); len(msgs) != 2 || msgs[1] != "*"+target.URL+" is no longer degraded.*\nanswered within 200ms after 1 check" {
		t.Fatalf("recovery notification: %q", msgs)
	}
	// Degraded and down are separate: a failure now says down.
	target.set(func(s *scriptedTarget) { s.status = 500 })
	checkNow(t, c, id)
	if msgs = slack.WaitFor(3, 10*time.Second); len(msgs) != 3 || !strings.HasPrefix(msgs[2], "*"+target.URL+" is down!*\nHTTP 500") {
		t.Fatalf("down after degraded: %q", msgs)
	}
}

func TestRetriesWithinOneCheck(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := newScriptedTarget(t)
	id := addSite(t, c, `{"url":"`+target.URL+`","retries":1,"timeout":"1s"}`)
	waitFirstCheck(t, c, id)

	target.set(func(s *scriptedTarget) { s.failNext = 1 }) // fails once, then succeeds
	if r := checkNow(t, c, id); !r.Up || r.StatusCode != 200 {
		t.Fatalf("check with one retry = %+v", r)
	}
	var page struct {
		Checks []struct {
			Up       bool `json:"up"`
			Attempts int  `json:"attempts"`
		} `json:"checks"`
	}
	c.JSON("GET", "/site/"+id+"/checks?limit=1", "", &page)
	if len(page.Checks) != 1 || !page.Checks[0].Up || page.Checks[0].Attempts != 2 {
		t.Fatalf("latest check = %+v, want up after 2 attempts", page.Checks)
	}
	// Without retries the same failure is down after one attempt.
	c.JSON("PATCH", "/site/"+id, `{"retries":null}`, nil)
	target.set(func(s *scriptedTarget) { s.failNext = 1 })
	if r := checkNow(t, c, id); r.Up || r.StatusCode != 503 {
		t.Fatalf("check without retries = %+v", r)
	}
	c.JSON("GET", "/site/"+id+"/checks?limit=1", "", &page)
	if page.Checks[0].Attempts != 1 {
		t.Fatalf("latest check = %+v, want 1 attempt", page.Checks)
	}
}

func TestPausedSiteIsNeverChecked(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, quickConfig(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := newScriptedTarget(t)
	id := addSite(t, c, `{"url":"`+target.URL+`","paused":true,"interval":"1s","tags":["batch","eu"]}`)

	// The site-added subscription schedules it, paused, without a check.
	apptest.Eventually(t, 10*time.Second, "the paused site scheduled", func() bool {
		var paused bool
		err := m.Monitor.DB().QueryRow(`SELECT paused FROM site_state WHERE site_id = $1`, id).Scan(&paused)
		return err == nil && paused
	})
	status, body := c.Do("POST", "/check/"+id, "")
	if status != 400 || !strings.Contains(body, `"failed_precondition"`) {
		t.Fatalf("POST /check of a paused site: %d %s", status, body)
	}
	var all struct {
		Checked int `json:"checked"`
		Paused  int `json:"paused"`
	}
	c.JSON("POST", "/check-all", "", &all)
	if all.Checked != 0 || all.Paused != 1 {
		t.Fatalf("check-all = %+v", all)
	}
	// A sentinel site with the same 1 s interval, added after it: once the
	// scheduler has checked the sentinel at its interval twice, the paused
	// site's own due time has passed at least once.
	sentinel := newScriptedTarget(t)
	addSite(t, c, `{"url":"`+sentinel.URL+`","interval":"1s"}`)
	apptest.Eventually(t, 10*time.Second, "the sentinel checked at its interval", func() bool { return len(sentinel.served()) >= 3 })
	if n := len(target.served()); n != 0 {
		t.Fatalf("a paused site was checked %d times", n)
	}
	got := getSite(t, c, id)
	if got["paused"] != true || fmt.Sprint(got["tags"]) != "[batch eu]" {
		t.Fatalf("paused site = %v", got)
	}
	// Unpaused, the scheduler checks it at its interval.
	c.JSON("PATCH", "/site/"+id, `{"paused":false}`, nil)
	apptest.Eventually(t, 10*time.Second, "checks after unpausing", func() bool { return len(target.served()) >= 2 })
}

func TestMaintenanceHoldsNotificationsBack(t *testing.T) {
	t.Parallel()
	_, c, slack := startSlackOnly(t, quickConfig(t), app.Hooks{})
	inWindow := apptest.NewTarget(t)
	byTag := apptest.NewTarget(t)
	outside := apptest.NewTarget(t)
	a := addSite(t, c, `{"url":"`+inWindow.URL+`"}`)
	b := addSite(t, c, `{"url":"`+byTag.URL+`","tags":["db"]}`)
	o := addSite(t, c, `{"url":"`+outside.URL+`"}`)
	for _, id := range []string{a, b, o} {
		waitFirstCheck(t, c, id)
	}
	now := time.Now().UTC()
	var mw struct {
		ID    int64   `json:"id"`
		Sites []int64 `json:"sites"`
	}
	c.JSON("POST", "/maintenance", fmt.Sprintf(`{"sites":[%s],"start":%q,"end":%q,"note":"upgrade"}`,
		a, now.Add(-time.Minute).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)), &mw)
	c.JSON("POST", "/maintenance", fmt.Sprintf(`{"tags":["db"],"start":%q,"end":%q,"recurrence":"weekly"}`,
		now.Add(-time.Minute).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)), nil)
	requireFieldError(t, c, "POST", "/maintenance", fmt.Sprintf(`{"sites":[1],"start":%q,"end":%q}`,
		now.Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339)), "end")
	var list struct {
		Maintenance []map[string]any `json:"maintenance"`
	}
	c.JSON("GET", "/maintenance", "", &list)
	if len(list.Maintenance) != 2 || list.Maintenance[1]["recurrence"] != "weekly" {
		t.Fatalf("GET /maintenance = %+v", list)
	}

	for _, tg := range []*apptest.Target{inWindow, byTag, outside} {
		tg.SetStatus(500)
	}
	for _, id := range []string{a, b, o} {
		if r := checkNow(t, c, id); r.Up || r.State != "down" {
			t.Fatalf("site %s: %+v", id, r)
		}
	}
	// Only the site outside the windows is announced; the others' down
	// transitions are recorded.
	slack.WaitFor(1, 10*time.Second)
	time.Sleep(2 * settle)
	if got := firstLines(slack.Messages()); len(got) != 1 || got[0] != "*"+outside.URL+" is down!*" {
		t.Fatalf("Slack during maintenance: %q", got)
	}
	for _, id := range []string{a, b} {
		var inc struct {
			Incidents []struct {
				Ongoing bool `json:"ongoing"`
			} `json:"incidents"`
		}
		c.JSON("GET", "/site/"+id+"/incidents", "", &inc)
		if len(inc.Incidents) != 1 || !inc.Incidents[0].Ongoing {
			t.Fatalf("site %s incidents in maintenance = %+v", id, inc)
		}
	}
	// After the window ends (deleted here), the held-back outage is
	// notified at the next check if the site is still down; a site that
	// recovered within its window is never announced at all.
	c.JSON("DELETE", fmt.Sprintf("/maintenance/%d", mw.ID), "", nil)
	checkNow(t, c, a)
	got := slack.WaitFor(2, 10*time.Second)
	if len(got) != 2 || firstLines(got)[1] != "*"+inWindow.URL+" is down!*" || !strings.Contains(got[1], "still down after a maintenance window") {
		t.Fatalf("Slack after the window: %q", got)
	}
	inWindow.SetStatus(200)
	checkNow(t, c, a)
	if got := firstLines(slack.WaitFor(3, 10*time.Second)); len(got) != 3 || got[2] != "*"+inWindow.URL+" is back up.*" {
		t.Fatalf("Slack after recovery: %q", got)
	}
	byTag.SetStatus(200)
	checkNow(t, c, b) // recovered inside its window: nothing to say
	time.Sleep(2 * settle)
	if got := slack.Messages(); len(got) != 3 {
		t.Fatalf("a change undone within its window was notified: %q", got)
	}
}
