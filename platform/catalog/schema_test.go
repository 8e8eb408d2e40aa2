package catalog

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"upmon/platform/api"
)

type inner struct {
	Tag string `json:"tag"`
}

type custom int

func (custom) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }

type sample struct {
	ID      int64             `path:"id"`
	Limit   int               `query:"limit"`
	Name    string            `json:"name"`
	Note    *string           `json:"note"`
	Opt     string            `json:"opt,omitempty"`
	At      time.Time         `json:"at"`
	Every   Duration          `json:"every"`
	Tags    []string          `json:"tags"`
	Headers map[string]string `json:"headers,omitempty"`
	Raw     json.RawMessage   `json:"raw,omitempty"`
	Hidden  string            `json:"-"`
	Count   int               `json:"count,string"`
	inner
}

func schemaJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSchemaFollowsEncodingJSON(t *testing.T) {
	sc := newSchemas()
	ref := sc.ref(reflect.TypeFor[*sample]())
	if got := schemaJSON(t, ref); got != `{"$ref":"#/components/schemas/catalog.sample"}` {
		t.Fatalf("ref %s", got)
	}
	obj := sc.defs["catalog.sample"].(map[string]any)
	props := obj["properties"].(map[string]any)
	for name, want := range map[string]string{
		"name":    `{"type":"string"}`,
		"note":    `{"type":["string","null"]}`,
		"opt":     `{"type":"string"}`,
		"at":      `{"format":"date-time","type":"string"}`,
		"every":   `{"description":"a Go duration such as \"5m0s\"","type":"string"}`,
		"tags":    `{"anyOf":[{"items":{"type":"string"},"type":"array"},{"type":"null"}]}`,
		"headers": `{"additionalProperties":{"type":"string"},"type":"object"}`,
		"raw":     `{}`,
		"count":   `{"type":"string"}`,
		"tag":     `{"type":"string"}`,
	} {
		if got := schemaJSON(t, props[name]); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	for _, absent := range []string{"ID", "id", "Limit", "limit", "Hidden", "-", "inner"} {
		if _, ok := props[absent]; ok {
			t.Errorf("property %s should not be in the body schema", absent)
		}
	}
	if got := schemaJSON(t, obj["required"]); got != `["name","note","at","every","tags","count","tag"]` {
		t.Errorf("required %s", got)
	}
}

func TestSchemaRefusesUnknownCustomEncoding(t *testing.T) {
	eps := []api.Endpoint{{Service: "x", Method: "GET", Path: "/x", Request: reflect.TypeFor[struct{}](),
		Response: reflect.TypeFor[struct {
			C custom `json:"c"`
		}]()}}
	_, err := OpenAPI(eps, func(api.Endpoint) string { return api.Viewer.String() }, "v")
	if err == nil || !strings.Contains(err.Error(), "OpenAPISchema") {
		t.Fatalf("err %v, want a request for an OpenAPISchema method", err)
	}
}

func TestOpenAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/site/{siteID}":  "/site/{siteID}",
		"/ping/{url...}":  "/ping/{url}",
		"/{$}":            "/",
		"/frontend/{$}":   "/frontend/",
		"/frontend/":      "/frontend/{path}",
		"/frontend":       "/frontend",
		"/status.svg/{x}": "/status.svg/{x}",
	} {
		if got := OpenAPIPath(in); got != want {
			t.Errorf("OpenAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}
