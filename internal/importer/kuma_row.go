package importer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// row is one Uptime Kuma record (a database row or a backup object) with
// its keys normalized (lower case, no underscores) so that the
// database's snake_case and the backup's camelCase read alike.
type row struct {
	where string
	line  int
	vals  map[string]cell
	used  map[string]bool
}

// cell is one value of a row.
type cell struct {
	key  string // as in the source
	line int
	v    any // nil, string, int64, float64, bool, []byte, or nested JSON
}

func normKey(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

func newRow(where string, line int) *row {
	return &row{where: where, line: line, vals: map[string]cell{}, used: map[string]bool{}}
}

func (r *row) set(key string, line int, v any) {
	r.vals[normKey(key)] = cell{key: key, line: line, v: v}
}

// get returns the cell of key and marks it used.
func (r *row) get(key string) (cell, bool) {
	k := normKey(key)
	r.used[k] = true
	c, ok := r.vals[k]
	return c, ok && c.v != nil
}

// str is key's value as text ("" when absent).
func (r *row) str(key string) string {
	c, ok := r.get(key)
	if !ok {
		return ""
	}
	switch v := c.v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// num is key's value as a number (0 when absent or not a number).
func (r *row) num(key string) float64 {
	s := strings.TrimSpace(r.str(key))
	f, _ := strconv.ParseFloat(s, 64)
	if s == "true" {
		f = 1
	}
	return f
}

// flag is key's value as a boolean (SQLite keeps 0/1).
func (r *row) flag(key string) bool {
	switch strings.ToLower(strings.TrimSpace(r.str(key))) {
	case "1", "true":
		return true
	}
	return false
}

// lineOf is the line of key's value, else the row's.
func (r *row) lineOf(key string) int {
	if c, ok := r.vals[normKey(key)]; ok && c.line > 0 {
		return c.line
	}
	return r.line
}

// kumaDefaults are values a field has unless the user set it; a field
// left at its default is nothing lost.
var kumaDefaults = map[string][]string{
	"maxredirects": {"10"}, "method": {"GET"}, "packetsize": {"56"}, "httpbodyencoding": {"json"}, "dnsresolvetype": {"A"},
	"dnsresolveserver": {"1.1.1.1"}, "acceptedstatuscodes": {`["200-299"]`}, "acceptedstatuscodesjson": {`["200-299"]`},
	"conditions": {"[]"}, "mqttchecktype": {"keyword"}, "authmethod": {"null"}, "ipfamily": {"null"},
	"kafkaproducersasloptions": {`{"mechanism":"None"}`},
	"jsonpathoperator":         {"=="}, "ntfyauthenticationmethod": {"none"}, "discordchanneltype": {"channel"},
}

// isEmpty reports whether v says nothing (null, "", 0, false, [] or {}).
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case int64:
		return x == 0
	case float64:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case []byte:
		return isEmpty(string(x))
	case string:
		switch strings.TrimSpace(x) {
		case "", "0", "[]", "{}", "null", "false":
			return true
		}
	}
	return false
}

// leftovers records every field not read and not at its default as a
// loss; ignore lists keys that carry nothing to import (ids, timestamps,
// display order).
func (r *row) leftovers(p *Plan, why string, ignore ...string) {
	skip := map[string]bool{}
	for _, k := range ignore {
		skip[normKey(k)] = true
	}
	var keys []string
	for k := range r.vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := r.vals[k]
		if r.used[k] || skip[k] || isEmpty(c.v) {
			continue
		}
		text := fmt.Sprint(c.v)
		if b, ok := c.v.([]byte); ok {
			text = string(b)
		}
		switch c.v.(type) {
		case map[string]any, []any:
			b, _ := json.Marshal(c.v)
			text = string(b)
		}
		if def, ok := kumaDefaults[k]; ok && contains(def, text) {
			continue
		}
		p.lose(c.line, r.where+"."+c.key, "", why)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
