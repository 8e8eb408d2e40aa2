package api_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"upmon/platform/api"
)

// TestRouteAndTypes: Register keeps the request and response types, and
// Route resolves requests to the endpoint that would serve them (typed,
// raw, subtree and prefix routes), or to none (the JSON 404).
func TestRouteAndTypes(t *testing.T) {
	s := api.NewServer(nil)
	api.Register(s, "svc", api.Public, "POST /echo/{id}", func(context.Context, *echoReq) (*echoResp, error) { return nil, nil })
	s.Handle(api.Endpoint{Service: "web", Method: "GET", Path: "/pages/"}, http.NotFoundHandler())
	s.Handle(api.Endpoint{Service: "web", Method: "GET", Path: "/pages/{$}"}, http.NotFoundHandler())
	s.HandlePrefix("/ping/", api.Endpoint{Service: "mon", Method: "GET", Path: "/ping/{url...}", Methods: []string{"GET", "POST"}},
		http.NotFoundHandler())

	eps := s.Endpoints()
	if eps[0].Request != reflect.TypeFor[echoReq]() || eps[0].Response != reflect.TypeFor[echoResp]() || eps[1].Request != nil {
		t.Fatalf("types: %v %v, raw %v", eps[0].Request, eps[0].Response, eps[1].Request)
	}
	for _, tc := range []struct {
		method, path string
		want         string // the endpoint's path, "" for none
	}{
		{"POST", "/echo/7", "/echo/{id}"},
		{"GET", "/echo/7", ""}, // wrong method
		{"GET", "/pages/", "/pages/{$}"},
		{"GET", "/pages/a/b", "/pages/"},
		{"POST", "/ping/https://example.com/x", "/ping/{url...}"},
		{"GET", "/nowhere", ""},
	} {
		req, _ := http.NewRequest(tc.method, tc.path, nil)
		ep, ok := s.Route(req)
		if ok != (tc.want != "") || ep.Path != tc.want {
			t.Errorf("Route(%s %s) = %q, %v; want %q", tc.method, tc.path, ep.Path, ok, tc.want)
		}
	}
}
