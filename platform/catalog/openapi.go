package catalog

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"upmon/platform/api"
)

// Security scheme names in the OpenAPI document. Each carries the role
// an operation needs (viewer, editor, owner) as its requirement's value.
const (
	SchemeServiceToken  = "serviceToken"
	SchemePersonalToken = "personalToken"
	SchemeSession       = "sessionCookie"
)

// Access requirements an endpoint can have, as Sources.Requires names
// them: no credential, the push token, or the least role the caller needs
// (api.Role's names: "viewer", "editor", "owner").
const (
	RequiresNone   = "none"   // no credential (health, status pages, badges, sign-in)
	RequiresPush   = "push"   // the push token in the path
	RequiresNobody = "nobody" // an endpoint without an access rule: refused to everyone
)

var paramRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// OpenAPIPath turns a ServeMux pattern path into an OpenAPI path: "{$}" is
// dropped, "{rest...}" becomes "{rest}", and a subtree pattern ending in
// "/" gets a trailing "{path}" parameter.
func OpenAPIPath(p string) string {
	if strings.HasSuffix(p, "/{$}") {
		return strings.TrimSuffix(p, "{$}")
	}
	if strings.HasSuffix(p, "/") {
		p += "{path}"
	}
	return paramRE.ReplaceAllString(p, "{$1}")
}

// pathParams returns the parameter names of an OpenAPI path, in order.
func pathParams(p string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	return out
}

// Methods returns the HTTP methods an endpoint answers, for documents.
func Methods(ep api.Endpoint) []string {
	switch {
	case ep.Method != "":
		return []string{ep.Method}
	case len(ep.Methods) > 0:
		return ep.Methods
	}
	return []string{http.MethodGet}
}

// OperationID is the stable id of an operation: service, method and path.
func OperationID(ep api.Endpoint, method string) string {
	p := OpenAPIPath(ep.Path)
	p = strings.NewReplacer("{", "", "}", "", ".", "_", "-", "_").Replace(p)
	parts := []string{ep.Service, strings.ToLower(method)}
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if strings.HasSuffix(p, "/") {
		parts = append(parts, "index") // "/frontend/" is not "/frontend"
	}
	return strings.Join(parts, "_")
}

