package channels_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"upmon/channels"
	"upmon/notify"
	"upmon/platform/pubsub"
	"upmon/site"
)

// TestStaleEventDropped: an event older than one already routed for the
// site (its successor was routed without it once it waited OrderWait) is
// dropped, so the channel never tells a site's states out of order; each
// family (down/up, degraded/recovered) has its own sequence, and a
// redelivered event is still routed once.
func TestStaleEventDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	h := newHook(t)
	f.slack(t, "ops", h.URL, nil)
	f.addSite(7, nil)
	ctx := context.Background()
	now, old := time.Now(), time.Now().Add(-time.Hour)
	route := func(id string, k notify.Event, seq int64, at time.Time) {
		t.Helper()
		if err := f.svc.Route(ctx, channels.Event{ID: id, Site: siteRef(7), Kind: k, At: at, Seq: seq}); err != nil {
			t.Fatal(err)
		}
	}
	route("down-1", notify.EventDown, 1, now)
	route("up-3", notify.EventUp, 3, old)             // its predecessor never came in time: routed without it
	route("down-2", notify.EventDown, 2, now)         // older: dropped
	route("degraded-1", notify.EventDegraded, 1, now) // another family: routed
	route("up-3", notify.EventUp, 3, old)             // redelivered: once
	route("down-4", notify.EventDown, 4, now)
	var got []string
	for range 4 {
		got = append(got, h.next(t))
	}
	want := []string{"is down!*", "is back up.*", "is degraded!*", "is down!*"}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Fatalf("message %d = %q, want %q (all: %q)", i, got[i], w, got)
		}
	}
	select {
	case extra := <-h.got:
		t.Fatalf("an extra message arrived: %q", extra)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestFirstEventSeenWaitsForItsPredecessor: the first event the router
// sees for a site is not the site's first (after a broker outage, two
// replicas' outboxes publish at once and a site's up is handed out before
// its down): it waits for its predecessor instead of making it stale, and
// both are told, in order.
func TestFirstEventSeenWaitsForItsPredecessor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	h := newHook(t)
	f.slack(t, "ops", h.URL, nil)
	f.addSite(8, nil)
	ctx := context.Background()
	up := channels.Event{ID: "up-2", Site: siteRef(8), Kind: notify.EventUp, At: time.Now(), Seq: 2}
	err := f.svc.Route(ctx, up)
	if !pubsub.IsDeferred(err) {
		t.Fatalf("routing seq 2 before the site's seq 1: %v, want it deferred", err)
	}
	if err := f.svc.Route(ctx, channels.Event{ID: "down-1", Site: siteRef(8), Kind: notify.EventDown, At: time.Now(), Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Route(ctx, up); err != nil {
		t.Fatal(err)
	}
	for i, w := range []string{"is down!*", "is back up.*"} {
		if got := h.next(t); !strings.Contains(got, w) {
			t.Fatalf("message %d = %q, want %q", i, got, w)
		}
	}
}

// TestLocationEventsReachChannelsThatWantThem: location-lost and
// location-back go to every enabled channel wanting them, whatever the
// site routing, and name the location.
func TestLocationEventsReachChannelsThatWantThem(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	all, downOnly, tagged := newHook(t), newHook(t), newHook(t)
	f.slack(t, "all", all.URL, nil)
	f.slack(t, "down-only", downOnly.URL, func(p *channels.Fields) { p.Events = &[]string{"down", "up"} })
	f.slack(t, "tagged", tagged.URL, func(p *channels.Fields) { p.Default = ptr(false); p.Tags = &[]string{"eu"} })
	ctx := context.Background()
	for _, ev := range []channels.Event{
		{ID: "loc-1", Kind: notify.EventLocationLost, At: time.Now(), Location: "eu-west"},
		{ID: "loc-1", Kind: notify.EventLocationLost, At: time.Now(), Location: "eu-west"}, // redelivered
		{ID: "loc-2", Kind: notify.EventLocationBack, At: time.Now(), Location: "eu-west"},
	} {
		if err := f.svc.Route(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []*hook{all, tagged} {
		lost, back := h.next(t), h.next(t)
		if !strings.HasPrefix(lost, "*Location eu-west is unavailable.*\n") || !strings.HasPrefix(back, "*Location eu-west is back.*\n") {
			t.Errorf("got %q then %q", lost, back)
		}
	}
	select {
	case m := <-downOnly.got:
		t.Errorf("a channel that wants only down and up got %q", m)
	case m := <-all.got:
		t.Errorf("a redelivered location event was sent again: %q", m)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestDeliveryContinuesTheEventsTrace: the send of a queued delivery
// carries the traceparent of the routing that queued it (the trace of the
// check), and is recorded as a span of that trace.
func TestDeliveryContinuesTheEventsTrace(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(t, func(o *channels.Options) { o.Tracer = tp.Tracer("test") })
	var mu sync.Mutex
	var headers []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		headers = append(headers, r.Header.Get("traceparent"))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	f.slack(t, "ops", srv.URL+"/hook", nil)
	f.addSite(3, func(s *site.Site) { s.Name = "shop" })

	ctx, span := tp.Tracer("test").Start(context.Background(), "check")
	if err := f.svc.Route(ctx, channels.Event{ID: "traced", Site: siteRef(3), Kind: notify.EventDown, At: time.Now(), Seq: 1}); err != nil {
		t.Fatal(err)
	}
	span.End()
	traceID := span.SpanContext().TraceID()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(headers)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook got nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(headers[0], traceID.String()) {
		t.Fatalf("the send's traceparent %q is not in the check's trace %s", headers[0], traceID)
	}
	// The span ends once the send is settled, just after the answer.
	for {
		for _, s := range rec.Ended() {
			if s.Name() == "channels.deliver" && s.SpanContext().TraceID() == traceID {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no channels.deliver span in the check's trace")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDeletedSiteNotNotified: a site deleted while its alert waits for a
// retry is not notified; its rows leave the queue.
func TestDeletedSiteNotNotified(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	h := newHook(t)
	var failing sync.Mutex
	failing.Lock()
	h.answer = func(_ int, w http.ResponseWriter) bool {
		if failing.TryLock() {
			failing.Unlock()
			return false
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	c := f.slack(t, "ops", h.URL, nil)
	f.addSite(5, nil)
	f.route(t, 5, notify.EventDown)
	waitAttempts(t, h, 1)
	f.sites.mu.Lock()
	delete(f.sites.sites, 5)
	f.sites.mu.Unlock()
	failing.Unlock() // the next attempt would be accepted
	waitStatus(t, f, c.ID, func(s channels.Status) bool { return s.Pending == 0 })
	select {
	case m := <-h.got:
		t.Fatalf("a deleted site was notified: %q", m)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestEventWaitsForItsPredecessor: an event whose predecessor is not
// routed yet is handed back (another replica is routing it) and routed
// after it, so the channel tells them in order; an event whose
// predecessor never comes goes once it has waited OrderWait.
func TestEventWaitsForItsPredecessor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *channels.Options) { o.OrderWait = time.Minute })
	h := newHook(t)
	f.slack(t, "ops", h.URL, nil)
	f.addSite(8, nil)
	ctx := context.Background()
	route := func(id string, k notify.Event, seq int64, at time.Time) error {
		return f.svc.Route(ctx, channels.Event{ID: id, Site: siteRef(8), Kind: k, At: at, Seq: seq})
	}
	now := time.Now()
	if err := route("d1", notify.EventDown, 1, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.next(t), "is down!*") {
		t.Fatal("the first down was not told")
	}
	// seq 3 before seq 2: handed back, nothing queued.
	if err := route("d3", notify.EventDown, 3, now); err == nil || !strings.Contains(err.Error(), "waits for event 2") {
		t.Fatalf("seq 3 before 2 = %v, want it handed back", err)
	}
	if err := route("u2", notify.EventUp, 2, now); err != nil {
		t.Fatal(err)
	}
	if err := route("d3", notify.EventDown, 3, now); err != nil { // the broker's next delivery
		t.Fatal(err)
	}
	if a, b := h.next(t), h.next(t); !strings.Contains(a, "is back up.*") || !strings.Contains(b, "is down!*") {
		t.Fatalf("got %q then %q, want up then down", a, b)
	}
	// seq 5 whose predecessor 4 never comes: it goes once it has waited.
	if err := route("u5", notify.EventUp, 5, now.Add(-2*time.Minute)); err != nil {
		t.Fatalf("an event that waited out its predecessor = %v", err)
	}
	if got := h.next(t); !strings.Contains(got, "is back up.*") {
		t.Fatalf("got %q", got)
	}
	if err := route("d4", notify.EventDown, 4, now); err != nil {
		t.Fatal(err) // stale now: dropped without an error
	}
	select {
	case m := <-h.got:
		t.Fatalf("a stale event was told: %q", m)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestDeletedSiteForgetsItsSequences: the router's memory of a site's last
// routed events (route_seqs) goes with the site, so the table stays bounded
// by the sites that exist.
func TestDeletedSiteForgetsItsSequences(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	h := newHook(t)
	f.slack(t, "ops", h.URL, nil)
	ctx := context.Background()
	for _, id := range []int64{9, 10} {
		f.addSite(id, nil)
		if err := f.svc.Route(ctx, channels.Event{ID: fmt.Sprint("down-", id), Site: siteRef(id), Kind: notify.EventDown, At: time.Now(), Seq: 1}); err != nil {
			t.Fatal(err)
		}
		h.next(t)
	}
	count := func(id int64) int {
		var n int
		if err := f.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM route_seqs WHERE site_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count(9) != 1 || count(10) != 1 {
		t.Fatalf("route_seqs rows before the deletion: site 9 %d, site 10 %d; want 1 each", count(9), count(10))
	}
	if err := f.svc.ForgetSite(ctx, 9); err != nil {
		t.Fatal(err)
	}
	if count(9) != 0 || count(10) != 1 {
		t.Fatalf("route_seqs rows after deleting site 9: site 9 %d, site 10 %d; want 0 and 1", count(9), count(10))
	}
}
