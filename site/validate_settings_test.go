package site_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// addJSON decodes body as the API does and adds the site.
func addJSON(svc *site.Service, body string) (*site.Site, error) {
	var p site.AddParams
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return nil, err
	}
	return svc.Add(context.Background(), &p)
}

// fieldOf returns the field an invalid_argument error names in its
// details, or why err is not such an error.
func fieldOf(err error) string {
	var e *api.Error
	if !asAPIError(err, &e) {
		return fmt.Sprintf("not an API error: %v", err)
	}
	if e.Code != api.InvalidArgument {
		return fmt.Sprintf("code %s: %s", e.Code, e.Message)
	}
	d, ok := e.Details.(map[string]string)
	if !ok {
		return fmt.Sprintf("details %#v", e.Details)
	}
	if !strings.HasPrefix(e.Message, d["field"]+": ") {
		return fmt.Sprintf("message %q does not start with the field %q", e.Message, d["field"])
	}
	return d["field"]
}

func asAPIError(err error, target **api.Error) bool {
	if err == nil {
		return false
	}
	*target = api.AsError(err)
	return (*target).Code != api.Internal
}

func TestAddValidationNamesTheField(t *testing.T) {
	t.Parallel()
	svc := MustOpen(t)
	const u = `"url":"https://example.com"`
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	tests := []struct {
		body, field string
	}{
		// url and kind
		{`{"url":""}`, "url"},
		{`{}`, "url"},
		{`{"url":"ftp://example.com"}`, "url"},
		{`{"url":"https://exa mple.com"}`, "url"},
		{`{"url":"tcp://example.com"}`, "url"},
		{`{"url":"tcp://example.com:70000"}`, "url"},
		{`{"url":"tcp://example.com:80/path"}`, "url"},
		{`{"url":"dns:exa$mple.com"}`, "url"},
		{`{"url":"dns:example.com?type=SRV"}`, "url"},
		{`{"url":"dns:example.com?server=nope"}`, "url"},
		{`{"url":"dns:example.com?color=red"}`, "url"},
		{`{"url":"push:nightly"}`, "url"},
		{`{"url":1}`, "url"},
		{`{"kind":"tcp",` + u + `}`, "kind"},
		{`{"kind":"ftp",` + u + `}`, "kind"},
		{`{"kind":"push"}`, "name"},
		{`{"kind":"push","name":"nightly",` + u + `}`, "url"},
		{`{"name":"` + strings.Repeat("n", 201) + `",` + u + `}`, "name"},
		{`{"name":"bell\u0007",` + u + `}`, "name"},
		// each setting
		{`{` + u + `,"interval":"500ms"}`, "interval"},
		{`{` + u + `,"interval":"25h"}`, "interval"},
		{`{` + u + `,"interval":"soon"}`, "interval"},
		{`{` + u + `,"interval":30}`, "interval"},
		{`{` + u + `,"timeout":"5ms"}`, "timeout"},
		{`{` + u + `,"timeout":"6m"}`, "timeout"},
		{`{` + u + `,"method":"PUT"}`, "method"},
		{`{` + u + `,"method":"get"}`, "method"},
		{`{` + u + `,"method":1}`, "method"},
		{`{` + u + `,"headers":{"Bad Header":"x"}}`, "headers"},
		{`{` + u + `,"headers":{"X-Ok":"line\nbreak"}}`, "headers.X-Ok"},
		{`{` + u + `,"headers":{` + many(51, func(i int) string { return fmt.Sprintf(`"X-%d":"v"`, i) }) + `}}`, "headers"},
		{`{` + u + `,"headers":{"X-Big":"` + strings.Repeat("v", 17<<10) + `"}}`, "headers"},
		{`{` + u + `,"headers":"X-A: b"}`, "headers"},
		{`{` + u + `,"headers":{"X-A":1}}`, "headers"},
		{`{` + u + `,"body":"` + strings.Repeat("b", 65<<10) + `"}`, "body"},
		{`{` + u + `,"expected_status":["abc"]}`, "expected_status[0]"},
		{`{` + u + `,"expected_status":["200","99"]}`, "expected_status[1]"},
		{`{` + u + `,"expected_status":["200-299","600"]}`, "expected_status[1]"},
		{`{` + u + `,"expected_status":["300-200"]}`, "expected_status[0]"},
		{`{` + u + `,"expected_status":["200-"]}`, "expected_status[0]"},
		{`{` + u + `,"expected_status":[` + many(21, func(i int) string { return `"200"` }) + `]}`, "expected_status"},
		{`{` + u + `,"expected_status":"200"}`, "expected_status"},
		{`{` + u + `,"expected_status":[200]}`, "expected_status"},
		{`{` + u + `,"follow_redirects":"no"}`, "follow_redirects"},
		{`{` + u + `,"keyword":"` + strings.Repeat("k", 1025) + `"}`, "keyword"},
		{`{` + u + `,"keyword_mode":"never"}`, "keyword_mode"},
		{`{` + u + `,"json_path":[{"path":"$.a","op":"=="}]}`, "json_path[0].value"},
		{`{` + u + `,"json_path":[{"path":"$.a","op":"exists"},{"path":"$.b","op":"~="}]}`, "json_path[1].op"},
		{`{` + u + `,"json_path":[{"path":"a.b","op":"exists"}]}`, "json_path[0].path"},
		{`{` + u + `,"json_path":[{"path":"$.a[x]","op":"exists"}]}`, "json_path[0].path"},
		{`{` + u + `,"json_path":[{"path":"$.a..b","op":"exists"}]}`, "json_path[0].path"},
		{`{` + u + `,"json_path":[{"path":"$.a","op":"==","value":{"x":1}}]}`, "json_path[0].value"},
		{`{` + u + `,"json_path":[{"path":"$.a","op":"contains","value":[1]}]}`, "json_path[0].value"},
		{`{` + u + `,"json_path":[` + many(21, func(i int) string { return `{"path":"$","op":"exists"}` }) + `]}`, "json_path"},
		{`{` + u + `,"json_path":{"path":"$"}}`, "json_path"},
		{`{` + u + `,"max_latency":"-1s"}`, "max_latency"},
		{`{` + u + `,"max_latency":"6m"}`, "max_latency"},
		{`{` + u + `,"failure_threshold":-1}`, "failure_threshold"},
		{`{` + u + `,"failure_threshold":101}`, "failure_threshold"},
		{`{` + u + `,"failure_threshold":1.5}`, "failure_threshold"},
		{`{` + u + `,"success_threshold":-1}`, "success_threshold"},
		{`{` + u + `,"success_threshold":101}`, "success_threshold"},
		{`{` + u + `,"retries":11}`, "retries"},
		{`{` + u + `,"retries":-1}`, "retries"},
		{`{` + u + `,"paused":"yes"}`, "paused"},
		{`{` + u + `,"tags":["bad tag"]}`, "tags[0]"},
		{`{` + u + `,"tags":["ok","-dash"]}`, "tags[1]"},
		{`{` + u + `,"tags":["` + strings.Repeat("t", 51) + `"]}`, "tags[0]"},
		{`{` + u + `,"tags":[` + many(21, func(i int) string { return fmt.Sprintf(`"t%d"`, i) }) + `]}`, "tags"},
		{`{` + u + `,"tags":"a,b"}`, "tags"},
		{`{` + u + `,"grace":"-1s"}`, "grace"},
		{`{` + u + `,"grace":"25h"}`, "grace"},
		{`{` + u + `,"reuse_connections":1}`, "reuse_connections"},
		{`{` + u + `,"colour":"blue"}`, "colour"},
		{`{` + u + `,"id":7}`, "id"},
	}
	for _, tc := range tests {
		_, err := addJSON(svc, tc.body)
		if got := fieldOf(err); got != tc.field {
			short := tc.body
			if len(short) > 120 {
				short = short[:120] + "…"
			}
			t.Errorf("%s: %v → field %q, want %q", short, err, got, tc.field)
		}
	}
	list, err := svc.List(context.Background(), &site.ListParams{})
	if err != nil || len(list.Sites) != 0 {
		t.Fatalf("an invalid site was stored: %+v, %v", list, err)
	}
}

