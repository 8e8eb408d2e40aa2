package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/platform/tracing"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback: it decodes each
// export request's protobuf and keeps its spans and resources.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	res   [][]*commonpb.KeyValue
	bad   []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		o.fail(r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type"))
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			o.fail("gzip: " + err.Error())
			return
		}
		body = zr
	}
	data, _ := io.ReadAll(body)
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(data, &req); err != nil {
		o.fail("decode: " + err.Error())
		http.Error(w, "bad protobuf", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		o.res = append(o.res, rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (o *otlpReceiver) fail(s string) {
	o.mu.Lock()
	o.bad = append(o.bad, s)
	o.mu.Unlock()
}

func (o *otlpReceiver) span(traceID, name string) *tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.spans {
		if hex.EncodeToString(s.TraceId) == traceID && s.Name == name {
			return s
		}
	}
	return nil
}

func attrOf(kvs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// TestTracesExportedOverOTLP runs the program with --otlp-endpoint set to
// a receiver on loopback: a manual check's trace arrives there, decoded,
// with its request span, the check under it, their attributes, and the
// resource naming upmon; the API answer names the trace in X-Trace-Id.
func TestTracesExportedOverOTLP(t *testing.T) {
	t.Parallel()
	recv := &otlpReceiver{}
	otlp := apptest.NewHandlerServer(t, recv)
	cfg := apptest.Config(t)
	cfg.OTLPEndpoint = otlp
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/"}`, nil)
	waitChecked(t, c, "1")

	resp, err := http.Post(m.URL()+"/check/1", "application/json", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	traceID := resp.Header.Get(tracing.ResponseHeader)
	if len(traceID) != 32 {
		t.Fatalf("%s = %q", tracing.ResponseHeader, traceID)
	}
	// Closing exports what the batcher holds.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	root := recv.span(traceID, "POST /check/{siteID}")
	check := recv.span(traceID, "monitor.check")
	tx := recv.span(traceID, "sqldb.tx monitor")
	if root == nil || check == nil || tx == nil {
		t.Fatalf("spans of trace %s missing: request %v, check %v, tx %v (bad requests: %v)", traceID, root != nil, check != nil, tx != nil, recv.bad)
	}
	if len(root.ParentSpanId) != 0 || root.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Fatalf("request span: parent %x, kind %v", root.ParentSpanId, root.Kind)
	}
	if !bytes.Equal(check.ParentSpanId, root.SpanId) || !bytes.Equal(tx.ParentSpanId, check.SpanId) {
		t.Fatal("the check is not under the request, or the transaction not under the check")
	}
	if v := attrOf(root.Attributes, "http.route"); v.GetStringValue() != "/check/{siteID}" {
		t.Fatalf("http.route = %v", v)
	}
	if v := attrOf(root.Attributes, "http.response.status_code"); v.GetIntValue() != 200 {
		t.Fatalf("status = %v", v)
	}
	if v := attrOf(check.Attributes, "upmon.site_id"); v.GetIntValue() != 1 {
		t.Fatalf("site id = %v", v)
	}
	if v := attrOf(check.Attributes, "upmon.check.up"); !v.GetBoolValue() {
		t.Fatalf("up = %v", v)
	}
	var events []string
	for _, e := range check.Events {
		events = append(events, e.Name)
	}
	if !strings.Contains(strings.Join(events, ","), "first_byte") {
		t.Fatalf("check events %v", events)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.bad) > 0 || len(recv.res) == 0 || attrOf(recv.res[0], "service.name").GetStringValue() != "upmon" {
		t.Fatalf("bad requests %v; resource %v", recv.bad, recv.res)
	}
}
