package tracing

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// startTraces records n one-span traces named t0..tn-1 through a real SDK
// provider, each about site i.
func startTraces(t *testing.T, rec *Recorder, n int, attrLen int) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")
	for i := range n {
		_, span := tr.Start(context.Background(), "t"+strconv.Itoa(i))
		span.SetAttributes(attribute.String(AttrSiteID, strconv.Itoa(i)), attribute.String("pad", strings.Repeat("x", attrLen)))
		span.End()
	}
}

func TestRecorderBoundedByCountDropsOldest(t *testing.T) {
	rec := NewRecorder(RecorderConfig{MaxTraces: 3})
	startTraces(t, rec, 5, 0)
	got := rec.Traces(Filter{})
	if len(got) != 3 || got[0].Root != "t4" || got[2].Root != "t2" {
		t.Fatalf("kept %+v, want t4, t3, t2", got)
	}
}

func TestRecorderBoundedByBytes(t *testing.T) {
	rec := NewRecorder(RecorderConfig{MaxTraces: 1000, MaxBytes: 10_000})
	startTraces(t, rec, 20, 2000)
	n, bytes := rec.Len()
	if bytes > 10_000 || n == 0 || n >= 20 {
		t.Fatalf("kept %d traces of %d bytes; want fewer than 20 within 10000 bytes", n, bytes)
	}
	if got := rec.Traces(Filter{}); got[0].Root != "t19" {
		t.Fatalf("newest kept is %s, want t19", got[0].Root)
	}
}

func TestRecorderFilters(t *testing.T) {
	rec := NewRecorder(RecorderConfig{})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := tp.Tracer("test")
	ctx, root := tr.Start(context.Background(), "GET /site/{id}")
	root.SetAttributes(attribute.String(AttrRoute, "/site/{id}"))
	_, child := tr.Start(ctx, "monitor.check")
	child.SetAttributes(attribute.Int64(AttrSiteID, 7))
	End(child, context.DeadlineExceeded)
	root.End()
	_, other := tr.Start(context.Background(), "outbox.publish")
	other.End()

	for _, tc := range []struct {
		f    Filter
		want int
	}{
		{Filter{}, 2},
		{Filter{Site: "7"}, 1},
		{Filter{Site: "8"}, 0},
		{Filter{Endpoint: "/site/"}, 1},
		{Filter{Errors: true}, 1},
	} {
		if got := rec.Traces(tc.f); len(got) != tc.want {
			t.Errorf("%+v: %d traces, want %d", tc.f, len(got), tc.want)
		}
	}
	spans, ok := rec.Trace(root.SpanContext().TraceID().String())
	if !ok || len(spans) != 2 || spans[1].ParentID != spans[0].SpanID || !spans[1].Error {
		t.Fatalf("trace spans %+v", spans)
	}
}

func TestTraceparentRoundTrip(t *testing.T) {
	if Traceparent(context.Background()) != "" {
		t.Fatal("traceparent without a span")
	}
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "x")
	defer span.End()
	h := Traceparent(ctx)
	if !strings.Contains(h, span.SpanContext().TraceID().String()) {
		t.Fatalf("traceparent %q lacks the trace id", h)
	}
	back := WithTraceparent(context.Background(), h)
	if got := Traceparent(back); got != h {
		t.Fatalf("round trip %q, want %q", got, h)
	}
	if c, s := Child(context.Background(), "x", "y", 0); s != nil || c != context.Background() {
		t.Fatal("Child without a recording parent started a span")
	}
}
