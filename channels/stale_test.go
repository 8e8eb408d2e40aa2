package channels_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"upmon/channels"
	"upmon/notify"
	"upmon/site"
)

// TestClaimAfterChangeElsewhereUsesNewSettings: a channel's webhook is
// changed through one replica while another replica's next reload of the
// channel list is an hour away. The next message that replica claims
// goes to the new webhook, not to the one it loaded.
func TestClaimAfterChangeElsewhereUsesNewSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, func(o *channels.Options) { o.Poll = time.Hour })
	old, updated := newHook(t), newHook(t)
	c := f.slack(t, "ops", old.URL, nil)
	f.addSite(1, nil)
	other := f.replica(t, nil)
	route := func(e notify.Event) {
		t.Helper()
		n := evSeq.Add(1)
		if err := other.Route(ctx, channels.Event{ID: "stale-" + jsonInt(n), Site: &site.Ref{ID: 1},
			Kind: e, At: time.Now(), Reason: "HTTP 503"}); err != nil {
			t.Fatal(err)
		}
	}
	// Routed through the other replica, which wakes only its own worker:
	// the down arriving shows that worker holds the channel as created.
	route(notify.EventDown)
	if got := old.next(t); !strings.Contains(got, "is down") {
		t.Fatalf("old webhook got %q", got)
	}
	waitStatus(t, f, c.ID, func(s channels.Status) bool { return s.Pending == 0 })

	if _, err := f.svc.Update(ctx, &channels.UpdateParams{ID: c.ID, Fields: channels.Fields{
		Settings: json.RawMessage(`{"webhook_url":"` + updated.URL + `"}`)}}); err != nil {
		t.Fatal(err)
	}
	route(notify.EventUp)
	if got := updated.next(t); !strings.Contains(got, "back up") {
		t.Fatalf("new webhook got %q", got)
	}
	if n := old.attempts(); n != 1 {
		t.Fatalf("the old webhook got %d requests, want 1 (the down only)", n)
	}
	if got := channels.StaleClaims(f.opts.Metrics); got < 1 {
		t.Fatalf("stale claims counted: %v, want at least 1", got)
	}
}
