// Package ntfy is the ntfy kind of notification channel: a message
// published to a topic on ntfy.sh or a self-hosted ntfy server.
package ntfy

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/push/ntfy"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "ntfy"

// DefaultAPIURL is the public ntfy server.
const DefaultAPIURL = "https://ntfy.sh"

// Settings are an ntfy channel's settings.
type Settings struct {
	// Topic is the topic to publish to. On a public server whoever knows
	// it can read it, so it is a secret.
	Topic string `json:"topic"`
	// Token is an access token, sent as a Bearer token (optional, secret).
	Token string `json:"token,omitempty"`
	// Username and Password authenticate with Basic auth instead
	// (optional; the password is secret).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Priority overrides the priority (1 min … 5 max); 0 picks it from
	// the event: 4 for down, 3 otherwise.
	Priority int `json:"priority,omitempty"`
	// APIURL is the server; default DefaultAPIURL.
	APIURL string `json:"api_url,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if err := notify.Required("topic", s.Topic); err != nil {
		return err
	}
	if strings.ContainsAny(s.Topic, "/?#") {
		return notify.Fieldf("topic", "must be a single topic name")
	}
	if s.Priority < 0 || s.Priority > 5 {
		return notify.Fieldf("priority", "must be between 1 and 5 (0: by event)")
	}
	if s.Token != "" && s.Username != "" {
		return notify.Fieldf("token", "cannot be combined with username and password")
	}
	if s.Username != "" && s.Password == "" {
		return notify.Fieldf("password", "is required with username")
	}
	return notify.CheckURL("api_url", s.APIURL, true)
}

// Kind returns the ntfy kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "ntfy",
		Secrets:  []notify.Secret{{Name: "topic"}, {Name: "token"}, {Name: "password"}},
		Schemes:  []string{"ntfy"},
		Defaults: func() *Settings { return &Settings{APIURL: DefaultAPIURL} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses ntfy://[user:password@]host[:port]/topic[?scheme=http&priority=…].
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.Topic == "" {
		return nil, notify.Fieldf("url", "is not a valid ntfy URL (ntfy://[user:password@]host/topic)")
	}
	scheme := c.Scheme
	if scheme != "http" {
		scheme = "https"
	}
	if c.DisableTLS {
		scheme = "http"
	}
	s := &Settings{Topic: strings.Trim(c.Topic, "/"), APIURL: scheme + "://" + c.Host, Priority: int(c.Priority)}
	if c.Username != "" {
		s.Username, s.Password = c.Username, c.Password
	} else if c.Password != "" {
		s.Token = c.Password
	}
	if s.Priority == 3 {
		s.Priority = 0 // shoutrrr's "default": pick by event
	}
	return s, nil
}

// Channel publishes to one topic.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// Send publishes m with POST /<topic>: the details as the body, the
// subject in Title, and Priority, Tags and Click headers.
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	h := http.Header{}
	// Non-ASCII header values are sent RFC 2047-encoded, which ntfy reads.
	h.Set("Title", mime.BEncoding.Encode("utf-8", notify.Subject(m)))
	h.Set("Priority", strconv.Itoa(c.priority(m)))
	h.Set("Tags", strings.Join(tags(m), ","))
	if m.IncidentLink != "" {
		h.Set("Click", m.IncidentLink)
	}
	switch {
	case c.s.Token != "":
		h.Set("Authorization", "Bearer "+c.s.Token)
	case c.s.Username != "":
		r, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
		r.SetBasicAuth(c.s.Username, c.s.Password)
		h.Set("Authorization", r.Header.Get("Authorization"))
	}
	// Above 4096 bytes ntfy turns the body into an attachment.
	body := notify.Truncate(strings.Join(notify.Details(m), "\n"), 1000)
	if body == "" {
		body = notify.Subject(m)
	}
	_, err := c.http.Do(ctx, Name, notify.Request{
		URL: notify.JoinURL(c.s.APIURL, url.PathEscape(c.s.Topic)), Header: h, Body: []byte(body),
		ContentType: "text/plain; charset=utf-8", Secrets: []string{c.s.Topic, c.s.Token, c.s.Password},
	})
	return err
}

func (c *Channel) priority(m notify.Message) int {
	if c.s.Priority > 0 {
		return c.s.Priority
	}
	if notify.Severity(m) == "critical" {
		return 4
	}
	return 3
}

// tags are ntfy tags; those naming an emoji show as one.
func tags(m notify.Message) []string {
	var t []string
	switch notify.Severity(m) {
	case "critical":
		t = append(t, "rotating_light")
	case "warning":
		t = append(t, "warning")
	default:
		t = append(t, "white_check_mark")
	}
	t = append(t, "upmon")
	if m.Test {
		t = append(t, "test")
	}
	return t
}
