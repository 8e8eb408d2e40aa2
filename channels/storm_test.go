package channels_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"upmon/channels"
	"upmon/notify"
)

// A slow channel: the first message goes at once and alone; the 29 that
// queue behind it go as one grouped message listing every site.
func TestStormGroupsWaitingMessages(t *testing.T) {
	f := newFixture(t, nil)
	h := newHook(t)
	release := make(chan struct{})
	h.answer = func(n int, w http.ResponseWriter) bool {
		if n == 0 {
			<-release
		}
		return false
	}
	f.slack(t, "slow", h.URL, func(p *channels.Fields) { p.Concurrency = ptr(1) })
	for i := int64(1); i <= 30; i++ {
		f.addSite(i, nil)
	}
	f.route(t, 1, notify.EventDown)
	waitAttempts(t, h, 1) // the first is being sent, not held back
	for i := int64(2); i <= 30; i++ {
		f.route(t, i, notify.EventDown)
	}
	close(release)
	if first := h.next(t); !strings.Contains(first, "site1.example is down") || strings.Contains(first, "sites changed") {
		t.Fatalf("first = %q", first)
	}
	group := h.next(t)
	if !strings.Contains(group, "29 sites changed state") {
		t.Fatalf("second = %q, want a grouped message", group)
	}
	for i := 2; i <= 30; i++ {
		if !strings.Contains(group, "site"+itoa(int64(i))+".example: down") {
			t.Fatalf("site %d missing from the group:\n%s", i, group)
		}
	}
	if n := h.attempts(); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}

// A channel that keeps up never groups: one message per change.
func TestChannelThatKeepsUpNeverGroups(t *testing.T) {
	f := newFixture(t, nil)
	h := newHook(t)
	f.slack(t, "fast", h.URL, func(p *channels.Fields) { p.GroupAfter = ptr(2) })
	for i := int64(1); i <= 20; i++ {
		f.addSite(i, nil)
		f.route(t, i, notify.EventDown)
		if got := h.next(t); strings.Contains(got, "sites changed") {
			t.Fatalf("grouped: %q", got)
		}
	}
}

// A site's up never overtakes its down, even when the down is retried.
func TestOrderPerSiteHoldsAcrossRetries(t *testing.T) {
	f := newFixture(t, func(o *channels.Options) {
		o.Retry = channels.Retry{MinBackoff: 300 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 5}
	})
	h := newHook(t)
	h.answer = func(n int, w http.ResponseWriter) bool {
		if n == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	f.slack(t, "ops", h.URL, nil)
	f.addSite(1, nil)
	f.route(t, 1, notify.EventDown)
	waitAttempts(t, h, 1)
	f.route(t, 1, notify.EventUp)
	if got := h.next(t); !strings.Contains(got, "is down") {
		t.Fatalf("first delivered = %q, want the down", got)
	}
	if got := h.next(t); !strings.Contains(got, "is back up") {
		t.Fatalf("second delivered = %q, want the up", got)
	}
}
