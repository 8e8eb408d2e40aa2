// Package pushover is the Pushover kind of notification channel: a
// message sent through Pushover's Message API.
package pushover

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/push/pushover"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "pushover"

// DefaultAPIURL is Pushover's API.
const DefaultAPIURL = "https://api.pushover.net"

// Settings are a Pushover channel's settings.
type Settings struct {
	// Token is the application's API token (secret).
	Token string `json:"token"`
	// UserKey is the user or group key to notify (secret).
	UserKey string `json:"user_key"`
	// Device limits delivery to one of the user's devices (optional).
	Device string `json:"device,omitempty"`
	// Priority overrides the priority (-2 … 1); null picks it from the
	// event: 1 for down, 0 otherwise. Emergency priority (2) is not
	// offered: it needs acknowledgement handling.
	Priority *int `json:"priority,omitempty"`
	// Sound overrides the sound (optional).
	Sound string `json:"sound,omitempty"`
	// APIURL is the API's base URL; default DefaultAPIURL.
	APIURL string `json:"api_url,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if s.Priority != nil && (*s.Priority < -2 || *s.Priority > 1) {
		return notify.Fieldf("priority", "must be between -2 and 1")
	}
	return notify.First(notify.Required("token", s.Token), notify.Required("user_key", s.UserKey), notify.CheckURL("api_url", s.APIURL, true))
}

// Kind returns the Pushover kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "Pushover",
		Secrets:  []notify.Secret{{Name: "token"}, {Name: "user_key"}},
		Schemes:  []string{"pushover"},
		Defaults: func() *Settings { return &Settings{APIURL: DefaultAPIURL} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses pushover://shoutrrr:token@userKey/?devices=d&priority=p.
// One device at most.
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.Token == "" || c.User == "" {
		return nil, notify.Fieldf("url", "is not a valid Pushover URL (pushover://shoutrrr:token@userKey/)")
	}
	if len(c.Devices) > 1 {
		return nil, notify.Fieldf("url", "must name one device at most")
	}
	s := &Settings{Token: c.Token, UserKey: c.User, APIURL: DefaultAPIURL}
	if len(c.Devices) == 1 {
		s.Device = c.Devices[0]
	}
	if u.Query().Has("priority") {
		p := int(c.Priority)
		s.Priority = &p
	}
	return s, nil
}

// Channel sends to one user or group.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// Pushover's limits.
const (
	maxTitle   = 250
	maxMessage = 1024
)

// Send posts m to /1/messages.json as a form.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	msg := strings.Join(notify.Details(m), "\n")
	if msg == "" {
		msg = notify.Subject(m)
	}
	f := url.Values{
		"token":    {c.s.Token},
		"user":     {c.s.UserKey},
		"title":    {notify.Truncate(notify.Subject(m), maxTitle)},
		"message":  {notify.Truncate(msg, maxMessage)},
		"priority": {strconv.Itoa(c.priority(m))},
	}
	if !m.Time.IsZero() {
		f.Set("timestamp", strconv.FormatInt(m.Time.Unix(), 10))
	}
	if m.IncidentLink != "" {
		f.Set("url", m.IncidentLink)
		f.Set("url_title", "Open incident")
	}
	if c.s.Device != "" {
		f.Set("device", c.s.Device)
	}
	if c.s.Sound != "" {
		f.Set("sound", c.s.Sound)
	}
	_, err := c.http.Do(ctx, Name, notify.Request{
		URL: notify.JoinURL(c.s.APIURL, "1/messages.json"), Body: []byte(f.Encode()),
		ContentType: "application/x-www-form-urlencoded", Secrets: []string{c.s.Token, c.s.UserKey},
	})
	return err
}

func (c *Channel) priority(m notify.Message) int {
	if c.s.Priority != nil {
		return *c.s.Priority
	}
	if notify.Severity(m) == "critical" {
		return 1
	}
	return 0
}
