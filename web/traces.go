package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"upmon/platform/api"
	"upmon/platform/tracing"
)

// TraceSource is the recorder of recent traces the trace page reads
// (*tracing.Recorder).
type TraceSource interface {
	// Traces returns summaries of the kept traces matching f, newest
	// first.
	Traces(f tracing.Filter) []tracing.Summary
	// Trace returns the spans of one trace, by start time.
	Trace(id string) ([]tracing.Span, bool)
}

type tracesData struct {
	pageBase
	// Off is true when tracing is off (no source).
	Off    bool
	Filter tracing.Filter
	Rows   []traceRow
}

type traceRow struct {
	ID, Root, Start, StartISO, Duration string
	Spans                               int
	Error                               bool
	Sites, Routes                       string
}

type traceData struct {
	pageBase
	ID        string
	Height    int
	Total     string
	Bars      []spanBar
	Truncated bool
}

// spanBar is one row of the waterfall: x and width in per mille of the
// trace's duration.
type spanBar struct {
	Name, Kind, Duration, Offset string
	Depth, Indent, Y, TextY      int
	X, W                         float64
	Error                        bool
	Status                       string
	Attrs                        []tracing.Attr
	Events                       []eventRow
	Remote                       bool
}

type eventRow struct {
	Name, At string
	Attrs    []tracing.Attr
}

// registerTraces adds the trace list and the trace page.
func (h *Handler) registerTraces(srv *api.Server) {
	get := func(p string, f http.HandlerFunc) {
		srv.Handle(api.Endpoint{Service: ServiceName, Method: http.MethodGet, Path: p}, f)
	}
	get("/frontend/traces", h.traces)
	get("/frontend/traces/{traceID}", h.tracePage)
}

func (h *Handler) traces(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := tracing.Filter{Site: strings.TrimSpace(q.Get("site")), Endpoint: strings.TrimSpace(q.Get("endpoint")), Errors: q.Get("errors") != ""}
	if len(f.Site) > 20 || len(f.Endpoint) > 200 {
		h.fail(w, r, api.Errorf(api.InvalidArgument, "filter too long"))
		return
	}
	d := tracesData{pageBase: h.base("Traces", "traces"), Off: h.opts.Traces == nil, Filter: f}
	if !d.Off {
		for _, s := range h.opts.Traces.Traces(f) {
			d.Rows = append(d.Rows, traceRow{ID: s.ID, Root: s.Root, Start: exactTime(s.Start), StartISO: isoTime(s.Start),
				Duration: spanDur(s.Duration), Spans: s.Spans, Error: s.Error,
				Sites: strings.Join(s.Sites, ", "), Routes: strings.Join(s.Routes, ", ")})
		}
	}
	h.render(w, r, http.StatusOK, "traces", d)
}

// maxBars bounds the rows of one waterfall.
const maxBars = 300

func (h *Handler) tracePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("traceID")
	if h.opts.Traces == nil {
		h.fail(w, r, api.Errorf(api.NotFound, "tracing is off"))
		return
	}
	spans, ok := h.opts.Traces.Trace(id)
	if !ok || len(spans) == 0 {
		h.fail(w, r, api.Errorf(api.NotFound, "no such trace among the recent ones"))
		return
	}
	d := traceData{pageBase: h.base("Trace "+id, "traces"), ID: id}
	ordered := treeOrder(spans)
	if len(ordered) > maxBars {
		ordered, d.Truncated = ordered[:maxBars], true
	}
	start, end := spans[0].Start, spans[0].End
	for _, s := range spans {
		if s.End.After(end) {
			end = s.End
		}
	}
	total := max(end.Sub(start), time.Microsecond)
	d.Total = spanDur(total)
	for i, o := range ordered {
		s := o.span
		bar := spanBar{Name: s.Name, Kind: s.Kind, Duration: spanDur(s.End.Sub(s.Start)), Offset: "+" + spanDur(s.Start.Sub(start)),
			Depth: o.depth, Indent: 8 + 12*min(o.depth, 10), Y: i * 22, TextY: i*22 + 15,
			X:     per1000(s.Start.Sub(start), total),
			W:     max(per1000(s.End.Sub(s.Start), total), 2),
			Error: s.Error, Status: s.Status, Attrs: s.Attrs, Remote: s.RemoteParent}
		for _, ev := range s.Events {
			bar.Events = append(bar.Events, eventRow{Name: ev.Name, At: "+" + spanDur(ev.At.Sub(start)), Attrs: ev.Attrs})
		}
		d.Bars = append(d.Bars, bar)
	}
	d.Height = len(d.Bars) * 22
	h.render(w, r, http.StatusOK, "trace", d)
}

func per1000(d, total time.Duration) float64 {
	v := float64(d) / float64(total) * 1000
	return float64(int(v*10)) / 10
}

type orderedSpan struct {
	span  *tracing.Span
	depth int
}

// treeOrder lists spans depth first, children by start time, roots (and
// spans whose parent was not kept) first.
func treeOrder(spans []tracing.Span) []orderedSpan {
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	children := map[string][]*tracing.Span{}
	var roots []*tracing.Span
	for i := range spans {
		s := &spans[i]
		if s.ParentID == "" || !ids[s.ParentID] {
			roots = append(roots, s)
		} else {
			children[s.ParentID] = append(children[s.ParentID], s)
		}
	}
	out := make([]orderedSpan, 0, len(spans))
	var walk func(s *tracing.Span, depth int)
	walk = func(s *tracing.Span, depth int) {
		out = append(out, orderedSpan{span: s, depth: depth})
		for _, c := range children[s.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, s := range roots {
		walk(s, 0)
	}
	return out
}

// spanDur shows a span's duration with a precision that suits it.
func spanDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + " µs"
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
