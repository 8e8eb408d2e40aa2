package slack_test

import (
	"strings"
	"testing"
	"time"

	"upmon/monitor"
	"upmon/site"
	"upmon/slack"
)

// TestTextsHideURLCredentials: a notification names the site by its URL
// with the password and secret query values redacted.
func TestTextsHideURLCredentials(t *testing.T) {
	ref := &site.Ref{ID: 1, URL: "https://bob:hunter2@shop.example/health?token=t0k&page=1"}
	texts := []string{
		slack.Text(&monitor.TransitionEvent{Site: ref, Up: false, Reason: "HTTP 500"}),
		slack.Text(&monitor.TransitionEvent{Site: ref, Up: true}),
		slack.DegradedText(&monitor.DegradedEvent{Site: ref, Degraded: true}),
		slack.DegradedText(&monitor.DegradedEvent{Site: ref}),
		slack.CertText(&monitor.CertExpiringEvent{Site: ref, ExpiresAt: time.Date(2027, 1, 2, 3, 4, 0, 0, time.UTC)}),
	}
	for _, txt := range texts {
		if strings.Contains(txt, "hunter2") || strings.Contains(txt, "t0k") {
			t.Errorf("notification shows a credential: %q", txt)
		}
		if !strings.Contains(txt, "shop.example/health") {
			t.Errorf("notification does not name the site: %q", txt)
		}
	}
}
