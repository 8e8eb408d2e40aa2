package channels_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/channels"
	"upmon/notify"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRemindersUntilAcknowledged(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixture(t, func(o *channels.Options) { o.Now = clk.now; o.RemindTick = time.Hour })
	h := newHook(t)
	f.slack(t, "ops", h.URL, func(p *channels.Fields) { p.RemindEvery = ptr("1h") })
	f.addSite(1, nil)
	ctx := context.Background()
	if err := f.svc.Route(ctx, channels.Event{ID: "d1", Site: siteRef(1), Kind: notify.EventDown, At: clk.now(), Reason: "HTTP 503"}); err != nil {
		t.Fatal(err)
	}
	h.next(t)
	if n, err := f.svc.Remind(ctx); err != nil || n != 0 {
		t.Fatalf("Remind too early = %d, %v", n, err)
	}
	clk.add(80 * time.Minute)
	if n, err := f.svc.Remind(ctx); err != nil || n != 1 {
		t.Fatalf("Remind = %d, %v", n, err)
	}
	if got := h.next(t); !strings.Contains(got, "Still down after 1h 20m") {
		t.Fatalf("reminder = %q", got)
	}
	alerts, err := f.svc.SiteAlerts(ctx, &channels.SiteAlertsParams{SiteID: 1})
	if err != nil || len(alerts.Alerts) != 1 {
		t.Fatalf("alerts %+v, %v", alerts, err)
	}
	if _, err := f.svc.Ack(ctx, &channels.AckParams{SiteID: 1, Incident: alerts.Alerts[0].Incident}); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Hour)
	if n, err := f.svc.Remind(ctx); err != nil || n != 0 {
		t.Fatalf("Remind after ack = %d, %v", n, err)
	}
	if _, err := f.svc.Ack(ctx, &channels.AckParams{SiteID: 1, Incident: "123"}); err == nil {
		t.Fatal("ack of an unknown incident succeeded")
	}
}

func TestPruneForgetsOldRoutedEvents(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixture(t, func(o *channels.Options) { o.Now = clk.now; o.RemindTick = time.Hour })
	f.addSite(1, nil)
	ctx := context.Background()
	if err := f.svc.Route(ctx, channels.Event{ID: "old", Site: siteRef(1), Kind: notify.EventDown, At: clk.now()}); err != nil {
		t.Fatal(err)
	}
	clk.add(channels.RoutedRetention - time.Minute)
	if err := f.svc.Route(ctx, channels.Event{ID: "new", Site: siteRef(1), Kind: notify.EventUp, At: clk.now()}); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Minute)
	if err := f.svc.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, err := f.db.QueryContext(ctx, `SELECT event_id FROM routed_events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	if len(ids) != 1 || ids[0] != "new" {
		t.Fatalf("routed events after prune = %q, want [new]", ids)
	}
}
