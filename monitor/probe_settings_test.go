package monitor_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/monitor"
	"upmon/site"
)

// seenRequest is what the settings target saw of one request.
type seenRequest struct {
	method string
	header http.Header
	host   string
	body   string
}

// settingsTarget is a loopback site with one route per behaviour a
// setting is tested against; it records every request.
type settingsTarget struct {
	url   string
	mu    sync.Mutex
	seen  []seenRequest
	flaky map[string]int
}

func (s *settingsTarget) last(t *testing.T) seenRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		t.Fatal("the target saw no request")
	}
	return s.seen[len(s.seen)-1]
}

func newSettingsTarget(t *testing.T) *settingsTarget {
	t.Helper()
	st := &settingsTarget{flaky: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("code") {
		case "301":
			w.WriteHeader(301)
		case "302":
			http.Redirect(w, r, "/status/200", http.StatusFound)
		case "404":
			w.WriteHeader(404)
		case "503":
			w.WriteHeader(503)
		}
	})
	mux.HandleFunc("/redirect-to-404", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status/404", http.StatusFound)
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"UP","version":"1.10","n":5,"ok":true,"none":null,"checks":[{"name":"db","ms":12},{"name":"cache","ms":3}],"tags":["a","b"],"msg":"all systems go"}`)
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html>Welcome back, everything is fine</html>")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	// /flaky?k=KEY fails the first n requests of each key (n from ?n=).
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		st.flaky[r.URL.Query().Get("k")]++
		hits := st.flaky[r.URL.Query().Get("k")]
		st.mu.Unlock()
		n := 1
		if r.URL.Query().Get("n") == "always" {
			n = 1 << 30
		}
		if hits <= n {
			w.WriteHeader(503)
		}
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		st.mu.Lock()
		st.seen = append(st.seen, seenRequest{method: r.Method, header: r.Header.Clone(), host: r.Host, body: string(body)})
		st.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	st.url = srv.URL
	return st
}

// siteWith returns an http site at u whose settings are decoded from the
// JSON object settings, with defaults filled in as the API fills them.
func siteWith(t *testing.T, u, settings string) *site.Site {
	t.Helper()
	st := &site.Site{ID: 1, URL: u, Kind: site.KindHTTP}
	if settings != "" {
		if err := json.Unmarshal([]byte(settings), &st.Settings); err != nil {
			t.Fatalf("settings %s: %v", settings, err)
		}
	}
	if err := st.Settings.Validate(); err != nil {
		t.Fatalf("settings %s: %v", settings, err)
	}
	st.Settings = st.Settings.Filled(site.Defaults{Interval: time.Minute, Timeout: 2 * time.Second})
	return st
}

func newTestProber() *monitor.Prober {
	return monitor.NewProber(monitor.ProberOptions{Timeout: 2 * time.Second, UserAgent: "upmon/test"})
}

func TestSpecOfDefaults(t *testing.T) {
	t.Parallel()
	sp := monitor.SpecOf(siteWith(t, "https://example.com", ""))
	if sp.Method != "GET" || !sp.FollowRedirects || len(sp.Expected) != 1 || sp.Expected[0] != [2]int{200, 399} ||
		sp.Timeout != 2*time.Second || sp.Retries != 0 || sp.MaxLatency != 0 || sp.KeywordAbsent || sp.Reuse {
		t.Fatalf("SpecOf(defaults) = %+v", sp)
	}
	sp = monitor.SpecOf(siteWith(t, "https://example.com", `{"method":"POST","expected_status":["200-299","301"],
		"follow_redirects":false,"keyword":"ok","keyword_mode":"absent","timeout":"400ms","max_latency":"1s","retries":2,
		"reuse_connections":true}`))
	if sp.Method != "POST" || sp.FollowRedirects || len(sp.Expected) != 2 || sp.Expected[1] != [2]int{301, 301} ||
		!sp.KeywordAbsent || sp.Keyword != "ok" || sp.Timeout != 400*time.Millisecond || sp.MaxLatency != time.Second ||
		sp.Retries != 2 || sp.RetryDelay != 100*time.Millisecond || !sp.Reuse {
		t.Fatalf("SpecOf(settings) = %+v", sp)
	}
}

func TestProbeRequestSettingsReachTarget(t *testing.T) {
	t.Parallel()
	tg := newSettingsTarget(t)
	p := newTestProber()
	ctx := context.Background()

	// Defaults: GET, no body, upmon's User-Agent.
	r := p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/echo", "")))
	got := tg.last(t)
	if !r.Up || got.method != "GET" || got.body != "" || got.header.Get("User-Agent") != "upmon/test" {
		t.Fatalf("default request: result %+v, target saw %+v", r, got)
	}

	// POST with headers and a body.
	r = p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/echo",
		`{"method":"POST","headers":{"X-Api-Key":"s3cret","Content-Type":"application/json","User-Agent":"custom/1"},"body":"{\"ping\":1}"}`)))
	got = tg.last(t)
	if !r.Up || got.method != "POST" || got.body != `{"ping":1}` || got.header.Get("X-Api-Key") != "s3cret" ||
		got.header.Get("Content-Type") != "application/json" || got.header.Get("User-Agent") != "custom/1" {
		t.Fatalf("POST request: result %+v, target saw %+v", r, got)
	}

	// HEAD: no body sent (a body is only sent with POST).
	r = p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/echo", `{"method":"HEAD","body":"ignored"}`)))
	got = tg.last(t)
	if !r.Up || got.method != "HEAD" || got.body != "" {
		t.Fatalf("HEAD request: result %+v, target saw %+v", r, got)
	}

	// A Host header replaces the request's host.
	r = p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/echo", `{"headers":{"Host":"virtual.example"}}`)))
	if got = tg.last(t); !r.Up || got.host != "virtual.example" {
		t.Fatalf("Host header: result %+v, target saw host %q", r, got.host)
	}
}

func TestProbeExpectedStatusAndRedirects(t *testing.T) {
	t.Parallel()
	tg := newSettingsTarget(t)
	p := newTestProber()
	tests := []struct {
		name, path, settings string
		up                   bool
		status               int
		reason               string
	}{
		{"default 200-399: 404 down", "/status/404", ``, false, 404, "HTTP 404"},
		{"default 200-399: 503 down", "/status/503", ``, false, 503, "HTTP 503"},
		{"503 expected", "/status/503", `{"expected_status":["500-599"]}`, true, 503, ""},
		{"list with a single code", "/status/301", `{"expected_status":["200-299","301"],"follow_redirects":false}`, true, 301, ""},
		{"single code not listed", "/status/404", `{"expected_status":["200-299","301"]}`, false, 404, "HTTP 404"},
		{"followed 302 lands on 200", "/status/302", ``, true, 200, ""},
		{"followed 302 lands on 404", "/redirect-to-404", ``, false, 404, "HTTP 404"},
		{"not followed: 302 within 200-399 is up", "/status/302", `{"follow_redirects":false}`, true, 302, ""},
		{"not followed: 302 with expected 200 is down", "/status/302", `{"follow_redirects":false,"expected_status":["200"]}`, false, 302, "HTTP 302"},
		{"not followed: redirect to 404 is up (302)", "/redirect-to-404", `{"follow_redirects":false}`, true, 302, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := p.Check(context.Background(), monitor.SpecOf(siteWith(t, tg.url+tc.path, tc.settings)))
			if r.Up != tc.up || r.StatusCode != tc.status || !strings.Contains(r.Err, tc.reason) || (tc.up && r.Err != "") {
				t.Fatalf("result %+v, want up=%v status=%d reason~%q", r, tc.up, tc.status, tc.reason)
			}
		})
	}
}

func TestProbeKeywordAndJSONPath(t *testing.T) {
	t.Parallel()
	tg := newSettingsTarget(t)
	p := newTestProber()
	tests := []struct {
		name, path, settings string
		up                   bool
		reason               string
	}{
		{"keyword contains, found", "/text", `{"keyword":"everything is fine"}`, true, ""},
		{"keyword contains (explicit), missing", "/text", `{"keyword":"Error","keyword_mode":"contains"}`, false, `keyword "Error" not found`},
		{"keyword absent, missing", "/text", `{"keyword":"Error","keyword_mode":"absent"}`, true, ""},
		{"keyword absent, found", "/text", `{"keyword":"Welcome","keyword_mode":"absent"}`, false, `keyword "Welcome" found`},
		{"keyword is case-sensitive", "/text", `{"keyword":"welcome"}`, false, "not found"},
		{"keyword on a down status stays down", "/status/503", `{"keyword":"x","keyword_mode":"absent"}`, false, "HTTP 503"},
		{"json == string", "/json", `{"json_path":[{"path":"$.status","op":"==","value":"UP"}]}`, true, ""},
		{"json == string fails", "/json", `{"json_path":[{"path":"$.status","op":"==","value":"DOWN"}]}`, false, `json_path $.status: got "UP", want == "DOWN"`},
		{"json all must hold", "/json", `{"json_path":[{"path":"$.status","op":"==","value":"UP"},{"path":"$.n","op":">","value":9}]}`, false, "json_path $.n"},
		{"json nested index", "/json", `{"json_path":[{"path":"$.checks[1].ms","op":"<","value":5},{"path":"$.checks[0].name","op":"==","value":"db"}]}`, true, ""},
		{"json exists", "/json", `{"json_path":[{"path":"$.none","op":"exists"}]}`, true, ""},
		{"json exists fails", "/json", `{"json_path":[{"path":"$.missing","op":"exists"}]}`, false, "json_path $.missing: not found"},
		{"json on a non-JSON body", "/text", `{"json_path":[{"path":"$.a","op":"exists"}]}`, false, "the body is not JSON"},
		{"keyword and json together", "/json", `{"keyword":"systems go","json_path":[{"path":"$.tags","op":"contains","value":"b"}]}`, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := p.Check(context.Background(), monitor.SpecOf(siteWith(t, tg.url+tc.path, tc.settings)))
			if r.Up != tc.up || !strings.Contains(r.Err, tc.reason) || (tc.up && r.Err != "") {
				t.Fatalf("result %+v, want up=%v reason~%q", r, tc.up, tc.reason)
			}
		})
	}
}

func TestEvalAssertion(t *testing.T) {
	t.Parallel()
	body := []byte(`{"status":"UP","version":"1.10","n":5,"f":2.5,"ok":true,"none":null,"s":"12",
		"checks":[{"name":"db","ms":12},{"name":"cache","ms":3}],"tags":["a","b"],"nums":[1,2,3],
		"msg":"all systems go","odd key":{"x.y":7}}`)
	tests := []struct {
		path, op, value string
		ok              bool
	}{
		{"$.status", "==", `"UP"`, true},
		{"$.status", "==", `"up"`, false},
		{"$.status", "!=", `"DOWN"`, true},
		{"$.status", "!=", `"UP"`, false},
		{"$.n", "==", `5`, true},
		{"$.n", "==", `5.0`, true},
		{"$.n", "==", `"5"`, true}, // a number in a string compares numerically
		{"$.s", "==", `12`, true},
		{"$.n", "<", `6`, true},
		{"$.n", "<", `5`, false},
		{"$.n", "<=", `5`, true},
		{"$.n", ">", `4.9`, true},
		{"$.n", ">", `5`, false},
		{"$.n", ">=", `5`, true},
		{"$.f", ">=", `2.6`, false},
		{"$.version", ">", `"1.9"`, false}, // numbers in strings compare numerically: 1.10 < 1.9
		{"$.ok", "==", `true`, true},
		{"$.ok", "==", `false`, false},
		{"$.none", "==", `null`, true},
		{"$.none", "exists", ``, true},
		{"$.nope", "exists", ``, false},
		{"$.nope", "==", `1`, false},
		{"$.msg", "contains", `"systems"`, true},
		{"$.msg", "contains", `"outage"`, false},
		{"$.tags", "contains", `"b"`, true},
		{"$.tags", "contains", `"c"`, false},
		{"$.nums", "contains", `2`, true},
		{"$.checks[0].name", "==", `"db"`, true},
		{"$.checks[1].ms", "<", `5`, true},
		{"$.checks[2].ms", "exists", ``, false},
		{"$.checks.name", "exists", ``, false}, // a key step on an array
		{`$["odd key"]["x.y"]`, "==", `7`, true},
		{`$['odd key']`, "exists", ``, true},
		{"$", "exists", ``, true},
	}
	for _, tc := range tests {
		a := site.Assertion{Path: tc.path, Op: tc.op}
		if tc.value != "" {
			a.Value = json.RawMessage(tc.value)
		}
		err := monitor.EvalAssertion(body, a)
		if (err == nil) != tc.ok {
			t.Errorf("EvalAssertion(%s %s %s) = %v, want ok=%v", tc.path, tc.op, tc.value, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "json_path "+tc.path) {
			t.Errorf("error %q does not name the path %s", err, tc.path)
		}
	}
	if err := monitor.EvalAssertion([]byte("not json"), site.Assertion{Path: "$.a", Op: "exists"}); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("non-JSON body: %v", err)
	}
	if err := monitor.EvalAssertion(body, site.Assertion{Path: "status", Op: "exists"}); err == nil {
		t.Error("a path without $ was accepted")
	}
}

func TestProbeMaxLatencyMarksSlow(t *testing.T) {
	t.Parallel()
	tg := newSettingsTarget(t)
	p := newTestProber()
	r := p.Check(context.Background(), monitor.SpecOf(siteWith(t, tg.url+"/slow", `{"max_latency":"50ms"}`)))
	if !r.Up || !r.Slow || !strings.HasPrefix(r.Err, "slow: ") || !strings.Contains(r.Err, "> max 50ms") || r.Latency < 150*time.Millisecond {
		t.Fatalf("slow answer: %+v", r)
	}
	r = p.Check(context.Background(), monitor.SpecOf(siteWith(t, tg.url+"/slow", `{"max_latency":"2s"}`)))
	if !r.Up || r.Slow || r.Err != "" {
		t.Fatalf("answer within max_latency: %+v", r)
	}
	r = p.Check(context.Background(), monitor.SpecOf(siteWith(t, tg.url+"/status/503", `{"max_latency":"1ms"}`)))
	if r.Up || r.Slow {
		t.Fatalf("a failure is down, never slow: %+v", r)
	}
	// The latency has its parts.
	r = p.Check(context.Background(), monitor.SpecOf(siteWith(t, tg.url+"/slow", "")))
	if r.FirstByte < 150*time.Millisecond || r.FirstByte > r.Latency || r.Connect <= 0 || r.TLS != 0 || r.TLSDaysLeft != nil {
		t.Fatalf("latency parts: %+v", r)
	}
}

func TestProbeRetriesAndTimeout(t *testing.T) {
	t.Parallel()
	tg := newSettingsTarget(t)
	p := newTestProber()
	ctx := context.Background()

	r := p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/flaky?k=once", `{"retries":1,"timeout":"1s"}`)))
	if !r.Up || r.Attempts != 2 || r.StatusCode != 200 {
		t.Fatalf("fails once, one retry: %+v", r)
	}
	r = p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/flaky?k=noretry", ``)))
	if r.Up || r.Attempts != 1 || r.StatusCode != 503 {
		t.Fatalf("fails once, no retries: %+v", r)
	}
	start := time.Now()
	r = p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/flaky?k=always&n=always", `{"retries":2,"timeout":"200ms"}`)))
	if r.Up || r.Attempts != 3 || r.Err != "HTTP 503" {
		t.Fatalf("always failing, two retries: %+v", r)
	}
	if el := time.Since(start); el < 200*time.Millisecond { // two delays of 100ms
		t.Fatalf("retries came without their delay: %v", el)
	}

	start = time.Now()
	r = p.Check(ctx, monitor.SpecOf(siteWith(t, tg.url+"/hang", `{"timeout":"150ms"}`)))
	if el := time.Since(start); r.Up || r.Err != "timeout" || el > 2*time.Second {
		t.Fatalf("hanging target with timeout 150ms: %+v after %v", r, el)
	}
}
