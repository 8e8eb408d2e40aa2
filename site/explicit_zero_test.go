package site_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"upmon/site"
)

// zeroOf is the explicit zero value of every setting, as a client would
// send it. TestExplicitZeroIsRefusedOrKept fails when a setting is added
// without a row here.
var zeroOf = map[string]string{
	"interval": `"0s"`, "timeout": `"0s"`, "method": `""`, "headers": `{}`, "body": `""`,
	"expected_status": `[]`, "follow_redirects": `false`, "keyword": `""`, "keyword_mode": `""`,
	"json_path": `[]`, "max_latency": `"0s"`, "failure_threshold": `0`, "success_threshold": `0`,
	"retries": `0`, "paused": `false`, "tags": `[]`, "grace": `"0s"`, "reuse_connections": `false`,
	"ws_send":  `""`,
	"channels": `[]`,
}

// refusedZero are the settings whose zero lies outside their documented
// range (docs/monitoring.md).
var refusedZero = []string{"interval", "timeout", "method", "expected_status", "keyword_mode", "failure_threshold", "success_threshold"}

// TestExplicitZeroIsRefusedOrKept sends every setting's zero value on
// POST and PATCH: it is either refused naming the field (outside the
// documented range) or kept as sent; never silently replaced by a
// default. null remains the way back to the default.
func TestExplicitZeroIsRefusedOrKept(t *testing.T) {
	t.Parallel()
	svc := openSitesWith(t, site.Options{Defaults: site.Defaults{Interval: 5 * time.Minute, Timeout: 10 * time.Second}})
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(mustJSON(t, site.Settings{})), &keys); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if _, ok := zeroOf[k]; !ok {
			t.Errorf("setting %q has no zero value in zeroOf", k)
		}
	}
	// A site whose settings are all set to something other than zero.
	base, err := addJSON(svc, `{"url":"https://example.com","interval":"30s","timeout":"2s","method":"POST",`+
		`"headers":{"X-A":"1"},"body":"b","expected_status":["200"],"follow_redirects":true,"keyword":"k",`+
		`"keyword_mode":"absent","json_path":[{"path":"$","op":"exists"}],"max_latency":"1s","failure_threshold":3,`+
		`"success_threshold":2,"retries":1,"paused":true,"tags":["x"],"grace":"1m","reuse_connections":true,"ws_send":"w"}`)
	if err != nil {
		t.Fatal(err)
	}
	before := mustJSON(t, base)
	for i, k := range sortedKeys(zeroOf) {
		zero := zeroOf[k]
		body := `{"url":"https://example.com/` + k + `","` + k + `":` + zero + `}`
		added, addErr := addJSON(svc, body)
		patched, patchErr := patchJSON(svc, base.ID, `{"`+k+`":`+zero+`}`)
		if slices.Contains(refusedZero, k) {
			if f := fieldOf(addErr); f != k {
				t.Errorf("POST %s = %v; want 400 naming %q", body, addErr, k)
			}
			if f := fieldOf(patchErr); f != k {
				t.Errorf("PATCH {%q:%s} = %v; want 400 naming %q", k, zero, patchErr, k)
			}
			if st, _ := svc.Get(t.Context(), &site.GetParams{ID: base.ID}); mustJSON(t, st) != before {
				t.Errorf("a refused PATCH of %s changed the site: %s", k, mustJSON(t, st))
			}
			continue
		}
		if addErr != nil || patchErr != nil {
			t.Errorf("%s: zero %s refused: POST %v, PATCH %v; it is within the documented range", k, zero, addErr, patchErr)
			continue
		}
		for what, st := range map[string]*site.Site{"POST": added, "PATCH": patched} {
			var got map[string]json.RawMessage
			if err := json.Unmarshal([]byte(mustJSON(t, st)), &got); err != nil {
				t.Fatal(err)
			}
			if string(got[k]) != zero {
				t.Errorf("%s %s %s: answered %s, want it kept", what, k, zero, got[k])
			}
		}
		// Restore the base value for the next rounds.
		if _, err := patchJSON(svc, base.ID, `{"`+k+`":`+string(mustRaw(t, before, k))+`}`); err != nil {
			t.Fatalf("restore %s: %v", k, err)
		}
		_ = i
	}
	// null is the way back to the default.
	st, err := patchJSON(svc, base.ID, `{"interval":null,"failure_threshold":null,"expected_status":null,"method":null}`)
	if err != nil {
		t.Fatal(err)
	}
	if st.Interval.D() != 5*time.Minute || st.FailureThreshold != 1 || !slices.Equal(st.ExpectedStatus, []string{"200-399"}) || st.Method != "GET" {
		t.Errorf("null did not reset to the defaults: %s", mustJSON(t, st))
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mustRaw(t *testing.T, obj, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(obj), &m); err != nil {
		t.Fatal(err)
	}
	return m[key]
}
