package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/platform/tracing"
)

// traceSlack is a fake Slack webhook that remembers the traceparent header
// of each POST.
type traceSlack struct {
	mu      sync.Mutex
	parents []string
}

func (s *traceSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.parents = append(s.parents, r.Header.Get(tracing.Header))
	s.mu.Unlock()
}

func (s *traceSlack) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.parents...)
}

// TestOneTraceFromCheckToNotifierPOST runs the real program on SQLite and
// the embedded broker with tracing on: the check that sees a site go down,
// its transaction and outbox row, the relay's publish, the broker's
// delivery, the handler and Slack's POST are one trace, and the POST
// carries it as a W3C traceparent.
func TestOneTraceFromCheckToNotifierPOST(t *testing.T) {
	fake := &traceSlack{}
	slackSrv := httptest.NewServer(fake)
	t.Cleanup(slackSrv.Close)
	cfg := apptest.Config(t)
	cfg.Tracing = true
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slackSrv.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`/"}`, nil)
	apptest.Eventually(t, 10*time.Second, "first check", func() bool {
		_, body := c.Do("GET", "/status", "")
		return strings.Contains(body, `"1":`)
	})

	target.SetStatus(500)
	req, _ := http.NewRequest("POST", m.URL()+"/check/1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	traceID := resp.Header.Get(tracing.ResponseHeader)
	if resp.StatusCode != 200 || len(traceID) != 32 {
		t.Fatalf("POST /check/1: %d, %s %q", resp.StatusCode, tracing.ResponseHeader, traceID)
	}

	var parent string
	apptest.Eventually(t, 10*time.Second, "the down notification", func() bool {
		for _, p := range fake.seen() {
			if strings.Contains(p, traceID) {
				parent = p
				return true
			}
		}
		return false
	})
	if !strings.HasPrefix(parent, "00-"+traceID+"-") {
		t.Fatalf("Slack saw traceparent %q, want trace %s", parent, traceID)
	}

	rec := m.Tracing().Recent()
	var spans []tracing.Span
	// Each step is the child of the one before it.
	chain := []string{"POST /check/{siteID}", "monitor.check", "outbox.insert uptime-transition",
		"outbox.publish uptime-transition", "pubsub.deliver uptime-transition/channels-transition",
		"pubsub.handle channels-transition", "channels.deliver", "notify.slack"}
	// A span is recorded when it ends, and the delivery's span ends after
	// its handler has returned and the message is acknowledged, so the
	// notifier's span can be in the recorder before its ancestors are.
	apptest.Eventually(t, 10*time.Second, "every span of the chain recorded", func() bool {
		spans, _ = rec.Trace(traceID)
		for _, name := range chain {
			if findSpan(spans, name) == nil {
				return false
			}
		}
		return true
	})
	for i, name := range chain {
		s := findSpan(spans, name)
		if s == nil {
			t.Fatalf("no span %q in the trace; spans: %v", name, spanNames(spans))
		}
		if i == 0 {
			continue
		}
		if p := findSpan(spans, chain[i-1]); s.ParentID != p.SpanID {
			t.Fatalf("span %q has parent %s, want %q (%s)", name, s.ParentID, chain[i-1], p.SpanID)
		}
	}
	// The POST's traceparent names the notifier's span.
	if n := findSpan(spans, "notify.slack"); !strings.Contains(parent, "-"+n.SpanID+"-") {
		t.Fatalf("traceparent %q does not name notify.slack %s", parent, n.SpanID)
	}
	if tx := findSpan(spans, "sqldb.tx monitor"); tx == nil || tx.ParentID != findSpan(spans, "monitor.check").SpanID {
		t.Fatalf("no transaction span under the check: %v", spanNames(spans))
	}
	check := findSpan(spans, "monitor.check")
	if check.Attr(tracing.AttrSiteID) != "1" || check.Attr("upmon.check.up") != "false" {
		t.Fatalf("check span attributes %+v", check.Attrs)
	}
	if !hasEvent(check, "first_byte") {
		t.Fatalf("check span events %+v, want first_byte", check.Events)
	}
}

func findSpan(spans []tracing.Span, name string) *tracing.Span {
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}

func spanNames(spans []tracing.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func hasEvent(s *tracing.Span, name string) bool {
	for _, e := range s.Events {
		if e.Name == name {
			return true
		}
	}
	return false
}
