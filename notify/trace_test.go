package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestSendCarriesTraceparent: a send made inside a traced operation is a
// client span "notify.<kind>" under it, and the service receives the W3C
// traceparent of that span (same trace id); an untraced send carries no
// header.
func TestSendCarriesTraceparent(t *testing.T) {
	got := make(chan string, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
	}))
	defer srv.Close()
	c := NewHTTPClient(HTTPOptions{})

	if _, err := c.Do(context.Background(), "webhook", Request{URL: srv.URL, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if tp := <-got; tp != "" {
		t.Errorf("untraced send carried traceparent %q", tp)
	}

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, parent := tp.Tracer("test").Start(context.Background(), "handle")
	if _, err := c.Do(ctx, "webhook", Request{URL: srv.URL + "/secret-path", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	header := <-got
	traceID := parent.SpanContext().TraceID().String()
	if !strings.HasPrefix(header, "00-"+traceID+"-") {
		t.Fatalf("traceparent %q, want trace %s", header, traceID)
	}
	var send sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "notify.webhook" {
			send = s
		}
	}
	if send == nil {
		t.Fatal("no notify.webhook span")
	}
	if send.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("notify.webhook is not a child of the handler's span")
	}
	if !strings.Contains(header, send.SpanContext().SpanID().String()) {
		t.Errorf("traceparent %q does not name the send's span %s", header, send.SpanContext().SpanID())
	}
	for _, a := range send.Attributes() {
		if strings.Contains(a.Value.String(), "secret-path") {
			t.Errorf("the span records the URL: %s=%s", a.Key, a.Value.String())
		}
	}
}
