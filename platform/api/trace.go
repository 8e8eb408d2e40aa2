package api

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"upmon/platform/tracing"
)

// SetTracer makes every request a span named after its route pattern
// ("GET /site/{id}") and every answer carry the trace id in the
// X-Trace-Id header; nil (the default) records nothing. Call it before
// registering endpoints. A request's incoming traceparent is ignored:
// callers are not trusted to choose trace ids, so each request starts a
// trace of its own.
func (s *Server) SetTracer(t trace.Tracer) { s.tracer = t }

// traced wraps h, the handler of ep, in a request span when tracing is on.
func (s *Server) traced(ep Endpoint, h http.Handler) http.Handler {
	tr := s.tracer
	if tr == nil {
		return h
	}
	name := ep.Path
	if ep.Method != "" {
		name = ep.Method + " " + ep.Path
	}
	attrs := trace.WithAttributes(attribute.String(tracing.AttrRoute, ep.Path), attribute.String("upmon.service", ep.Service))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tr.Start(r.Context(), name, trace.WithSpanKind(trace.SpanKindServer), trace.WithNewRoot(), attrs)
		defer span.End()
		span.SetAttributes(attribute.String("http.request.method", r.Method))
		w.Header().Set(tracing.ResponseHeader, span.SpanContext().TraceID().String())
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}

// markError notes an answered error's code on the request's span.
func markError(r *http.Request, e *Error) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("upmon.error_code", string(e.Code)))
	if e.Status() >= 500 {
		span.SetStatus(codes.Error, string(e.Code))
	}
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer (flushes
// of live streams).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
