package api_test

import (
	"context"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"upmon/platform/api"
	"upmon/platform/tracing"
)

type thingParams struct {
	ID int64 `path:"id"`
}

// TestRequestSpanAndTraceIDHeader: with a tracer, each request is a server
// span named after its route pattern with its status and error code, and
// the answer names the trace in X-Trace-Id; without one, no header.
func TestRequestSpanAndTraceIDHeader(t *testing.T) {
	rec := tracing.NewRecorder(tracing.RecorderConfig{})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	find := func(ctx context.Context, p *thingParams) (*struct{}, error) {
		return nil, api.Errorf(api.NotFound, "no thing %d", p.ID)
	}
	traced := api.NewServer(nil)
	traced.SetTracer(tp.Tracer("upmon/api"))
	api.Register(traced, "svc", api.Public, "GET /thing/{id}", find)
	w := httptest.NewRecorder()
	traced.ServeHTTP(w, httptest.NewRequest("GET", "/thing/7", nil))
	id := w.Header().Get(tracing.ResponseHeader)
	spans, ok := rec.Trace(id)
	if w.Code != 404 || !ok || len(spans) != 1 {
		t.Fatalf("status %d, trace %q: %+v", w.Code, id, spans)
	}
	s := spans[0]
	if s.Name != "GET /thing/{id}" || s.Kind != "server" || s.Attr(tracing.AttrRoute) != "/thing/{id}" ||
		s.Attr("http.response.status_code") != "404" || s.Attr("upmon.error_code") != "not_found" || s.Error {
		t.Fatalf("request span %+v", s)
	}

	plain := api.NewServer(nil)
	api.Register(plain, "svc", api.Public, "GET /thing/{id}", find)
	w = httptest.NewRecorder()
	plain.ServeHTTP(w, httptest.NewRequest("GET", "/thing/7", nil))
	if h := w.Header().Get(tracing.ResponseHeader); h != "" {
		t.Fatalf("X-Trace-Id %q without a tracer", h)
	}
}
