package monitor

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"upmon/platform/tracing"
	"upmon/site"
)

// startCheckSpan starts the span of one check, a child of ctx's span (an
// API request) or a root (a scheduled check); nil when tracing is off.
func (s *Service) startCheckSpan(ctx context.Context, st *site.Site, scheduled bool) (context.Context, trace.Span) {
	tr := s.opts.Tracer
	if tr == nil {
		return ctx, nil
	}
	return tr.Start(ctx, "monitor.check", trace.WithAttributes(
		attribute.Int64(tracing.AttrSiteID, st.ID),
		attribute.String("upmon.check.kind", string(st.Kind)),
		attribute.Bool("upmon.check.scheduled", scheduled)))
}

// endCheckSpan records a probe's outcome and its phases on span: DNS,
// connect, TLS and first byte as events at the times they ended,
// reconstructed from the measured durations (a fresh connection runs
// them in that order from the start of the request).
func endCheckSpan(span trace.Span, start time.Time, res Result, state string, err error) {
	if span == nil {
		return
	}
	at := start
	for _, ph := range []struct {
		name string
		d    time.Duration
	}{{"dns", res.DNS}, {"connect", res.Connect}, {"tls", res.TLS}} {
		if ph.d > 0 {
			at = at.Add(ph.d)
			span.AddEvent(ph.name, trace.WithTimestamp(at), trace.WithAttributes(attribute.Int64("duration_ms", ph.d.Milliseconds())))
		}
	}
	if res.FirstByte > 0 {
		span.AddEvent("first_byte", trace.WithTimestamp(start.Add(res.FirstByte)),
			trace.WithAttributes(attribute.Int64("duration_ms", res.FirstByte.Milliseconds())))
	}
	span.SetAttributes(attribute.Bool("upmon.check.up", res.Up), attribute.String("upmon.check.state", state),
		attribute.Int("http.response.status_code", res.StatusCode), attribute.Int64("upmon.check.latency_ms", res.Latency.Milliseconds()))
	if res.Err != "" {
		span.SetAttributes(attribute.String("upmon.check.error", res.Err))
	}
	tracing.End(span, err)
}

// spanContext returns ctx carrying span, for the writes of a check made on
// the batching writer's context; ctx itself when span is nil.
func spanContext(ctx context.Context, span trace.Span) context.Context {
	if span == nil {
		return ctx
	}
	return trace.ContextWithSpan(ctx, span)
}
