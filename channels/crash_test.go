package channels_test

import (
	"strings"
	"testing"
	"time"

	"upmon/channels"
	"upmon/notify"
)

// A replica stops after the service accepted a message and before the
// delivery left the queue: another replica (which learns of the channel
// from the database) sends it again once the lease runs out. That is the
// one duplicate; nothing is lost.
func TestReplicaDiesAfterAcceptanceSendsOnceMore(t *testing.T) {
	dead := make(chan struct{})
	f := newFixture(t, func(o *channels.Options) {
		o.Lease = 300 * time.Millisecond
		o.Hooks.AfterSend = func(int64) { <-dead }
	})
	t.Cleanup(func() { close(dead) }) // before the services stop
	h := newHook(t)
	c := f.slack(t, "ops", h.URL, nil)
	f.addSite(1, nil)
	f.route(t, 1, notify.EventDown)
	if got := h.next(t); !strings.Contains(got, "is down") {
		t.Fatalf("first = %q", got)
	}
	f.replica(t, nil)
	if got := h.next(t); !strings.Contains(got, "is down") {
		t.Fatalf("second = %q", got)
	}
	waitStatus(t, f, c.ID, func(s channels.Status) bool { return s.Pending == 0 })
	if n := h.attempts(); n != 2 {
		t.Fatalf("%d sends, want 2 (the original and one duplicate)", n)
	}
}

// Two replicas serving one channel send each message once.
func TestTwoReplicasSendEachMessageOnce(t *testing.T) {
	f := newFixture(t, nil)
	f.replica(t, nil)
	h := newHook(t)
	f.slack(t, "ops", h.URL, func(p *channels.Fields) { p.GroupAfter = ptr(10000) })
	for i := int64(1); i <= 50; i++ {
		f.addSite(i, nil)
		f.route(t, i, notify.EventDown)
	}
	seen := map[string]bool{}
	for range 50 {
		got := h.next(t)
		if seen[got] {
			t.Fatalf("sent twice: %q", got)
		}
		seen[got] = true
	}
	f.route(t, 1, notify.EventUp) // a marker: once it arrives, nothing else is on its way
	if got := h.next(t); !strings.Contains(got, "back up") {
		t.Fatalf("after the 50 downs: %q", got)
	}
	if n := h.attempts(); n != 51 {
		t.Fatalf("%d sends, want 51", n)
	}
}
