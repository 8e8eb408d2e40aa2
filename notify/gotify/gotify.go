// Package gotify is the Gotify kind of notification channel: a message
// pushed to a self-hosted Gotify server as an application.
package gotify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/push/gotify"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "gotify"

// Settings are a Gotify channel's settings.
type Settings struct {
	// ServerURL is the Gotify server (with its sub-path, if any).
	ServerURL string `json:"server_url"`
	// Token is the application token (secret).
	Token string `json:"token"`
	// Priority overrides the priority (0 … 10); null picks it from the
	// event: 8 for down, 5 for warnings, 4 otherwise.
	Priority *int `json:"priority,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.Priority != nil && (*s.Priority < 0 || *s.Priority > 10) {
		return notify.Fieldf("priority", "must be between 0 and 10")
	}
	return notify.First(notify.CheckURL("server_url", s.ServerURL, true), notify.Required("token", s.Token))
}

// Kind returns the Gotify kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Gotify",
		Secrets:  []notify.Secret{{Name: "token"}},
		Schemes:  []string{"gotify"},
		Defaults: func() *Settings { return &Settings{} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses gotify://host[:port][/path]/token[?priority=p&disabletls=yes].
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.Host == "" || c.Token == "" {
		return nil, notify.Fieldf("url", "is not a valid Gotify URL (gotify://host/token)")
	}
	scheme := "https"
	if c.DisableTLS {
		scheme = "http"
	}
	s := &Settings{ServerURL: scheme + "://" + c.Host + strings.TrimSuffix(c.Path, "/"), Token: c.Token}
	if u.Query().Has("priority") {
		p := c.Priority
		s.Priority = &p
	}
	return s, nil
}

// Channel pushes to one application.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

type message struct {
	Title    string         `json:"title"`
	Message  string         `json:"message"`
	Priority int            `json:"priority"`
	Extras   map[string]any `json:"extras"`
}

// Send posts m to /message with the token in X-Gotify-Key.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	msg := strings.Join(notify.Details(m), "\n")
	if msg == "" {
		msg = notify.Subject(m)
	}
	extras := map[string]any{"client::display": map[string]string{"contentType": "text/plain"}}
	if m.IncidentLink != "" {
		extras["client::notification"] = map[string]any{"click": map[string]string{"url": m.IncidentLink}}
	}
	body, err := json.Marshal(message{Title: notify.Subject(m), Message: msg, Priority: c.priority(m), Extras: extras})
	if err != nil {
		return notify.Permanent(err)
	}
	_, err = c.http.Do(ctx, Name, notify.Request{
		URL: notify.JoinURL(c.s.ServerURL, "message"), Header: http.Header{"X-Gotify-Key": {c.s.Token}},
		Body: body, Secrets: []string{c.s.Token},
	})
	return err
}

func (c *Channel) priority(m notify.Message) int {
	if c.s.Priority != nil {
		return *c.s.Priority
	}
	switch notify.Severity(m) {
	case "critical":
		return 8
	case "warning":
		return 5
	}
	return 4
}
