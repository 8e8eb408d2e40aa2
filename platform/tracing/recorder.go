package tracing

import (
	"container/list"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Span attribute keys the platform sets and the trace page filters on.
const (
	// AttrSiteID is the id of the site a span is about.
	AttrSiteID = "upmon.site_id"
	// AttrRoute is the route pattern of an API request span.
	AttrRoute = "http.route"
)

// RecorderConfig bounds a Recorder. Zero values mean defaults.
type RecorderConfig struct {
	// MaxTraces is the most traces kept. Default 500.
	MaxTraces int
	// MaxBytes bounds the estimated memory of the kept spans. Default
	// 16 MiB.
	MaxBytes int64
	// MaxSpansPerTrace is the most spans kept of one trace; later ones
	// are counted, not kept. Default 500.
	MaxSpansPerTrace int
}

// Attr is a span or event attribute, its value as text.
type Attr struct {
	Key, Value string
}

// Event is a timed event of a span.
type Event struct {
	Name  string
	At    time.Time
	Attrs []Attr
}

// Span is an ended span as the recorder keeps it.
type Span struct {
	TraceID, SpanID, ParentID string
	// RemoteParent is true when the parent span ran in another process
	// (or another trace's message).
	RemoteParent bool
	Name         string
	Kind         string
	Start, End   time.Time
	// Error is true when the span's status is an error; Status is its
	// description.
	Error  bool
	Status string
	Attrs  []Attr
	Events []Event
}

// Attr returns the value of the attribute key, or "".
func (s *Span) Attr(key string) string {
	for _, a := range s.Attrs {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

// Summary describes one recorded trace in a list.
type Summary struct {
	ID string
	// Root is the name of the earliest span recorded.
	Root     string
	Start    time.Time
	Duration time.Duration
	Spans    int
	Error    bool
	// Sites are the site ids the spans are about.
	Sites []string
	// Routes are the API routes the trace served.
	Routes []string
}

// Filter selects traces. Zero fields select everything.
type Filter struct {
	// Site keeps traces with a span about this site id.
	Site string
	// Endpoint keeps traces with a span whose route or name contains it.
	Endpoint string
	// Errors keeps traces with a failed span.
	Errors bool
	// Limit is the most summaries returned. Default 100.
	Limit int
}

type entry struct {
	id      trace.TraceID
	spans   []Span
	dropped int
	bytes   int64
	elem    *list.Element
}

// Recorder is a span processor keeping the most recent traces in memory,
// bounded by count and estimated bytes: the oldest trace is dropped
// first.
type Recorder struct {
	cfg   RecorderConfig
	mu    sync.Mutex
	byID  map[trace.TraceID]*entry
	order *list.List // of *entry, oldest first
	bytes int64
}

// NewRecorder returns an empty recorder.
func NewRecorder(cfg RecorderConfig) *Recorder {
	if cfg.MaxTraces <= 0 {
		cfg.MaxTraces = 500
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 16 << 20
	}
	if cfg.MaxSpansPerTrace <= 0 {
		cfg.MaxSpansPerTrace = 500
	}
	return &Recorder{cfg: cfg, byID: map[trace.TraceID]*entry{}, order: list.New()}
}

// OnStart implements sdktrace.SpanProcessor; spans are kept when they end.
func (r *Recorder) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// Shutdown implements sdktrace.SpanProcessor.
func (r *Recorder) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor.
func (r *Recorder) ForceFlush(context.Context) error { return nil }

// OnEnd implements sdktrace.SpanProcessor: it keeps s.
func (r *Recorder) OnEnd(s sdktrace.ReadOnlySpan) {
	sp := convert(s)
	size := spanSize(&sp)
	id := s.SpanContext().TraceID()
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byID[id]
	if !ok {
		e = &entry{id: id}
		e.elem = r.order.PushBack(e)
		r.byID[id] = e
	}
	if len(e.spans) >= r.cfg.MaxSpansPerTrace {
		e.dropped++
		return
	}
	e.spans = append(e.spans, sp)
	e.bytes += size
	r.bytes += size
	for r.order.Len() > r.cfg.MaxTraces || (r.bytes > r.cfg.MaxBytes && r.order.Len() > 1) {
		r.evict(r.order.Front().Value.(*entry))
	}
}

func (r *Recorder) evict(e *entry) {
	r.order.Remove(e.elem)
	delete(r.byID, e.id)
	r.bytes -= e.bytes
}

// Len returns how many traces are kept and their estimated bytes.
func (r *Recorder) Len() (traces int, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len(), r.bytes
}

// Traces returns summaries of the kept traces that match f, newest first.
func (r *Recorder) Traces(f Filter) []Summary {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Summary
	for el := r.order.Back(); el != nil && len(out) < f.Limit; el = el.Prev() {
		e := el.Value.(*entry)
		if sum := summarize(e); sum.matches(f, e.spans) {
			out = append(out, sum)
		}
	}
	return out
}

// Trace returns the kept spans of trace id (hex), ordered by start time.
func (r *Recorder) Trace(id string) ([]Span, bool) {
	tid, err := trace.TraceIDFromHex(id)
	if err != nil {
		return nil, false
	}
	r.mu.Lock()
	e, ok := r.byID[tid]
	var spans []Span
	if ok {
		spans = slices.Clone(e.spans)
	}
	r.mu.Unlock()
	slices.SortStableFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return spans, ok
}

func summarize(e *entry) Summary {
	sum := Summary{ID: e.id.String(), Spans: len(e.spans) + e.dropped}
	var end time.Time
	for i := range e.spans {
		s := &e.spans[i]
		if sum.Start.IsZero() || s.Start.Before(sum.Start) {
			sum.Start, sum.Root = s.Start, s.Name
		}
		if s.End.After(end) {
			end = s.End
		}
		sum.Error = sum.Error || s.Error
		if v := s.Attr(AttrSiteID); v != "" && !slices.Contains(sum.Sites, v) {
			sum.Sites = append(sum.Sites, v)
		}
		if v := s.Attr(AttrRoute); v != "" && !slices.Contains(sum.Routes, v) {
			sum.Routes = append(sum.Routes, v)
		}
	}
	sum.Duration = end.Sub(sum.Start)
	return sum
}

func (sum *Summary) matches(f Filter, spans []Span) bool {
	if f.Errors && !sum.Error {
		return false
	}
	if f.Site != "" && !slices.Contains(sum.Sites, f.Site) {
		return false
	}
	if f.Endpoint == "" {
		return true
	}
	for i := range spans {
		if strings.Contains(spans[i].Name, f.Endpoint) || strings.Contains(spans[i].Attr(AttrRoute), f.Endpoint) {
			return true
		}
	}
	return false
}

func convert(s sdktrace.ReadOnlySpan) Span {
	sp := Span{
		TraceID:      s.SpanContext().TraceID().String(),
		SpanID:       s.SpanContext().SpanID().String(),
		RemoteParent: s.Parent().IsRemote(),
		Name:         s.Name(),
		Kind:         s.SpanKind().String(),
		Start:        s.StartTime(),
		End:          s.EndTime(),
		Error:        s.Status().Code == codes.Error,
		Status:       s.Status().Description,
		Attrs:        attrs(s.Attributes()),
	}
	if s.Parent().IsValid() {
		sp.ParentID = s.Parent().SpanID().String()
	}
	for _, ev := range s.Events() {
		sp.Events = append(sp.Events, Event{Name: ev.Name, At: ev.Time, Attrs: attrs(ev.Attributes)})
	}
	return sp
}

func attrs(kvs []attribute.KeyValue) []Attr {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]Attr, len(kvs))
	for i, kv := range kvs {
		out[i] = Attr{Key: string(kv.Key), Value: kv.Value.String()}
	}
	return out
}

// spanSize estimates the bytes a kept span holds.
func spanSize(s *Span) int64 {
	n := 256 + len(s.Name) + len(s.Status) + len(s.Kind)
	for _, a := range s.Attrs {
		n += 32 + len(a.Key) + len(a.Value)
	}
	for _, ev := range s.Events {
		n += 64 + len(ev.Name)
		for _, a := range ev.Attrs {
			n += 32 + len(a.Key) + len(a.Value)
		}
	}
	return int64(n)
}
