package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestSlackNotifyTutorialStep checks the tutorial's test step,
// `curl localhost:4000/slack.Notify -d '{"Text": "Testing Slack webhook"}'`:
// from loopback it posts the text and answers 200 {}; no other path or
// method reaches the webhook.
func TestSlackNotifyTutorialStep(t *testing.T) {
	t.Parallel()
	slack := apptest.NewSlack(t)
	cfg := apptest.Config(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	body := `{"text":"*https://forged.example is down!*"}`
	for _, path := range []string{"/notify", "/Notify", "/slack/notify", "/slack/Notify", "/slack/notify/", "/api/slack/notify"} {
		for _, method := range []string{"POST", "GET", "PUT"} {
			if status, answer := c.Do(method, path, body); status != 404 && status != 405 {
				t.Errorf("%s %s = %d %s, want 404 or 405", method, path, status, answer)
			}
		}
	}
	if status, answer := c.Do("GET", "/slack.Notify", ""); status != 404 && status != 405 {
		t.Errorf("GET /slack.Notify = %d %s", status, answer)
	}
	if n := slack.Requests(); n != 0 {
		t.Fatalf("%d requests reached the webhook: %q", n, slack.Messages())
	}
	status, answer := c.Do("POST", "/slack.Notify", `{"Text": "Testing Slack webhook"}`)
	if status != 200 || strings.TrimSpace(answer) != "{}" {
		t.Fatalf("POST /slack.Notify = %d %s, want 200 {}", status, answer)
	}
	if got := slack.WaitFor(1, 10*time.Second); len(got) != 1 || got[0] != "Testing Slack webhook" {
		t.Fatalf("webhook got %q", got)
	}
}

// With tokens configured, /slack.Notify needs a read-write token, even
// from loopback.
func TestSlackNotifyNeedsWriteToken(t *testing.T) {
	t.Parallel()
	slack := apptest.NewSlack(t)
	cfg := apptest.Config(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	cfg.APITokens, cfg.ReadTokens = []string{"rw-token-0123456789abcdef"}, []string{"ro-token-0123456789abcdef"}
	m := apptest.Start(t, cfg, app.Hooks{})
	post := func(tok string) int {
		req, _ := http.NewRequest("POST", m.URL()+"/slack.Notify", strings.NewReader(`{"Text":"hi"}`))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(""); s != 401 && s != 403 {
		t.Errorf("no token: %d", s)
	}
	if s := post("ro-token-0123456789abcdef"); s != 403 {
		t.Errorf("read-only token: %d", s)
	}
	if n := slack.Requests(); n != 0 {
		t.Fatalf("refused requests reached the webhook: %q", slack.Messages())
	}
	if s := post("rw-token-0123456789abcdef"); s != 200 {
		t.Errorf("read-write token: %d", s)
	}
}
