// Package pagerduty is the PagerDuty kind of notification channel: events
// sent to the Events API v2. A problem (down, degraded, an expiring
// certificate, a lost location) triggers an alert; its end resolves the
// alert with the same dedup_key, derived from the site and incident ids.
package pagerduty

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	shoutrrr "github.com/nicholas-fedor/shoutrrr/pkg/services/incident/pagerduty"

	"upmon/notify"
)

// Name is the kind's name.
const Name = "pagerduty"

// DefaultAPIURL is the Events API's base URL.
const DefaultAPIURL = "https://events.pagerduty.com"

// Settings are a PagerDuty channel's settings.
type Settings struct {
	// RoutingKey is the Events API v2 integration key of a service
	// (secret).
	RoutingKey string `json:"routing_key"`
	// Severity overrides the severity of triggered alerts (critical,
	// error, warning, info); empty picks it from the event.
	Severity string `json:"severity,omitempty"`
	// APIURL is the Events API's base URL; default DefaultAPIURL.
	APIURL string `json:"api_url,omitempty"`
}

// Validate checks the settings.
func (s *Settings) Validate() error {
	if s.APIURL == "" {
		s.APIURL = DefaultAPIURL
	}
	if err := notify.Required("routing_key", s.RoutingKey); err != nil {
		return err
	}
	if len(s.RoutingKey) != 32 {
		return notify.Fieldf("routing_key", "must be the 32-character integration key")
	}
	if s.Severity != "" {
		if err := notify.OneOf("severity", s.Severity, "critical", "error", "warning", "info"); err != nil {
			return err
		}
	}
	return notify.CheckURL("api_url", s.APIURL, true)
}

// Kind returns the PagerDuty kind.
func Kind() notify.Kind {
	return notify.Define(notify.Spec[*Settings]{
		Name: Name, Title: "PagerDuty",
		Secrets:  []notify.Secret{{Name: "routing_key"}},
		Schemes:  []string{"pagerduty"},
		Defaults: func() *Settings { return &Settings{APIURL: DefaultAPIURL} },
		New:      func(s *Settings, env notify.Env) (notify.Channel, error) { return &Channel{s: *s, http: env.HTTP}, nil },
		FromURL:  FromURL,
	})
}

// FromURL parses pagerduty://[host[:port]]/integrationKey[?severity=…].
func FromURL(u *url.URL) (*Settings, error) {
	var c shoutrrr.Config
	if err := c.SetURL(u); err != nil || c.IntegrationKey == "" {
		return nil, notify.Fieldf("url", "is not a valid PagerDuty URL (pagerduty:///integrationKey)")
	}
	s := &Settings{RoutingKey: c.IntegrationKey, APIURL: DefaultAPIURL}
	if u.Host != "" {
		s.APIURL = "https://" + u.Host
	}
	if u.Query().Has("severity") {
		s.Severity = c.Severity
	}
	return s, nil
}

// Channel sends events to one PagerDuty service.
type Channel struct {
	s    Settings
	http *notify.HTTPClient
}

// Event is an Events API v2 event.
type Event struct {
	// RoutingKey, EventAction (trigger, resolve) and DedupKey as the API
	// defines them.
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"`
	Client      string   `json:"client,omitempty"`
	ClientURL   string   `json:"client_url,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Payload is a trigger's payload.
type Payload struct {
	// Summary, Source, Severity, Timestamp, Component, Class and
	// CustomDetails as the API defines them.
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	Timestamp     string            `json:"timestamp,omitempty"`
	Component     string            `json:"component,omitempty"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

// Link is a link shown on the alert.
type Link struct {
	// Href and Text of the link.
	Href string `json:"href"`
	Text string `json:"text"`
}

// Events returns the events that deliver m: a trigger for a problem, a
// resolve for its end; a test-send triggers an info event and resolves it
// at once; an acknowledgement acknowledges; a grouped message gives one
// event per site.
func (c *Channel) Events(m notify.Message) []Event {
	var out []Event
	for _, one := range notify.Split(m) {
		key := notify.IncidentKey(one)
		if one.Event == notify.EventAcknowledged {
			out = append(out, Event{RoutingKey: c.s.RoutingKey, EventAction: "acknowledge", DedupKey: key})
			continue
		}
		if one.Event.Problem() || one.Test {
			out = append(out, c.trigger(one, key))
		}
		if !one.Event.Problem() || one.Test {
			out = append(out, Event{RoutingKey: c.s.RoutingKey, EventAction: "resolve", DedupKey: key})
		}
	}
	return out
}

func (c *Channel) trigger(m notify.Message, key string) Event {
	sev := c.s.Severity
	switch {
	case m.Test:
		sev = "info"
	case sev != "":
	case notify.Severity(m) == "critical":
		sev = "critical"
	default:
		sev = "warning"
	}
	source := m.URL
	if u, err := url.Parse(m.URL); err == nil && u.Host != "" {
		source = u.Host
	}
	details := map[string]string{"url": m.URL, "event": string(m.Event)}
	if m.Reason != "" {
		details["reason"] = m.Reason
	}
	if m.IncidentID != "" {
		details["incident_id"] = m.IncidentID
	}
	e := Event{RoutingKey: c.s.RoutingKey, EventAction: "trigger", DedupKey: key, Client: "upmon", ClientURL: m.IncidentLink,
		Payload: &Payload{Summary: notify.Truncate(notify.Subject(m)+reasonSuffix(m), 1024), Source: source, Severity: sev,
			Component: m.SiteName, Class: string(m.Event), CustomDetails: details}}
	if !m.Time.IsZero() {
		e.Payload.Timestamp = m.Time.UTC().Format(time.RFC3339)
	}
	if m.IncidentLink != "" {
		e.Links = []Link{{Href: m.IncidentLink, Text: "upmon incident"}}
	}
	return e
}

func reasonSuffix(m notify.Message) string {
	if m.Reason == "" {
		return ""
	}
	return ": " + strings.Join(strings.Fields(m.Reason), " ")
}

// Send posts m's events to /v2/enqueue, in order; the first failure stops
// it (a retry resends them all: PagerDuty merges by dedup_key).
func (c *Channel) Send(ctx context.Context, m notify.Message) error {
	for _, e := range c.Events(m) {
		body, err := json.Marshal(e)
		if err != nil {
			return notify.Permanent(err)
		}
		if _, err := c.http.Do(ctx, Name, notify.Request{URL: notify.JoinURL(c.s.APIURL, "v2/enqueue"), Body: body,
			Secrets: []string{c.s.RoutingKey}}); err != nil {
			return err
		}
	}
	return nil
}
