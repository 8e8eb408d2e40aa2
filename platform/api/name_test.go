package api_test

import (
	"context"
	"testing"

	"upmon/platform/api"
)

type nameSvc struct{}

func (nameSvc) addHTTP(context.Context, *struct{}) (*struct{}, error)  { return nil, nil }
func (nameSvc) CheckAll(context.Context, *struct{}) (*struct{}, error) { return nil, nil }

func listHTTP(context.Context, *struct{}) (*struct{}, error) { return nil, nil }

// TestHandlerNameAndRegister: Register names an endpoint after its
// handler ("addHTTP" → "Add"); a function literal gets no name.
func TestHandlerNameAndRegister(t *testing.T) {
	var s nameSvc
	for fn, want := range map[string]struct {
		fn   any
		want string
	}{
		"method value":     {s.addHTTP, "Add"},
		"exported method":  {s.CheckAll, "CheckAll"},
		"function":         {listHTTP, "List"},
		"function literal": {func(context.Context, *struct{}) (*struct{}, error) { return nil, nil }, ""},
	} {
		if got := api.HandlerName(want.fn); got != want.want {
			t.Errorf("%s: HandlerName = %q, want %q", fn, got, want.want)
		}
	}
	srv := api.NewServer(nil)
	api.Register(srv, "svc", api.Public, "POST /things", s.addHTTP)
	api.Register(srv, "svc", api.Public, "GET /things", func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
	names := map[string]string{}
	for _, ep := range srv.Endpoints() {
		names[ep.Method] = ep.Name
	}
	if names["POST"] != "Add" || names["GET"] != "" {
		t.Fatalf("endpoint names = %v, want POST Add and GET unnamed", names)
	}
}
