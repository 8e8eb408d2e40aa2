package web

import (
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"

	"upmon/account"
	"upmon/platform/api"
)

// OpenAPISource returns the server's OpenAPI document (GET /openapi.json).
type OpenAPISource func() map[string]any

// ExplorerOp is one operation of the API explorer (/frontend/api), as the
// page's script reads it.
type ExplorerOp struct {
	// ID is the operation id; Service, Name, Method and Path say what it is.
	ID      string `json:"id"`
	Service string `json:"service"`
	Name    string `json:"name"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	// Access is the least role the server lets call it (x-upmon-access,
	// from api.RequiredRole): none, push, viewer, editor or owner.
	Access string `json:"access"`
	// Params are the path and query parameters.
	Params []ExplorerField `json:"params"`
	// Body lists the JSON body's fields (none when there is no body).
	Body []ExplorerField `json:"body"`
	// HasBody says whether the operation takes a JSON body.
	HasBody bool `json:"has_body"`
	// Response names the answer's schema.
	Response string `json:"response,omitempty"`
}

// ExplorerField is one form field: where it goes and its JSON type
// (string, integer, number, boolean, or json for anything else).
type ExplorerField struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Type     string `json:"type"`
	Required bool   `json:"required,omitempty"`
	Hint     string `json:"hint,omitempty"`
	// Rest marks a path parameter that takes the rest of the path
	// ("/ping/{url...}"): its slashes are kept.
	Rest bool `json:"rest,omitempty"`
}

type explorerData struct {
	pageBase
	ExplorerJS string
	// Ops is the operations as JSON for the script (a data block).
	Ops template.JS
	// Groups lists the operations by service for the picker.
	Groups []explorerGroup
	// Role is the caller's role (viewer, editor or owner): the page does
	// not send an operation whose Access needs more.
	Role string
}

type explorerGroup struct {
	Service string
	Ops     []ExplorerOp
}

// registerExplorer adds /frontend/api when the handler has the OpenAPI
// document.
func (h *Handler) registerExplorer(srv *api.Server) {
	if h.opts.OpenAPI == nil {
		return
	}
	srv.Handle(api.Endpoint{Service: ServiceName, Method: http.MethodGet, Path: "/frontend/api"},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ops := ExplorerOps(h.opts.OpenAPI())
			raw, err := json.Marshal(ops) // escapes <, > and &
			if err != nil {
				h.fail(w, r, err)
				return
			}
			byService := map[string][]ExplorerOp{}
			for _, op := range ops {
				byService[op.Service] = append(byService[op.Service], op)
			}
			var groups []explorerGroup
			for _, s := range slices.Sorted(maps.Keys(byService)) {
				groups = append(groups, explorerGroup{Service: s, Ops: byService[s]})
			}
			h.render(w, r, http.StatusOK, "apiexplorer", explorerData{
				pageBase: h.base("API explorer", "api"), ExplorerJS: h.assetURL("api.js"),
				Ops: template.JS(raw), Groups: groups, Role: explorerRole(r),
			})
		}))
}

// explorerRole is the role the explorer sends requests with: the
// caller's, or owner without an accounts layer (as viewerOf shows every
// control then).
func explorerRole(r *http.Request) string {
	p, ok := account.PrincipalFromOK(r.Context())
	if !ok {
		return api.Owner.String()
	}
	return p.Role.String()
}

// ExplorerOps lists the JSON operations of an OpenAPI document (those with
// a client name, x-upmon-name), by service, path and method, with the
// fields of their forms.
func ExplorerOps(doc map[string]any) []ExplorerOp {
	paths, _ := doc["paths"].(map[string]any)
	schemas, _ := dig(doc, "components", "schemas").(map[string]any)
	var ops []ExplorerOp
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		for _, m := range slices.Sorted(maps.Keys(item)) {
			op, _ := item[m].(map[string]any)
			name, _ := op["x-upmon-name"].(string)
			if name == "" {
				continue
			}
			e := ExplorerOp{Name: name, Method: strings.ToUpper(m), Path: p, Params: []ExplorerField{}, Body: []ExplorerField{}}
			e.ID, _ = op["operationId"].(string)
			e.Access, _ = op["x-upmon-access"].(string)
			if tags, _ := op["tags"].([]any); len(tags) > 0 {
				e.Service, _ = tags[0].(string)
			}
			params, _ := op["parameters"].([]any)
			for _, x := range params {
				pm, _ := x.(map[string]any)
				f := ExplorerField{In: str(pm["in"]), Name: str(pm["name"]), Required: pm["in"] == "path",
					Rest: strings.Contains(str(op["x-upmon-mux-pattern"]), "{"+str(pm["name"])+"...}")}
				f.Type, f.Hint = fieldType(pm["schema"], schemas)
				e.Params = append(e.Params, f)
			}
			if body, _ := dig(op, "requestBody", "content", "application/json", "schema").(map[string]any); body != nil {
				e.HasBody = true
				e.Body = bodyFields(resolve(body, schemas), schemas)
			}
			if resp, _ := dig(op, "responses", "200", "content", "application/json", "schema").(map[string]any); resp != nil {
				e.Response = strings.TrimPrefix(str(resp["$ref"]), "#/components/schemas/")
			}
			ops = append(ops, e)
		}
	}
	slices.SortStableFunc(ops, func(a, b ExplorerOp) int { return strings.Compare(a.Service, b.Service) })
	return ops
}

func str(v any) string { s, _ := v.(string); return s }

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// resolve follows a "$ref" to its component.
func resolve(sc map[string]any, schemas map[string]any) map[string]any {
	if ref := str(sc["$ref"]); ref != "" {
		out, _ := schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		return out
	}
	return sc
}

// fieldType is a form field's type and hint for a schema: scalars keep
// their JSON type (null allowed or not), the rest is edited as JSON.
func fieldType(v any, schemas map[string]any) (string, string) {
	sc, _ := v.(map[string]any)
	sc = resolve(sc, schemas)
	if alts, ok := sc["anyOf"].([]any); ok && len(alts) > 0 {
		inner, _ := alts[0].(map[string]any)
		return fieldType(inner, schemas)
	}
	hint := str(sc["description"])
	switch t := sc["type"].(type) {
	case string:
		switch t {
		case "string", "integer", "number", "boolean":
			if sc["format"] == "date-time" {
				hint = "an RFC 3339 time"
			}
			return t, hint
		}
	case []any:
		if len(t) > 0 {
			if s, ok := t[0].(string); ok && s != "array" && s != "object" {
				return s, hint
			}
		}
	}
	return "json", hint
}

func bodyFields(sc map[string]any, schemas map[string]any) []ExplorerField {
	props, _ := sc["properties"].(map[string]any)
	out := []ExplorerField{}
	for _, n := range slices.Sorted(maps.Keys(props)) {
		f := ExplorerField{Name: n, In: "body"} // the server fills in defaults: none is required
		f.Type, f.Hint = fieldType(props[n], schemas)
		out = append(out, f)
	}
	return out
}
