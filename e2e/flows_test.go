package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
	"upmon/platform/catalog"
	"upmon/web"
)

// TestFlowsCountFailuresAndDeadLetters: a corrupt transition (no site)
// fails in the channels router for good and is dead-lettered at once. The live stream the
// architecture page listens to says so on the arrow into
// channels-transition, the publish arrow counts the monitor's real
// transition, and the catalog counts the dead letter.
func TestFlowsCountFailuresAndDeadLetters(t *testing.T) {
	t.Parallel()
	slack := apptest.NewHandlerServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	cfg := apptest.Config(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack+"/hook")
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", m.URL()+"/frontend/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	flows := make(chan web.FlowsEvent, 64)
	go func() {
		defer close(flows)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if name, ok := strings.CutPrefix(line, "event: "); ok {
				event = name
			} else if data, ok := strings.CutPrefix(line, "data: "); ok && event == "flows" {
				var ev web.FlowsEvent
				if json.Unmarshal([]byte(data), &ev) == nil {
					select {
					case flows <- ev:
					default:
					}
				}
			}
		}
	}()

	target := apptest.NewTarget(t)
	c.JSON("POST", "/site", `{"url":"`+target.URL+`"}`, nil)
	waitChecked(t, c, "1")
	target.SetStatus(500)
	c.JSON("POST", "/check/1", "", nil)
	publishCorruptTransition(t, m, 99)

	var last map[string]string
	deadline := time.After(45 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-flows:
			if !ok {
				t.Fatalf("the stream ended; last counters %v", last)
			}
			last = ev.Edges
			sub := last["sub:channels-transition"]
			done = last["pub:monitor:uptime-transition"] == "1/min" && strings.HasSuffix(sub, " · 1 dead")
		case <-deadline:
			t.Fatalf("no flows event counted the failures and the dead letter; last counters %v", last)
		}
	}
	var cat catalog.Catalog
	c.JSON("GET", "/admin/catalog", "", &cat)
	for _, s := range cat.Services {
		for _, sub := range s.Subscriptions {
			if sub.Name == "channels-transition" && (sub.DeadLetters == nil || *sub.DeadLetters != 1) {
				t.Errorf("catalog: channels-transition has %v dead letters, want 1", sub.DeadLetters)
			}
		}
	}
}
