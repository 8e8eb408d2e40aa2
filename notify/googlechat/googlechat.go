// Package googlechat is the Google Chat kind of notification channel: a
// text message posted to a space's incoming webhook.
package googlechat

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/chat/googlechat"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "googlechat"

// Settings are a Google Chat channel's settings.
type Settings struct {
	// WebhookURL is the space's webhook,
	// https://chat.googleapis.com/v1/spaces/{space}/messages?key=…&token=…
	// (secret).
	WebhookURL string `json:"webhook_url"`
}

// Validate checks the settings.
func (s *Settings) Validate() error { return notify.CheckURL("webhook_url", s.WebhookURL, true) }

// Kind returns the Google Chat kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Google Chat",
		Secrets:  []notify.Secret{{Name: "webhook_url", Form: notify.SecretURL}},
		Schemes:  []string{"googlechat", "hangouts"},
		Defaults: func() *Settings { return &Settings{} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses googlechat://chat.googleapis.com/v1/spaces/…/messages?key=…&token=….
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.Path == "" || c.Key == "" || c.Token == "" {
		return nil, notify.Fieldf("url", "is not a valid Google Chat URL (googlechat://chat.googleapis.com/v1/spaces/…/messages?key=…&token=…)")
	}
	q := url.Values{"key": {c.Key}, "token": {c.Token}}
	return &Settings{WebhookURL: (&url.URL{Scheme: "https", Host: c.Host, Path: c.Path, RawQuery: q.Encode()}).String()}, nil
}

// Channel posts to one space.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// Text is m in Google Chat's formatting: the subject in bold, then details.
func Text(m notify.Message) string {
	return strings.Join(append([]string{"*" + notify.Subject(m) + "*"}, notify.Details(m)...), "\n")
}

// Send posts m as {"text": …}.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	body, err := json.Marshal(map[string]string{"text": Text(m)})
	if err != nil {
		return notify.Permanent(err)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{URL: c.s.WebhookURL, Body: body, ContentType: "application/json; charset=UTF-8",
		Secrets: notify.URLSecrets(c.s.WebhookURL)})
	return err
}