func TestAddAcceptsEverySettingAndFillsDefaults(t *testing.T) {
	t.Parallel()
	svc := MustOpen(t)
	// Defaults as returned: timeout the global ping timeout, interval the
	// global check interval, everything else fixed.
	st, err := addJSON(svc, `{"url":"https://example.com/health"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := mustJSON(t, st)
	want := `{"id":1,"url":"https://example.com/health","name":"","kind":"http","interval":"5m","timeout":"10s","method":"GET",` +
		`"headers":{},"body":"","expected_status":["200-399"],"follow_redirects":true,"keyword":"","keyword_mode":"contains",` +
		`"json_path":[],"max_latency":"0s","failure_threshold":1,"success_threshold":1,"retries":0,"paused":false,"tags":[],` +
		`"grace":"0s","reuse_connections":false,"ws_send":"","channels":[]}`
	if got != want {
		t.Fatalf("defaults filled in:\n got %s\nwant %s", got, want)
	}
	again, err := svc.Get(context.Background(), &site.GetParams{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if b := mustJSON(t, again); b != want {
		t.Fatalf("GET after add:\n got %s\nwant %s", b, want)
	}

	full := `{"url":"http://127.0.0.1:8080/status","name":"  API  ","interval":"30s","timeout":"5s","method":"POST",` +
		`"headers":{"Authorization":"Bearer x","X-Env":"prod"},"body":"{\"ping\":true}","expected_status":["200-299","301"],` +
		`"follow_redirects":false,"keyword":"ok","keyword_mode":"absent","json_path":[{"path":"$.status","op":"==","value":"UP"},` +
		`{"path":"$.checks[0].ms","op":"<","value":250},{"path":"$.db","op":"exists"}],"max_latency":"1.5s","failure_threshold":3,` +
		`"success_threshold":2,"retries":2,"paused":true,"tags":["prod","eu-west.1"],"grace":"0s","reuse_connections":true,"channels":[3,4]}`
	st, err = addJSON(svc, full)
	if err != nil {
		t.Fatal(err)
	}
	got = mustJSON(t, st)
	want = `{"id":2,"url":"http://127.0.0.1:8080/status","name":"API","kind":"http","interval":"30s","timeout":"5s","method":"POST",` +
		`"headers":{"Authorization":"Bearer x","X-Env":"prod"},"body":"{\"ping\":true}","expected_status":["200-299","301"],` +
		`"follow_redirects":false,"keyword":"ok","keyword_mode":"absent","json_path":[{"path":"$.status","op":"==","value":"UP"},` +
		`{"path":"$.checks[0].ms","op":"<","value":250},{"path":"$.db","op":"exists"}],"max_latency":"1.5s","failure_threshold":3,` +
		`"success_threshold":2,"retries":2,"paused":true,"tags":["prod","eu-west.1"],"grace":"0s","reuse_connections":true,"ws_send":"","channels":[3,4]}`
	if got != want {
		t.Fatalf("every setting:\n got %s\nwant %s", got, want)
	}

	// Kinds by URL.
	for body, kind := range map[string]string{
		`{"url":"example.org"}`:                                               "http",
		`{"url":"tcp://db.internal:5432"}`:                                    "tcp",
		`{"url":"dns:example.org?type=A&expect=1.2.3.4&server=127.0.0.1:53"}`: "dns",
		`{"url":"dns:example.org","kind":"dns"}`:                              "dns",
	} {
		st, err := addJSON(svc, body)
		if err != nil || st.Kind != kind {
			t.Errorf("%s: kind %q, %v; want %s", body, st.Kind, err, kind)
		}
	}
}

func TestPushMonitorAnswerCarriesTokenAndURL(t *testing.T) {
	t.Parallel()
	svc := openSitesWith(t, site.Options{PublicURL: "https://upmon.example/"})
	st, err := addJSON(svc, `{"kind":"push","name":"nightly-backup","interval":"24h","grace":"1h"}`)
	if err != nil {
		t.Fatal(err)
	}
	if st.URL != "push:nightly-backup" || st.Kind != "push" || len(st.PushToken) != 32 ||
		st.PushURL != "https://upmon.example/push/"+st.PushToken || st.Interval.D() != 24*time.Hour || st.Grace.D() != time.Hour {
		t.Fatalf("push monitor = %+v", st)
	}
	byToken, err := svc.GetByPushToken(context.Background(), st.PushToken)
	if err != nil || byToken.ID != st.ID {
		t.Fatalf("GetByPushToken = %+v, %v", byToken, err)
	}
	for _, bad := range []string{"", "nope", strings.Repeat("a", 200)} {
		if _, err := svc.GetByPushToken(context.Background(), bad); !api.IsCode(err, api.NotFound) {
			t.Errorf("GetByPushToken(%q) = %v, want not_found", bad, err)
		}
	}
	// Another push monitor gets another token; the same name is the same
	// URL, a duplicate.
	other, err := addJSON(svc, `{"kind":"push","name":"hourly"}`)
	if err != nil || other.PushToken == st.PushToken {
		t.Fatalf("second push monitor = %+v, %v", other, err)
	}
	if _, err := addJSON(svc, `{"kind":"push","name":"hourly"}`); !api.IsCode(err, api.AlreadyExists) {
		t.Fatalf("duplicate push name: %v", err)
	}
	// Only push monitors carry a token.
	h, err := addJSON(svc, `{"url":"https://example.com"}`)
	if err != nil || h.PushToken != "" || h.PushURL != "" {
		t.Fatalf("http site = %+v, %v", h, err)
	}
	if b, _ := json.Marshal(h); strings.Contains(string(b), "push_") {
		t.Fatalf("http site JSON carries push fields: %s", b)
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	valid := map[string]string{
		"$":                  "[]",
		"$.status":           "[status]",
		"$.a.b[0]":           "[a b #0]",
		"$.checks[12].name":  "[checks #12 name]",
		`$["odd key"].x`:     "[odd key x]",
		`$['x.y'][3]`:        "[x.y #3]",
		"$[0][1]":            "[#0 #1]",
		"$.with-dash_and.$x": "[with-dash_and $x]",
	}
	for p, want := range valid {
		steps, err := site.ParsePath(p)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", p, err)
			continue
		}
		var parts []string
		for _, s := range steps {
			if s.Index >= 0 {
				parts = append(parts, fmt.Sprintf("#%d", s.Index))
			} else {
				parts = append(parts, s.Key)
			}
		}
		if got := "[" + strings.Join(parts, " ") + "]"; got != want {
			t.Errorf("ParsePath(%q) = %s, want %s", p, got, want)
		}
	}
	for _, p := range []string{"", "status", ".a", "$.", "$..a", "$.a.", "$[", "$[x]", "$[-1]", "$[1", "$a", "$.a[0", strings.Repeat("$.a", 100),
		"$" + strings.Repeat(".a", 33)} {
		if _, err := site.ParsePath(p); err == nil {
			t.Errorf("ParsePath(%q) accepted", p)
		}
	}
}

func TestParseStatusRange(t *testing.T) {
	t.Parallel()
	for s, want := range map[string][2]int{"200": {200, 200}, "200-299": {200, 299}, "100-599": {100, 599}, "301": {301, 301}} {
		lo, hi, ok := site.ParseStatusRange(s)
		if !ok || lo != want[0] || hi != want[1] {
			t.Errorf("ParseStatusRange(%q) = %d, %d, %v", s, lo, hi, ok)
		}
	}
	for _, s := range []string{"", "99", "600", "2xx", "200-", "-200", "299-200", "200 - 299", "0200"} {
		if _, _, ok := site.ParseStatusRange(s); ok {
			t.Errorf("ParseStatusRange(%q) accepted", s)
		}
	}
}
