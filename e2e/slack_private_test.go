package e2e

import (
	"testing"

	"upmon/internal/app"
	"upmon/internal/app/apptest"
)

// TestSlackNotifyIsPrivate checks that the slack service's Notify endpoint
// cannot be reached over HTTP: nothing posted from outside the process
// reaches the webhook.
func TestSlackNotifyIsPrivate(t *testing.T) {
	t.Parallel()
	slack := apptest.NewSlack(t)
	cfg := apptest.Config(t)
	cfg.Env = append(cfg.Env, "SLACK_WEBHOOK_URL="+slack.URL)
	m := apptest.Start(t, cfg, app.Hooks{})
	c := apptest.Client{Base: m.URL(), TB: t}
	body := `{"text":"*https://forged.example is down!*"}`
	for _, path := range []string{"/notify", "/Notify", "/slack/notify", "/slack/Notify", "/slack.Notify", "/slack/notify/", "/api/slack/notify"} {
		for _, method := range []string{"POST", "GET", "PUT"} {
			if status, answer := c.Do(method, path, body); status != 404 && status != 405 {
				t.Errorf("%s %s = %d %s, want 404 or 405", method, path, status, answer)
			}
		}
	}
	if n := slack.Requests(); n != 0 {
		t.Fatalf("%d requests reached the webhook from outside: %q", n, slack.Messages())
	}
}
