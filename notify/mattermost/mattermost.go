// Package mattermost is the Mattermost kind of notification channel: a
// message posted to a Mattermost incoming webhook.
package mattermost

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/chat/mattermost"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "mattermost"

// Settings are a Mattermost channel's settings.
type Settings struct {
	// WebhookURL is the incoming webhook, https://host/hooks/{key}
	// (secret).
	WebhookURL string `json:"webhook_url"`
	// Channel overrides the webhook's channel (optional).
	Channel string `json:"channel,omitempty"`
	// Username overrides its user name (optional; needs the server's
	// "enable integrations to override usernames").
	Username string `json:"username,omitempty"`
	// IconURL overrides its icon (optional).
	IconURL string `json:"icon_url,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	return notify.First(notify.CheckURL("webhook_url", s.WebhookURL, true), notify.CheckURL("icon_url", s.IconURL, false))
}

// Kind returns the Mattermost kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Mattermost",
		Secrets:  []notify.Secret{{Name: "webhook_url", Form: notify.SecretURL}},
		Schemes:  []string{"mattermost"},
		Defaults: func() *Settings { return &Settings{} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses mattermost://[user@]host[:port]/token[/channel][?disabletls=yes].
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.Host == "" || c.Token == "" {
		return nil, notify.Fieldf("url", "is not a valid Mattermost URL (mattermost://host/token[/channel])")
	}
	scheme := "https"
	if c.DisableTLS {
		scheme = "http"
	}
	s := &Settings{WebhookURL: scheme + "://" + c.Host + "/hooks/" + url.PathEscape(c.Token), Channel: c.Channel, Username: c.UserName}
	if strings.HasPrefix(c.Icon, "http") {
		s.IconURL = c.Icon
	}
	return s, nil
}

// Channel posts to one webhook.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

type payload struct {
	Text     string `json:"text"`
	Channel  string `json:"channel,omitempty"`
	Username string `json:"username,omitempty"`
	IconURL  string `json:"icon_url,omitempty"`
}

// Text is m in Mattermost's Markdown: the subject in bold, then details.
func Text(m notify.Message) string {
	lines := append([]string{"**" + notify.Subject(m) + "**"}, notify.Details(m)...)
	return strings.Join(lines, "\n")
}

// Send posts m. Mattermost answers 200 "ok".
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	body, err := json.Marshal(payload{Text: Text(m), Channel: c.s.Channel, Username: c.s.Username, IconURL: c.s.IconURL})
	if err != nil {
		return notify.Permanent(err)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{URL: c.s.WebhookURL, Body: body, Secrets: notify.URLSecrets(c.s.WebhookURL)})
	return err
}