// ClientName is the method name of a JSON endpoint in generated clients:
// the endpoint's Name, or else its operation id without the service,
// camel-cased ("platform_get_admin_catalog" gives "GetAdminCatalog").
// Pages, streams and files (no Response type) have none.
func ClientName(ep api.Endpoint, method string) string {
	if ep.Response == nil {
		return ""
	}
	if ep.Name != "" {
		return ep.Name
	}
	var b strings.Builder
	for i, part := range strings.Split(OperationID(ep, method), "_") {
		if i > 0 && part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// OpenAPI returns the OpenAPI 3.1 document of the endpoints: one
// operation per endpoint and method, schemas from the Go request and
// response types, the error shape, and the bearer token schemes. It fails
// on a type whose JSON encoding it cannot describe (see Schemaer).
func OpenAPI(eps []api.Endpoint, requires func(api.Endpoint) string, version string) (doc map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%v", r)
		}
	}()
	sc := newSchemas()
	errRef := sc.ref(reflect.TypeFor[api.Error]())
	sc.defs["api.Error"] = errorSchema()
	paths := map[string]any{}
	for _, ep := range eps {
		p := OpenAPIPath(ep.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		for _, m := range Methods(ep) {
			item[strings.ToLower(m)] = operation(sc, ep, m, requires(ep), errRef)
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "upmon",
			"version": version,
			"description": "The HTTP API of upmon, generated from the typed endpoints. " +
				"Each operation needs a role (x-upmon-access: viewer, editor or owner; none and push need no credential). " +
				"Before any user exists and without a service token every endpoint but the owner's (loopback only) is open.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": sc.defs,
			"securitySchemes": map[string]any{
				SchemeServiceToken: map[string]any{"type": "http", "scheme": "bearer",
					"description": "A service token: --api-token has the owner role, --read-token the viewer role."},
				SchemePersonalToken: map[string]any{"type": "http", "scheme": "bearer",
					"description": "A user's personal token (POST /tokens), with the user's role or less."},
				SchemeSession: map[string]any{"type": "apiKey", "in": "cookie", "name": "upmon_session",
					"description": "A signed-in user's session (POST /login, or single sign-on), with the user's role."},
			},
		},
	}, nil
}

// errorSchema is the JSON error body every endpoint may answer with.
func errorSchema() map[string]any {
	codes := []any{}
	for _, c := range []api.ErrCode{api.Canceled, api.Unknown, api.InvalidArgument, api.DeadlineExceeded,
		api.NotFound, api.AlreadyExists, api.PermissionDenied, api.ResourceExhausted, api.FailedPrecondition,
		api.Aborted, api.OutOfRange, api.Unimplemented, api.Internal, api.Unavailable, api.DataLoss,
		api.Unauthenticated} {
		codes = append(codes, string(c))
	}
	return map[string]any{
		"type":     "object",
		"required": []any{"code", "message", "details"},
		"properties": map[string]any{
			"code":    map[string]any{"type": "string", "enum": codes},
			"message": map[string]any{"type": "string"},
			"details": map[string]any{"description": "optional structured data, such as the offending field"},
		},
	}
}

// security lists the schemes that may call an operation needing req,
// each with the least role as its value (OpenAPI 3.1 lets a non-OAuth
// requirement name roles); none for an open or push endpoint.
func security(req string) []any {
	if _, ok := api.ParseRole(req); !ok {
		return []any{}
	}
	roles := []any{req}
	return []any{map[string]any{SchemeServiceToken: roles}, map[string]any{SchemePersonalToken: roles},
		map[string]any{SchemeSession: roles}}
}

// operation describes one endpoint for one method.
func operation(sc *schemas, ep api.Endpoint, method, req string, errRef map[string]any) map[string]any {
	op := map[string]any{
		"operationId":         OperationID(ep, method),
		"tags":                []any{ep.Service},
		"security":            security(req),
		"x-upmon-access":      req,
		"x-upmon-mux-pattern": strings.TrimSpace(ep.Method + " " + ep.Path),
	}
	if name := ClientName(ep, method); name != "" {
		op["x-upmon-name"] = name // the method in generated clients
	}
	if params := parameters(sc, ep); len(params) > 0 {
		op["parameters"] = params
	}
	if ep.Request != nil && method != http.MethodGet && method != http.MethodHead && hasBody(ep.Request) {
		op["requestBody"] = map[string]any{
			"content": map[string]any{"application/json": map[string]any{"schema": sc.ref(ep.Request)}},
		}
	}
	ok := map[string]any{"description": "OK"}
	switch {
	case ep.Response != nil && hasBody(ep.Response):
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": sc.ref(ep.Response)}}
	case ep.Response != nil:
		ok["description"] = "OK (empty body)"
	default:
		ok["description"] = "A page, stream, redirect or file (not JSON)"
	}
	op["responses"] = map[string]any{
		"200": ok,
		"default": map[string]any{
			"description": "An error",
			"content":     map[string]any{"application/json": map[string]any{"schema": errRef}},
		},
	}
	return op
}

// parameters lists the path parameters (typed from the request's `path`
// fields, strings otherwise) and the query parameters (`query` fields).
func parameters(sc *schemas, ep api.Endpoint) []any {
	typed := map[string]map[string]any{}
	var query []any
	if t := ep.Request; t != nil && t.Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(t) {
			if n := f.Tag.Get("path"); n != "" {
				typed[n] = sc.ref(f.Type)
			} else if n := f.Tag.Get("query"); n != "" {
				query = append(query, map[string]any{"name": n, "in": "query", "schema": sc.ref(f.Type)})
			}
		}
	}
	var out []any
	for _, n := range pathParams(OpenAPIPath(ep.Path)) {
		s := typed[n]
		if s == nil {
			s = map[string]any{"type": "string"}
		}
		out = append(out, map[string]any{"name": n, "in": "path", "required": true, "schema": s})
	}
	slices.SortStableFunc(query, func(a, b any) int {
		return strings.Compare(a.(map[string]any)["name"].(string), b.(map[string]any)["name"].(string))
	})
	return append(out, query...)
}
