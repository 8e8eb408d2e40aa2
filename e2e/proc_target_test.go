//go:build unix

package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/internal/app/apptest"
)

// fleetTarget is one loopback HTTP server playing many monitored sites:
// site i is the path /s/i. It logs every hit with the answer it gave.
// Flapping sites alternate between up (200) and down (503) every period,
// from Flap until Freeze; all other sites, and every site outside that
// span, answer 200. Slow sites answer after a delay, so that checks of
// them are always in flight somewhere.
type fleetTarget struct {
	// URL is the server's base URL.
	URL string

	periods map[int]time.Duration // the flapping sites
	slow    func(i int) bool
	delay   time.Duration

	mu     sync.Mutex
	start  time.Time // zero: not flapping (yet)
	frozen bool
	hits   map[int][]targetHit
}

// targetHit is one request a site received.
type targetHit struct {
	at time.Time
	up bool // the answer: 200 or 503
}

// newFleetTarget serves sites on loopback until t ends; periods maps the
// flapping sites to their half-cycle; slow sites answer after delay.
func newFleetTarget(t *testing.T, periods map[int]time.Duration, slow func(int) bool, delay time.Duration) *fleetTarget {
	t.Helper()
	f := &fleetTarget{periods: periods, slow: slow, delay: delay, hits: map[int][]targetHit{}}
	f.URL = apptest.NewHandlerServer(t, http.HandlerFunc(f.serve))
	return f
}

// SiteURL returns the URL of site i.
func (f *fleetTarget) SiteURL(i int) string { return f.URL + "/s/" + strconv.Itoa(i) }

func (f *fleetTarget) serve(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/s/"))
	if err != nil || !strings.HasPrefix(r.URL.Path, "/s/") {
		http.NotFound(w, r)
		return
	}
	now := time.Now()
	f.mu.Lock()
	up := f.upAt(i, now)
	f.hits[i] = append(f.hits[i], targetHit{at: now, up: up})
	f.mu.Unlock()
	if f.slow(i) {
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return // the checker went away (killed, or stopping)
		}
	}
	if !up {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// upAt is site i's answer at now; f.mu is held.
func (f *fleetTarget) upAt(i int, now time.Time) bool {
	p, flapping := f.periods[i]
	if !flapping || f.frozen || f.start.IsZero() || now.Before(f.start) {
		return true
	}
	return (now.Sub(f.start)/p)%2 == 0
}

// Flap starts the flapping sites' cycles at now: up for one period, then
// down for one, and so on.
func (f *fleetTarget) Flap(now time.Time) {
	f.mu.Lock()
	f.start = now
	f.mu.Unlock()
}

// Freeze makes every site answer 200 from now on.
func (f *fleetTarget) Freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

// Hits returns a copy of site i's hits, oldest first.
func (f *fleetTarget) Hits(i int) []targetHit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]targetHit(nil), f.hits[i]...)
}

// hitsIn returns the hits in [from, to).
func hitsIn(hits []targetHit, from, to time.Time) []targetHit {
	var out []targetHit
	for _, h := range hits {
		if !h.at.Before(from) && h.at.Before(to) {
			out = append(out, h)
		}
	}
	return out
}

// maxGap returns the longest time between consecutive hits in [from, to),
// counting from from and up to to, so a site whose checks stop shows it.
func maxGap(hits []targetHit, from, to time.Time) time.Duration {
	prev := from
	longest := time.Duration(0)
	for _, h := range hitsIn(hits, from, to) {
		longest = max(longest, h.at.Sub(prev))
		prev = h.at
	}
	return max(longest, to.Sub(prev))
}

// answerChanges counts how often the answers a site gave changed,
// starting from up (a new site counts as up).
func answerChanges(hits []targetHit) int {
	n, up := 0, true
	for _, h := range hits {
		if h.up != up {
			n++
			up = h.up
		}
	}
	return n
}
