package monitor

import (
	"encoding/json"
	"testing"

	"upmon/site"
)

func FuzzAssertion(f *testing.F) {
	f.Add(`{"status":"UP","n":[1,2,{"x":3}]}`, "$.status", "==", `"UP"`)
	f.Add(`{"a":{"b":[10]}}`, "$.a.b[0]", ">=", `5`)
	f.Add(`[1,2]`, "$[1]", "contains", `2`)
	f.Add(`{"k":"v"}`, `$["k"]`, "exists", ``)
	f.Add(`not json`, "$.x", "!=", `null`)
	f.Fuzz(func(t *testing.T, body, path, op, value string) {
		a := site.Assertion{Path: path, Op: op}
		if value != "" {
			a.Value = json.RawMessage(value)
		}
		if a.Validate() != nil {
			return // the API refuses it before it is ever evaluated
		}
		// Must not panic, and a failure must say which path failed.
		if err := EvalAssertion([]byte(body), a); err != nil && len(err.Error()) == 0 {
			t.Fatal("empty failure reason")
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, p := range []string{"$", "$.a.b[0]", `$["x y"]`, "$..a", "$[", "$.a[-1]", "a.b"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		steps, err := site.ParsePath(p)
		if err != nil {
			return
		}
		for _, s := range steps {
			if s.Index < -1 {
				t.Fatalf("ParsePath(%q) produced a bad step %+v", p, s)
			}
		}
	})
}
