// Package teams is the Microsoft Teams kind of notification channel: an
// Adaptive Card posted to a Teams workflow (Power Automate) webhook, the
// successor of the retired Office 365 connectors.
package teams

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "teams"

// Settings are a Teams channel's settings.
type Settings struct {
	// WebhookURL is the workflow's "When a Teams webhook request is
	// received" URL; its sig query parameter is the credential (secret).
	WebhookURL string `json:"webhook_url"`
}

// Validate checks the settings.
func (s *Settings) Validate() error { return notify.CheckURL("webhook_url", s.WebhookURL, true) }

// Kind returns the Teams kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Microsoft Teams",
		Secrets:  []notify.Secret{{Name: "webhook_url", Form: notify.SecretURL}},
		Schemes:  []string{"teams"},
		Defaults: func() *Settings { return &Settings{} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses teams://?host=<workflow webhook URL, query-escaped>, the
// workflow form of shoutrrr's Teams URL. It is parsed here: the released
// shoutrrr parser (v0.13) knows only the legacy Office 365 connector form
// (teams://group@tenant/altId/groupOwner/extraId), whose webhooks
// Microsoft retired; that form is refused with a field error.
func FromURL(u *url.URL) (*Settings, error) {
	host := u.Query().Get("host")
	if u.User != nil || strings.Trim(u.Path, "/") != "" {
		return nil, notify.Fieldf("url", "is a legacy Office 365 connector URL; create a Teams workflow webhook and use teams://?host=<its URL>")
	}
	if err := notify.CheckURL("url", host, true); err != nil {
		return nil, notify.Fieldf("url", "is not a valid Teams URL (teams://?host=<workflow webhook URL>)")
	}
	return &Settings{WebhookURL: host}, nil
}

// Channel posts to one workflow.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// Build returns the workflow message of m: one Adaptive Card attachment.
func Build(m notify.Message) map[string]any {
	color := "Good"
	switch notify.Severity(m) {
	case "critical":
		color = "Attention"
	case "warning":
		color = "Warning"
	}
	body := []map[string]any{{
		"type": "TextBlock", "text": notify.Subject(m), "weight": "Bolder", "size": "Medium", "wrap": true, "color": color,
	}}
	for _, line := range notify.Details(m) {
		body = append(body, map[string]any{"type": "TextBlock", "text": line, "wrap": true, "spacing": "None"})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if m.IncidentLink != "" {
		card["actions"] = []map[string]any{{"type": "Action.OpenUrl", "title": "Open incident", "url": m.IncidentLink}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	}
}

// Send posts m's card. A workflow answers 202 Accepted.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	body, err := json.Marshal(Build(m))
	if err != nil {
		return notify.Permanent(err)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{URL: c.s.WebhookURL, Body: body, Secrets: notify.URLSecrets(c.s.WebhookURL)})
	return err
}
