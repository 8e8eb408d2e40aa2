package channels_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/channels"
	"upmon/notify"
)

// TestRetryAfterPausesTheWholeChannel: a 429 with Retry-After for one
// site's message holds back the channel's other messages too, not only
// the refused one's retry. Site 2's down is routed right after site 1's
// message was refused; without the pause it would go at the next poll
// (50 ms), with it no message is accepted before the pause ends.
func TestRetryAfterPausesTheWholeChannel(t *testing.T) {
	const pause = 2 * time.Second
	f := newFixture(t, nil)
	h := newHook(t)
	var (
		mu      sync.Mutex
		refused time.Time
	)
	h.answer = func(n int, w http.ResponseWriter) bool {
		if n == 0 {
			mu.Lock()
			refused = time.Now()
			mu.Unlock()
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	}
	c := f.slack(t, "ops", h.URL, nil)
	f.addSite(1, nil)
	f.addSite(2, nil)
	f.route(t, 1, notify.EventDown)
	// Wait for the refusal to be recorded (the pause is set with it).
	waitStatus(t, f, c.ID, func(s channels.Status) bool { return strings.Contains(s.LastError, "429") })
	f.route(t, 2, notify.EventDown)
	got := map[string]bool{}
	for range 2 {
		text := h.next(t)
		at := time.Now()
		mu.Lock()
		early := refused.Add(pause - 200*time.Millisecond).After(at)
		mu.Unlock()
		if early {
			t.Fatalf("%q accepted %v after the 429, inside the channel's %v pause", text, at.Sub(refused), pause)
		}
		for _, s := range []string{"site1.example", "site2.example"} {
			if strings.Contains(text, s) {
				got[s] = true
			}
		}
	}
	if !got["site1.example"] || !got["site2.example"] {
		t.Fatalf("accepted messages cover %v, want both sites", got)
	}
}
