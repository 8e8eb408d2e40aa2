package e2e

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/site"
)

// BenchmarkTransitionToSlack measures the latency of a notification: from
// the commit of a check that changed a site's state (Monitor.AfterCommit)
// to the fake Slack webhook receiving the message, through the outbox
// relay, the embedded JetStream broker and the slack subscription. Each
// iteration flips the target between 200 and 500 and checks it once. It
// reports the median and 99th percentile in milliseconds.
func BenchmarkTransitionToSlack(b *testing.B) {
	cfg := apptest.Config(b)
	cfg.NATSURL = "" // always the embedded broker, in cfg.DataDir

	// A fake Slack that stamps each message on arrival.
	received := make(chan time.Time, 16)
	slackURL := apptest.NewHandlerServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var msg struct{ Text string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&msg); err != nil || msg.Text == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		received <- at
		_, _ = io.WriteString(w, "ok")
	}))
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slackURL+"/services/T000/B000/XXXXXXXX")

	var (
		mu       sync.Mutex
		commitAt time.Time
	)
	hooks := app.Hooks{}
	hooks.Monitor.AfterCommit = func(int64) {
		mu.Lock()
		commitAt = time.Now()
		mu.Unlock()
	}
	m := apptest.Start(b, cfg, hooks)
	c := apptest.Client{Base: m.URL(), TB: b}
	target := apptest.NewTarget(b)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`"}`, nil)
	apptest.Eventually(b, 10*time.Second, "the new site's first check", func() bool {
		var st struct{ Sites map[string]any }
		c.JSON("GET", "/status", "", &st)
		return len(st.Sites) == 1
	})
	ctx := context.Background()
	st, err := m.Site.Get(ctx, &site.GetParams{ID: 1})
	if err != nil {
		b.Fatal(err)
	}

	lat := make([]time.Duration, 0, b.N)
	up := true
	b.ResetTimer()
	for range b.N {
		up = !up
		if up {
			target.SetStatus(http.StatusOK)
		} else {
			target.SetStatus(http.StatusInternalServerError)
		}
		res, err := m.Monitor.CheckSite(ctx, st)
		if err != nil {
			b.Fatal(err)
		}
		if res.Up != up {
			b.Fatalf("check up = %v, want %v", res.Up, up)
		}
		mu.Lock()
		committed := commitAt
		mu.Unlock()
		select {
		case at := <-received:
			lat = append(lat, at.Sub(committed))
		case <-time.After(10 * time.Second):
			b.Fatal("no Slack message within 10s of a transition")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(msOf(latencyPercentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(msOf(latencyPercentile(lat, 0.99)), "p99-ms")
}

// latencyPercentile returns the p-quantile (nearest rank) of sorted durations.
func latencyPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// msOf returns d in milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
