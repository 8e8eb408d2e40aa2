package slack

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"upmon/platform/tracing"
)

// TestNotifyCarriesTraceparent: the POST names the notifier's span (a
// client span under the caller's) in a W3C traceparent header; without a
// span in ctx it carries none.
func TestNotifyCarriesTraceparent(t *testing.T) {
	rec := tracing.NewRecorder(tracing.RecorderConfig{})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	hook := MustWebhook(t)
	s := New(Options{WebhookURL: hook.URL + "/services/SECRET"})
	ctx, handler := tp.Tracer("test").Start(t.Context(), "handler")
	if err := s.Notify(ctx, &NotifyParams{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	handler.End()
	if err := s.Notify(t.Context(), &NotifyParams{Text: "y"}); err != nil {
		t.Fatal(err)
	}
	reqs := hook.requests()
	spans, _ := rec.Trace(handler.SpanContext().TraceID().String())
	var notify *tracing.Span
	for i := range spans {
		if spans[i].Name == "slack.notify" {
			notify = &spans[i]
		}
	}
	if notify == nil || notify.ParentID != handler.SpanContext().SpanID().String() || notify.Kind != "client" {
		t.Fatalf("notifier span %+v under handler %s", notify, handler.SpanContext().SpanID())
	}
	if want := "00-" + notify.TraceID + "-" + notify.SpanID + "-01"; reqs[0].traceparent != want {
		t.Fatalf("traceparent %q, want %q", reqs[0].traceparent, want)
	}
	for _, a := range notify.Attrs {
		if strings.Contains(a.Value, "SECRET") {
			t.Fatalf("the webhook URL leaked into the span: %+v", a)
		}
	}
	if reqs[1].traceparent != "" {
		t.Fatalf("traceparent %q without a span", reqs[1].traceparent)
	}
}
