// Package discord is the Discord kind of notification channel: a message
// with one embed posted to a Discord webhook.
package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/chat/discord"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "discord"

// Settings are a Discord channel's settings.
type Settings struct {
	// WebhookURL is the webhook, https://discord.com/api/webhooks/{id}/{token}
	// (secret).
	WebhookURL string `json:"webhook_url"`
	// Username overrides the webhook's name (optional).
	Username string `json:"username,omitempty"`
	// AvatarURL overrides its avatar (optional).
	AvatarURL string `json:"avatar_url,omitempty"`
	// ThreadID posts into a thread of a forum or text channel (optional).
	ThreadID string `json:"thread_id,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	return notify.First(notify.CheckURL("webhook_url", s.WebhookURL, true), notify.CheckURL("avatar_url", s.AvatarURL, false))
}

// Kind returns the Discord kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Discord",
		Secrets:  []notify.Secret{{Name: "webhook_url", Form: notify.SecretURL}},
		Schemes:  []string{"discord"},
		Defaults: func() *Settings { return &Settings{} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses discord://token@webhookid?username=…&avatar=…&thread_id=….
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.WebhookID == "" || c.Token == "" {
		return nil, notify.Fieldf("url", "is not a valid Discord URL (discord://token@webhookid)")
	}
	return &Settings{
		WebhookURL: "https://discord.com/api/webhooks/" + url.PathEscape(c.WebhookID) + "/" + url.PathEscape(c.Token),
		Username:   c.Username, AvatarURL: c.Avatar, ThreadID: c.ThreadID,
	}, nil
}

// Channel posts to one webhook.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// Payload is the body Discord's "execute webhook" takes.
type Payload struct {
	// Content is the plain message (the subject).
	Content string `json:"content"`
	// Username and AvatarURL override the webhook's.
	Username  string `json:"username,omitempty"`
	AvatarURL string `json:"avatar_url,omitempty"`
	// Embeds hold the details.
	Embeds []Embed `json:"embeds"`
	// AllowedMentions is empty: a reason holding "@everyone" pings no one.
	AllowedMentions struct {
		Parse []string `json:"parse"`
	} `json:"allowed_mentions"`
}

// Embed is one Discord embed.
type Embed struct {
	// Title, Description, URL, Color and Timestamp as Discord defines them.
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	Color       int    `json:"color"`
	Timestamp   string `json:"timestamp,omitempty"`
}

// Colors of the embed's left border.
const (
	colorCritical = 0xD60510
	colorWarning  = 0xFFC441
	colorOK       = 0x2EB67D
)

// Build returns the payload of m.
func Build(m notify.Message) Payload {
	color := colorOK
	switch notify.Severity(m) {
	case "critical":
		color = colorCritical
	case "warning":
		color = colorWarning
	}
	e := Embed{Title: notify.Truncate(notify.Subject(m), 256), Description: notify.Truncate(strings.Join(notify.Details(m), "\n"), 4096),
		URL: m.IncidentLink, Color: color}
	if !m.Time.IsZero() {
		e.Timestamp = m.Time.UTC().Format(time.RFC3339)
	}
	p := Payload{Content: notify.Truncate(notify.Subject(m), 2000), Embeds: []Embed{e}}
	p.AllowedMentions.Parse = []string{}
	return p
}

// Send posts m. Discord answers 204; 429 carries Retry-After (and
// retry_after in its body).
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	p := Build(m)
	p.Username, p.AvatarURL = c.s.Username, c.s.AvatarURL
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Permanent(err)
	}
	target := c.s.WebhookURL
	if c.s.ThreadID != "" {
		u, err := url.Parse(target)
		if err != nil {
			return notify.Permanent(fmt.Errorf("%s: the webhook URL is invalid", Name))
		}
		q := u.Query()
		q.Set("thread_id", c.s.ThreadID)
		u.RawQuery = q.Encode()
		target = u.String()
	}
	_, err = c.http.Do(ctx, Name, notify.Request{URL: target, Body: body, Secrets: notify.URLSecrets(c.s.WebhookURL),
		RetryAfterFromBody: retryAfterBody})
	return err
}

// retryAfterBody reads Discord's {"retry_after": seconds} (a float).
func retryAfterBody(b []byte) (time.Duration, bool) {
	var v struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.Unmarshal(b, &v) != nil || v.RetryAfter <= 0 {
		return 0, false
	}
	return time.Duration(v.RetryAfter * float64(time.Second)), true
}
