// Package clientgen writes typed API clients (Go and TypeScript) from the
// OpenAPI document the platform generates (platform/catalog): every
// operation with a client name (x-upmon-name, i.e. every JSON endpoint)
// becomes a method of its service's group, and every schema component it
// reaches becomes a type. Nothing is listed by hand, so regenerating picks
// up new endpoints.
package clientgen

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// model is the part of an OpenAPI document a client needs.
type model struct {
	services []*service
	types    []*typeDef
	byName   map[string]*typeDef
}

// service is one service's group of methods.
type service struct {
	name    string
	methods []*method
}

// method is one operation.
type method struct {
	name       string // client method name (x-upmon-name)
	httpMethod string // GET, POST, …
	path       string // the OpenAPI path
	opID       string
	access     string
	pathParams []param
	query      []param
	body       string // component name of the JSON request body, if any
	response   string // component name of the JSON answer; "" for none
}

// param is a path or query parameter.
type param struct {
	name   string
	schema map[string]any
	rest   bool // a "{name...}" path parameter: slashes are kept
}

// typeDef is one schema component.
type typeDef struct {
	component string // "site.Site"
	pkg, name string // "site", "Site"
	schema    map[string]any
	request   bool // sent as a request body
	patch     bool // sent as a PATCH body: absent fields keep their value
}

// parse reads an OpenAPI document (as JSON).
func parse(doc []byte) (*model, error) {
	var d struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("clientgen: %w", err)
	}
	m := &model{byName: map[string]*typeDef{}}
	svcs := map[string]*service{}
	seen := map[string]string{} // service.method → signature
	for _, p := range slices.Sorted(maps.Keys(d.Paths)) {
		for _, hm := range slices.Sorted(maps.Keys(d.Paths[p])) {
			op := d.Paths[p][hm]
			name, _ := op["x-upmon-name"].(string)
			tags, _ := op["tags"].([]any)
			if name == "" || len(tags) == 0 {
				continue
			}
			svcName, _ := tags[0].(string)
			mt := newMethod(name, strings.ToUpper(hm), p, op)
			if sig, dup := seen[svcName+"."+name]; dup {
				if sig == mt.signature() {
					continue // an alias route of the same method (POST /checkall)
				}
				// Another endpoint whose handler has the same Go name:
				// named after its operation id instead.
				mt.name = opIDName(mt.opID)
			}
			seen[svcName+"."+mt.name] = mt.signature()
			s := svcs[svcName]
			if s == nil {
				s = &service{name: svcName}
				svcs[svcName] = s
			}
			s.methods = append(s.methods, mt)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(svcs)) {
		s := svcs[n]
		slices.SortFunc(s.methods, func(a, b *method) int { return strings.Compare(a.name, b.name) })
		m.services = append(m.services, s)
	}
	if err := m.collectTypes(d.Components.Schemas); err != nil {
		return nil, err
	}
	return m, nil
}

// signature tells alias routes of one method (same parameters, body
// and answer) from distinct endpoints.
func (mt *method) signature() string {
	sig := mt.body + "|" + mt.response
	for _, p := range append(slices.Clone(mt.pathParams), mt.query...) {
		sig += "|" + p.name
	}
	return sig
}

// opIDName camel-cases an operation id without its service
// ("svc_get_a_b" → GetAB).
func opIDName(id string) string {
	var b strings.Builder
	for i, part := range strings.Split(id, "_") {
		if i > 0 && part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func newMethod(name, hm, p string, op map[string]any) *method {
	mt := &method{name: name, httpMethod: hm, path: p}
	mt.opID, _ = op["operationId"].(string)
	mt.access, _ = op["x-upmon-access"].(string)
	pattern, _ := op["x-upmon-mux-pattern"].(string)
	params, _ := op["parameters"].([]any)
	for _, x := range params {
		pm, _ := x.(map[string]any)
		n, _ := pm["name"].(string)
		sc, _ := pm["schema"].(map[string]any)
		pr := param{name: n, schema: sc, rest: strings.Contains(pattern, "{"+n+"...}")}
		if pm["in"] == "path" {
			mt.pathParams = append(mt.pathParams, pr)
		} else if pm["in"] == "query" {
			mt.query = append(mt.query, pr)
		}
	}
	mt.body = refName(dig(op, "requestBody", "content", "application/json", "schema"))
	mt.response = refName(dig(op, "responses", "200", "content", "application/json", "schema"))
	return mt
}

// dig follows keys through nested objects.
func dig(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// refName is the component a "$ref" schema names ("" otherwise).
func refName(sc map[string]any) string {
	ref, _ := sc["$ref"].(string)
	return strings.TrimPrefix(ref, "#/components/schemas/")
}

// collectTypes keeps the components the methods reach, marking those sent
// as request bodies.
func (m *model) collectTypes(schemas map[string]map[string]any) error {
	var visit func(name string, request, patch bool) error
	visit = func(name string, request, patch bool) error {
		if name == "" || name == "api.Error" {
			return nil
		}
		td := m.byName[name]
		if td != nil && (td.request || !request) && (td.patch || !patch) {
			return nil
		}
		if td == nil {
			sc, ok := schemas[name]
			if !ok {
				return fmt.Errorf("clientgen: no schema component %q", name)
			}
			pkg, n, _ := strings.Cut(name, ".")
			if n == "" {
				pkg, n = "", pkg
			}
			td = &typeDef{component: name, pkg: pkg, name: n, schema: sc}
			m.byName[name] = td
		}
		td.request = td.request || request
		td.patch = td.patch || patch
		for _, ref := range refsIn(td.schema) {
			if err := visit(ref, request, false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range m.services {
		for _, mt := range s.methods {
			if err := visit(mt.body, true, mt.httpMethod == "PATCH"); err != nil {
				return err
			}
			if err := visit(mt.response, false, false); err != nil {
				return err
			}
			for _, p := range append(slices.Clone(mt.pathParams), mt.query...) {
				for _, ref := range refsIn(p.schema) {
					if err := visit(ref, true, false); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(m.byName)) {
		m.types = append(m.types, m.byName[n])
	}
	return nil
}

// refsIn lists the components a schema refers to, in a stable order.
func refsIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if r := refName(x); r != "" {
			out = append(out, r)
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = append(out, refsIn(x[k])...)
		}
	case []any:
		for _, e := range x {
			out = append(out, refsIn(e)...)
		}
	}
	return out
}

// properties returns an object schema's property names, sorted, and which
// are required.
func properties(sc map[string]any) ([]string, map[string]bool) {
	props, _ := sc["properties"].(map[string]any)
	req := map[string]bool{}
	list, _ := sc["required"].([]any)
	for _, r := range list {
		if s, ok := r.(string); ok {
			req[s] = true
		}
	}
	return slices.Sorted(maps.Keys(props)), req
}

// unwrapNull returns a schema without its null alternative, and whether it
// had one.
func unwrapNull(sc map[string]any) (map[string]any, bool) {
	if alts, ok := sc["anyOf"].([]any); ok && len(alts) == 2 {
		if n, _ := alts[1].(map[string]any); n["type"] == "null" {
			inner, _ := alts[0].(map[string]any)
			return inner, true
		}
	}
	if ts, ok := sc["type"].([]any); ok && len(ts) == 2 && ts[1] == "null" {
		out := maps.Clone(sc)
		out["type"] = ts[0]
		return out, true
	}
	return sc, false
}
