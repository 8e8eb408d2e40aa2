package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/internal/version"
	"upmon/platform/api"
	"upmon/platform/catalog"
)

// TestOpenAPIDocument fetches /openapi.json, validates it against the
// OpenAPI 3.1 specification with libopenapi, checks that it holds every
// route the server answers and nothing else, and validates real answers
// of the API against it.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	m := apptest.Start(t, apptest.Config(t), app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	status, body := c.Do("GET", "/openapi.json", "")
	if status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", status, body)
	}

	doc, err := libopenapi.NewDocument([]byte(body))
	if err != nil {
		t.Fatalf("libopenapi: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("document: %s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s", se.Reason, se.FieldPath)
			}
		}
		t.FailNow()
	}

	var spec struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Version string `json:"version"`
		} `json:"info"`
		Paths map[string]map[string]struct {
			OperationID string
			Access      string             `json:"x-upmon-access"`
			Security    []map[string][]any `json:"security"`
		} `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct{ Scheme string } `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &spec); err != nil {
		t.Fatal(err)
	}
	if spec.OpenAPI != "3.1.0" || spec.Info.Version != version.String() {
		t.Errorf("openapi %q, version %q; want 3.1.0, %q", spec.OpenAPI, spec.Info.Version, version.String())
	}
	for _, s := range []string{catalog.SchemeServiceToken, catalog.SchemePersonalToken} {
		if spec.Components.SecuritySchemes[s].Scheme != "bearer" {
			t.Errorf("security scheme %s: %+v", s, spec.Components.SecuritySchemes[s])
		}
	}

	// Every route served is in the document...
	srv := m.API()
	served := 0
	for _, ep := range srv.Endpoints() {
		for _, method := range catalog.Methods(ep) {
			served++
			if _, ok := spec.Paths[catalog.OpenAPIPath(ep.Path)][strings.ToLower(method)]; !ok {
				t.Errorf("%s %s is served but not in /openapi.json", method, ep.Path)
			}
		}
	}
	// ...and every operation in it is served, by the route it names.
	ops, ids := 0, map[string]bool{}
	for path, item := range spec.Paths {
		for method, op := range item {
			ops++
			if ids[op.OperationID] {
				t.Errorf("operationId %s is used twice", op.OperationID)
			}
			ids[op.OperationID] = true
			req, _ := http.NewRequest(strings.ToUpper(method), concretePath(path), nil)
			ep, ok := srv.Route(req)
			if !ok || catalog.OpenAPIPath(ep.Path) != path {
				t.Errorf("/openapi.json has %s %s, but the server routes it to %q (found %v)", method, path, ep.Path, ok)
			}
			// The requirement is the guard's rule (api.RequiredRole),
			// offered through every kind of credential.
			want := "none"
			if role, _ := api.RequiredRole(ep); ep.Access == api.Push {
				want = "push"
			} else if role != api.Anonymous {
				want = role.String()
			}
			if op.Access != want {
				t.Errorf("%s %s: x-upmon-access %q, the guard requires %q", method, path, op.Access, want)
			}
			var schemes []string
			for _, req := range op.Security {
				for name, roles := range req {
					schemes = append(schemes, name)
					if len(roles) != 1 || roles[0] != want {
						t.Errorf("%s %s: scheme %s requires %v, want [%s]", method, path, name, roles, want)
					}
				}
			}
			if wantSchemes := 3; want == "none" || want == "push" {
				if len(schemes) != 0 {
					t.Errorf("%s %s needs %s but lists security %v", method, path, want, schemes)
				}
			} else if len(schemes) != wantSchemes {
				t.Errorf("%s %s: security %v, want service token, personal token and session", method, path, schemes)
			}
		}
	}
	if ops != served {
		t.Errorf("/openapi.json has %d operations, the server answers %d", ops, served)
	}

	// Real answers match the schemas (durations as strings, nullable
	// fields, the error shape).
	target := apptest.NewTarget(t)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/site", `{"url":"` + target.URL + `/a","interval":"30s","tags":["x"]}`},
		{"GET", "/site", ""},
		{"GET", "/site/1", ""},
		{"PATCH", "/site/1", `{"name":"renamed"}`},
		{"POST", "/check/1", ""},
		{"GET", "/status", ""},
		{"GET", "/site/1/checks?limit=5", ""},
		{"GET", "/site/1/uptime", ""},
		{"GET", "/site/99", ""},
		{"GET", "/admin/catalog", ""},
		{"GET", "/admin/deadletters", ""},
		{"GET", "/maintenance", ""},
		{"GET", "/healthz", ""},
	} {
		req, resp := roundTrip(t, m.URL(), tc.method, tc.path, tc.body)
		if ok, verrs := v.ValidateHttpResponse(req, resp); !ok {
			for _, e := range verrs {
				t.Errorf("%s %s (%d): %s: %s", tc.method, tc.path, resp.StatusCode, e.Message, e.Reason)
				for _, se := range e.SchemaValidationErrors {
					t.Errorf("  %s at %s", se.Reason, se.FieldPath)
				}
			}
		}
	}
}

// roundTrip sends a request and returns it with its buffered response.
func roundTrip(t *testing.T, base, method, path, body string) (*http.Request, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	req.Body = io.NopCloser(strings.NewReader(body))
	return req, resp
}
