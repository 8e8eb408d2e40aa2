// Package slack is the Slack kind of notification channel: a message
// posted to a Slack incoming webhook. Its default text is the tutorial's
// ("*<url> is down!*" / "*<url> is back up.*"), with the reason on the
// next line.
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/chat/slack"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "slack"

// Settings are a Slack channel's settings.
type Settings struct {
	// WebhookURL is the incoming webhook (secret).
	WebhookURL string `json:"webhook_url"`
	// Username overrides the webhook's display name (optional).
	Username string `json:"username,omitempty"`
	// IconEmoji overrides its icon, such as ":rotating_light:" (optional).
	IconEmoji string `json:"icon_emoji,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	return notify.CheckURL("webhook_url", s.WebhookURL, true)
}

// Kind returns the Slack kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Slack",
		Secrets:  []notify.Secret{{Name: "webhook_url", Form: notify.SecretURL}},
		Schemes:  []string{"slack"},
		Defaults: func() *Settings { return &Settings{} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses the URL form slack://hook:T…-B…-X…@webhook?botname=…&icon=…
// into settings. Only webhook tokens are accepted (an API token would
// need the chat.postMessage API, which this kind does not use).
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil {
		return nil, notify.Fieldf("url", "is not a valid Slack URL (slack://hook:T…-B…-X…@webhook)")
	}
	if c.Token.IsAPIToken() {
		return nil, notify.Fieldf("url", "must hold a webhook token (hook:…), not an API token")
	}
	s := &Settings{WebhookURL: c.Token.WebhookURL(), Username: c.BotName}
	if strings.HasPrefix(c.Icon, ":") {
		s.IconEmoji = c.Icon
	}
	return s, nil
}

// Channel posts to one webhook.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

type payload struct {
	Text      string `json:"text"`
	Username  string `json:"username,omitempty"`
	IconEmoji string `json:"icon_emoji,omitempty"`
}

// Send posts m's text. Slack answers 200 "ok"; its refusals (400
// invalid_payload, 403 action_prohibited, 404 channel_not_found, 410
// channel_is_archived) are permanent, 429 and 5xx retryable.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	body, err := json.Marshal(payload{Text: Text(m), Username: c.s.Username, IconEmoji: c.s.IconEmoji})
	if err != nil {
		return notify.Permanent(err)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{URL: c.s.WebhookURL, Body: body, Secrets: notify.URLSecrets(c.s.WebhookURL)})
	return err
}

// Text is the Slack text of m: the tutorial's first line for down and up,
// the reason on the second line; a channel template's text (m.Text) as
// given, its first line in bold.
func Text(m notify.Message) string {
	if m.Verbatim && m.Text != "" {
		return m.Text
	}
	if m.Text != "" {
		lines := strings.Split(m.Text, "\n")
		lines[0] = "*" + Escape(lines[0]) + "*"
		for i := 1; i < len(lines); i++ {
			lines[i] = Escape(lines[i])
		}
		return strings.Join(lines, "\n")
	}
	if len(m.Group) > 0 {
		lines := []string{"*" + Escape(notify.Subject(m)) + "*"}
		for _, g := range m.Group {
			lines = append(lines, Escape(notify.GroupLine(g)))
		}
		return strings.Join(lines, "\n")
	}
	u := Escape(m.URL)
	var first string
	switch m.Event {
	case notify.EventDown:
		first = fmt.Sprintf("*%s is down!*", u) + where(m)
	case notify.EventUp:
		first = fmt.Sprintf("*%s is back up.*", u) + where(m)
	case notify.EventLocationLost, notify.EventLocationBack:
		d := notify.Details(m)
		first = "*" + Escape(notify.Subject(notify.Message{Event: m.Event, Location: m.Location})) + ".*\n" + Escape(d[0])
	case notify.EventDegraded:
		first = fmt.Sprintf("*%s is degraded!*", u)
	case notify.EventRecovered:
		first = fmt.Sprintf("*%s is no longer degraded.*", u)
	case notify.EventCertExpiring:
		first = fmt.Sprintf("*The TLS certificate of %s expires %s.*\nIt expires on %s.",
			u, notify.ExpiresIn(m.CertExpiresAt, m.Time), m.CertExpiresAt.UTC().Format("2006-01-02 15:04 MST"))
	default:
		m.SiteName = ""
		first = "*" + Escape(strings.TrimPrefix(notify.Subject(m), "[test] ")) + ".*"
	}
	if m.Test {
		first = "[test] " + first
	}
	if m.Reason != "" {
		first += "\n" + Escape(strings.Join(strings.Fields(m.Reason), " "))
	}
	if m.Test {
		first += "\n_This is a test notification from upmon._"
	}
	return first
}

// where is " (2 of 3 locations: eu, us)" for a site checked from several
// locations, as the first line of a down or up names them.
func where(m notify.Message) string {
	if m.Where == "" {
		return ""
	}
	return " (" + Escape(m.Where) + ")"
}

// Escape escapes &, < and > as Slack's mrkdwn requires.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
