// Package tracing builds the program's OpenTelemetry tracer provider and
// carries trace context where the platform needs it: in outbox rows and
// in message and HTTP headers, as a W3C traceparent.
//
// Tracing is off unless Config.Enabled: the platform packages then hold a
// nil trace.Tracer and skip every span, so a check costs what it did
// before tracing existed (no allocation, no clock read). When on, every
// span ends in a Recorder of recent traces (the dashboard's trace page)
// and, when an OTLP endpoint is configured, in a batching OTLP/HTTP
// exporter.
//
// The SDK reads the standard OTEL_* variables itself when the provider is
// built (once, at start-up): OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, OTEL_EXPORTER_OTLP_HEADERS
// and OTEL_EXPORTER_OTLP_TIMEOUT. The endpoint is upmon's own setting
// (--otlp-endpoint, defaulting to OTEL_EXPORTER_OTLP_ENDPOINT).
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Header is the W3C trace-context header carried by outbox rows, broker
// messages and outgoing HTTP requests.
const Header = "traceparent"

// ResponseHeader is the header an API answer carries the trace id in when
// tracing is on.
const ResponseHeader = "X-Trace-Id"

// Config configures tracing.
type Config struct {
	// Enabled turns tracing on; off, every tracer is nil and nothing is
	// recorded or exported.
	Enabled bool
	// OTLPEndpoint is the OTLP/HTTP base URL (http://collector:4318)
	// spans are exported to; empty exports nothing (the recent-traces
	// page still works).
	OTLPEndpoint string
	// ServiceName names the program in exported spans unless
	// OTEL_SERVICE_NAME says otherwise. Default "upmon".
	ServiceName string
	// Replica identifies this process among replicas (a span attribute
	// of the resource).
	Replica string
	// Version is the program's version.
	Version string
	// Recent bounds the in-memory recorder.
	Recent RecorderConfig
}

// Tracing is the program's tracer provider, or nothing when off.
type Tracing struct {
	sdk    *sdktrace.TracerProvider
	recent *Recorder
}

// New builds tracing from cfg. When cfg.Enabled is false it returns a
// Tracing whose Tracer is nil.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	if !cfg.Enabled {
		return &Tracing{}, nil
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "upmon"
	}
	rec := NewRecorder(cfg.Recent)
	opts := []sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(rec)}
	if cfg.OTLPEndpoint != "" {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(TracesURL(cfg.OTLPEndpoint)))
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	// Our attributes first, so that OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES (the environment detector) win.
	res, err := resource.Merge(resource.NewSchemaless(
		attribute.String("service.name", cfg.ServiceName),
		attribute.String("service.version", cfg.Version),
		attribute.String("service.instance.id", cfg.Replica),
	), resource.Environment())
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	opts = append(opts, sdktrace.WithResource(res))
	return &Tracing{sdk: sdktrace.NewTracerProvider(opts...), recent: rec}, nil
}

// Enabled reports whether tracing is on.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// Tracer returns the named tracer, or nil when tracing is off: callers
// test for nil and skip their span.
func (t *Tracing) Tracer(name string) trace.Tracer {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.Tracer(name)
}

// Recent returns the recorder of recent traces, or nil when tracing is
// off.
func (t *Tracing) Recent() *Recorder {
	if !t.Enabled() {
		return nil
	}
	return t.recent
}

// Shutdown exports what is buffered and stops the provider.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// TracesURL is the OTLP/HTTP traces URL of a base endpoint, as the
// specification builds it from OTEL_EXPORTER_OTLP_ENDPOINT: the base with
// "/v1/traces" appended.
func TracesURL(base string) string {
	return strings.TrimSuffix(base, "/") + "/v1/traces"
}

var propagator = propagation.TraceContext{}

// Traceparent returns the W3C traceparent of ctx's span, or "" when ctx
// carries no valid span context.
func Traceparent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c[Header]
}

// WithTraceparent returns ctx with the remote span context tp names as
// its parent; ctx is returned unchanged when tp is empty or malformed.
func WithTraceparent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier{Header: tp})
}

// InjectHTTP sets the traceparent header of an outgoing request from ctx's
// span, when it has one.
func InjectHTTP(ctx context.Context, h http.Header) {
	if tp := Traceparent(ctx); tp != "" {
		h.Set(Header, tp)
	}
}

// Child starts a span named name under ctx's span using the provider of
// that span, for code (outbox inserts, transactions, notifier calls) that
// runs inside a traced operation and holds no tracer of its own. When ctx
// carries no recording span it returns ctx and a nil span, at no cost.
func Child(ctx context.Context, scope, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(scope).Start(ctx, name, trace.WithSpanKind(kind))
}

// End records err on span (when both are non-nil) and ends it; a nil span
// is ignored.
func End(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, shorten(err.Error()))
	}
	span.End()
}

func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
