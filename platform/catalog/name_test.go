package catalog

import (
	"reflect"
	"testing"

	"upmon/platform/api"
)

type pingAnswer struct {
	Up bool `json:"up"`
}

// TestClientNames: a JSON endpoint carries its client method name in the
// OpenAPI document (x-upmon-name), from Endpoint.Name or else its
// operation id; pages and streams (no Response) have none.
func TestClientNames(t *testing.T) {
	resp := reflect.TypeFor[pingAnswer]()
	eps := []api.Endpoint{
		{Service: "monitor", Method: "GET", Path: "/ping/{url...}", Response: resp, Name: "Ping"},
		{Service: "platform", Method: "GET", Path: "/admin/dead-letters", Response: resp},
		{Service: "web", Method: "GET", Path: "/frontend/page"},
	}
	doc, err := OpenAPI(eps, func(api.Endpoint) string { return "viewer" }, "test")
	if err != nil {
		t.Fatal(err)
	}
	name := func(p string) any {
		return doc["paths"].(map[string]any)[p].(map[string]any)["get"].(map[string]any)["x-upmon-name"]
	}
	if got := name("/ping/{url}"); got != "Ping" {
		t.Errorf("named endpoint: x-upmon-name = %v", got)
	}
	if got := name("/admin/dead-letters"); got != "GetAdminDeadLetters" {
		t.Errorf("unnamed JSON endpoint: x-upmon-name = %v, want GetAdminDeadLetters", got)
	}
	if got := name("/frontend/page"); got != nil {
		t.Errorf("a page has x-upmon-name %v", got)
	}
}
