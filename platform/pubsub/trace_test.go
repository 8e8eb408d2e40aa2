package pubsub_test

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
	"upmon/platform/tracing"
)

// TestDeliveryContinuesThePublisherTrace: the traceparent of the
// publishing context travels in the message headers; the delivery is a
// consumer span under it, the handler a span under the delivery, and the
// handler's context carries that span.
func TestDeliveryContinuesThePublisherTrace(t *testing.T) {
	rec := tracing.NewRecorder(tracing.RecorderConfig{})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	cfg := pubsubtest.Config(t)
	cfg.Tracer = tp.Tracer("upmon/pubsub")
	b := pubsubtest.OpenConfig(t, cfg)
	topic := mustTopic(t, b, "traced")
	seen := make(chan trace.SpanContext, 1)
	mustSubscribe(t, topic, "traced-sub", pubsub.SubscriptionConfig[*event]{Handler: func(ctx context.Context, _ *event) error {
		seen <- trace.SpanContextFromContext(ctx)
		return nil
	}})
	pubsubtest.Start(t, b)

	pctx, pub := tp.Tracer("test").Start(ctx(t), "publisher")
	if _, err := topic.Publish(pctx, &event{N: 1}); err != nil {
		t.Fatal(err)
	}
	pub.End()
	var handler trace.SpanContext
	select {
	case handler = <-seen:
	case <-ctx(t).Done():
		t.Fatal("no delivery")
	}
	if handler.TraceID() != pub.SpanContext().TraceID() {
		t.Fatalf("handler in trace %s, want the publisher's %s", handler.TraceID(), pub.SpanContext().TraceID())
	}
	// The delivery span ends after the ack: poll, with a deadline.
	var spans []tracing.Span
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(5 * time.Millisecond) {
		if spans, _ = rec.Trace(handler.TraceID().String()); len(spans) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans recorded: %+v, want publisher, delivery and handler", spans)
		}
	}
	by := map[string]tracing.Span{}
	for _, s := range spans {
		by[s.Name] = s
	}
	deliver, handle := by["pubsub.deliver traced/traced-sub"], by["pubsub.handle traced-sub"]
	if deliver.ParentID != pub.SpanContext().SpanID().String() || !deliver.RemoteParent || deliver.Kind != "consumer" {
		t.Fatalf("delivery span %+v, want a consumer child of the publisher", deliver)
	}
	if handle.ParentID != deliver.SpanID || handle.SpanID != handler.SpanID().String() {
		t.Fatalf("handler span %+v, want the child of the delivery and the handler's context", handle)
	}
}
