package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// stormSink is a fast webhook channel's server: it records when each
// site's down first arrived, minus the check's time in the message.
type stormSink struct {
	mu       sync.Mutex
	latency  map[int64]time.Duration
	messages int
}

func (s *stormSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var doc struct {
		Site  *struct{ ID int64 } `json:"site"`
		Time  *time.Time          `json:"time"`
		Group []struct {
			Site struct{ ID int64 } `json:"site"`
			Time time.Time          `json:"time"`
		} `json:"group"`
	}
	b, _ := io.ReadAll(r.Body)
	now := time.Now()
	_ = json.Unmarshal(b, &doc)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages++
	add := func(id int64, at time.Time) {
		if _, ok := s.latency[id]; !ok {
			s.latency[id] = now.Sub(at)
		}
	}
	if doc.Site != nil && doc.Time != nil {
		add(doc.Site.ID, *doc.Time)
	}
	for _, g := range doc.Group {
		add(g.Site.ID, g.Time)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *stormSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.latency)
}

// TestChannelStorm is the 1,000-site storm of docs/performance.md: every
// site goes down at once with five channels, four fast webhooks and one
// Slack answering after 8 s. Every site must reach every channel, and the
// fast channels' p99 (from the check to the arrival) is reported. It runs
// only with UPMON_STORM=1 (about a minute).
func TestChannelStorm(t *testing.T) {
	if os.Getenv("UPMON_STORM") == "" {
		t.Skip("set UPMON_STORM=1 to run the 1,000-site channel storm")
	}
	const sites = 1000
	cfg := apptest.Config(t)
	cfg.CheckConcurrency = 64
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	var sinks []*stormSink
	for i := range 4 {
		s := &stormSink{latency: map[int64]time.Duration{}}
		sinks = append(sinks, s)
		c.JSON("POST", "/channels", fmt.Sprintf(`{"name":"fast%d","kind":"webhook","default":true,"events":["down"],"settings":{"url":"%s/hook"}}`,
			i, apptest.NewHandlerServer(t, s)), nil)
	}
	slow := &stormSink{latency: map[int64]time.Duration{}}
	slowURL := apptest.NewHandlerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // the slow service's answer time: the scenario, not a synchronisation
		case <-time.After(8 * time.Second):
		case <-r.Context().Done():
		}
		slow.mu.Lock()
		slow.messages++
		slow.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	c.JSON("POST", "/channels", `{"name":"slow","kind":"slack","default":true,"events":["down"],"settings":{"webhook_url":"`+slowURL+`/services/T/B/X"}}`, nil)
	target := apptest.NewTarget(t)
	for i := range sites {
		c.JSON("POST", "/site", fmt.Sprintf(`{"url":"%s/s%d","interval":"1h"}`, target.URL, i), nil)
	}
	apptest.Eventually(t, 60*time.Second, "every site checked", func() bool {
		var st map[string]any
		c.JSON("GET", "/status", "", &st)
		return countChecked(st) >= sites
	})
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	target.SetStatus(500)
	c.JSON("POST", "/check-all", "", nil)
	apptest.Eventually(t, 120*time.Second, "every site at every fast channel", func() bool {
		for _, s := range sinks {
			if s.count() < sites {
				return false
			}
		}
		return true
	})
	fastDone := time.Since(start)
	apptest.Eventually(t, 120*time.Second, "the slow channel drained", func() bool {
		var ch struct{ Status struct{ Pending int } }
		c.JSON("GET", "/channels/5", "", &ch)
		return ch.Status.Pending == 0
	})
	close(stop)
	<-sampled
	var all []time.Duration
	msgs := 0
	for _, s := range sinks {
		for _, d := range s.latency {
			all = append(all, d)
		}
		msgs += s.messages
	}
	slices.Sort(all)
	p := func(q float64) time.Duration { return all[int(q*float64(len(all)-1))] }
	t.Logf("storm: %d sites x 4 fast channels: p50 %v, p99 %v, max %v; %d fast messages (grouped); all fast in %v; "+
		"slow channel: %d messages, drained in %v; peak heap in use %.1f MB",
		sites, p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond), all[len(all)-1].Round(time.Millisecond), msgs,
		fastDone.Round(time.Millisecond), slow.messages, time.Since(start).Round(time.Millisecond), float64(peak)/1e6)
}

func countChecked(st map[string]any) int {
	if sites, ok := st["sites"].(map[string]any); ok {
		return len(sites)
	}
	return 0
}
