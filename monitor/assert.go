package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"upmon/site"
)

// EvalAssertion evaluates one json_path assertion against a JSON body and
// returns why it failed, or nil.
func EvalAssertion(body []byte, a site.Assertion) error {
	steps, err := site.ParsePath(a.Path)
	if err != nil {
		return fmt.Errorf("json_path %s: %v", a.Path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("json_path %s: the body is not JSON", a.Path)
	}
	v, ok := walk(doc, steps)
	if a.Op == "exists" {
		if !ok {
			return fmt.Errorf("json_path %s: not found", a.Path)
		}
		return nil
	}
	if !ok {
		return fmt.Errorf("json_path %s: not found", a.Path)
	}
	var want any
	wdec := json.NewDecoder(bytes.NewReader(a.Value))
	wdec.UseNumber()
	if err := wdec.Decode(&want); err != nil {
		return fmt.Errorf("json_path %s: invalid expected value", a.Path)
	}
	if compare(v, a.Op, want) {
		return nil
	}
	return fmt.Errorf("json_path %s: got %s, want %s %s", a.Path, render(v), a.Op, render(want))
}

func walk(doc any, steps []site.PathStep) (any, bool) {
	cur := doc
	for _, s := range steps {
		if s.Index >= 0 {
			arr, ok := cur.([]any)
			if !ok || s.Index >= len(arr) {
				return nil, false
			}
			cur = arr[s.Index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = obj[s.Key]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// compare applies op to got and want. Numbers compare numerically
// (including a number in a string on either side), everything else as
// its text.
func compare(got any, op string, want any) bool {
	if op == "contains" {
		switch g := got.(type) {
		case []any:
			for _, e := range g {
				if compare(e, "==", want) {
					return true
				}
			}
			return false
		default:
			return strings.Contains(text(got), text(want))
		}
	}
	gn, gok := number(got)
	wn, wok := number(want)
	if gok && wok {
		switch op {
		case "==":
			return gn == wn
		case "!=":
			return gn != wn
		case "<":
			return gn < wn
		case "<=":
			return gn <= wn
		case ">":
			return gn > wn
		case ">=":
			return gn >= wn
		}
		return false
	}
	g, w := text(got), text(want)
	switch op {
	case "==":
		return g == w
	case "!=":
		return g != w
	case "<":
		return g < w
	case "<=":
		return g <= w
	case ">":
		return g > w
	case ">=":
		return g >= w
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		var n json.Number = json.Number(strings.TrimSpace(x))
		f, err := n.Float64()
		return f, err == nil && x != ""
	}
	return 0, false
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return shorten(string(b))
}
