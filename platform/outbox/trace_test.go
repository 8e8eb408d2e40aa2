package outbox_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"upmon/platform/outbox"
	"upmon/platform/sqldb/sqldbtest"
	"upmon/platform/tracing"
)

// TestRelayPublishesUnderTheInsertingTrace: a row inserted inside a span
// is published by the relay in the same trace, as the child of a span
// "outbox.publish" whose parent is the insert's span; a row inserted
// without a span is published with no trace context.
func TestRelayPublishesUnderTheInsertingTrace(t *testing.T) {
	db := openDB(t, sqldbtest.Config(t))
	rec := tracing.NewRecorder(tracing.RecorderConfig{})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	ctx, op := tp.Tracer("test").Start(context.Background(), "operation")
	for _, c := range []context.Context{ctx, context.Background()} {
		if err := db.InTx(c, func(tx *sql.Tx) error {
			_, err := outbox.InsertEvent(c, tx, "a", time.Now(), func(id string) any { return map[string]string{"id": id} })
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	op.End()

	var got []trace.SpanContext
	r := outbox.NewRelay(outbox.Config{DB: db, Tracer: tp.Tracer("upmon/outbox"), Publishers: map[string]outbox.PublishFunc{
		"a": func(ctx context.Context, id string, payload []byte) error {
			got = append(got, trace.SpanContextFromContext(ctx))
			return nil
		}}})
	if n := drain(t, r); n != 2 {
		t.Fatalf("relayed %d, want 2", n)
	}
	if got[0].TraceID() != op.SpanContext().TraceID() {
		t.Fatalf("first row published in trace %s, want %s", got[0].TraceID(), op.SpanContext().TraceID())
	}
	if got[1].TraceID() == op.SpanContext().TraceID() {
		t.Fatal("a row inserted without a span joined another trace")
	}
	spans, _ := rec.Trace(op.SpanContext().TraceID().String())
	byName := map[string]tracing.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	insert, publish, tx := byName["outbox.insert a"], byName["outbox.publish a"], byName["sqldb.tx svc"]
	if insert.ParentID != op.SpanContext().SpanID().String() || tx.ParentID != insert.ParentID {
		t.Fatalf("insert and transaction not under the operation: %+v", spans)
	}
	if publish.ParentID != insert.SpanID || !publish.RemoteParent || publish.SpanID != got[0].SpanID().String() {
		t.Fatalf("publish span %+v; want the child of the insert %s, and the publishing context", publish, insert.SpanID)
	}
}
