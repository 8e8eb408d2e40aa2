// Package notify is the foundation of upmon's notification channels: the
// Message a channel renders, the Channel interface every kind implements,
// the typed delivery errors (permanent or retryable, with the service's
// Retry-After carried along), a shared HTTP helper, and the registry of
// kinds with their settings, secrets and URL forms.
//
// Each kind lives in a sub-package (notify/slack, notify/telegram, …) and
// talks to its service directly so that the exact request, the retry
// decision and the error text (which never contains a secret) stay ours.
package notify

import (
	"context"
	"time"
)

// Event is what happened to a site.
type Event string

// The events a channel may subscribe to.
const (
	// EventDown: the site went down.
	EventDown Event = "down"
	// EventUp: the site came back up.
	EventUp Event = "up"
	// EventDegraded: the site is up but slower than its threshold.
	EventDegraded Event = "degraded"
	// EventRecovered: the site is no longer degraded.
	EventRecovered Event = "recovered"
	// EventCertExpiring: the site's TLS certificate expires soon.
	EventCertExpiring Event = "cert-expiring"
	// EventLocationLost: a probing location became unavailable (its
	// agents missed their heartbeats); it leaves every quorum.
	EventLocationLost Event = "location-lost"
	// EventLocationBack: an unavailable location's agents answer again.
	EventLocationBack Event = "location-back"
	// EventAcknowledged: someone acknowledged the site's open incident
	// (sent only to kinds that track incidents, such as PagerDuty).
	EventAcknowledged Event = "acknowledged"
)

// Events lists every event, in documentation order.
func Events() []Event {
	return []Event{EventDown, EventUp, EventDegraded, EventRecovered, EventCertExpiring, EventLocationLost, EventLocationBack}
}

// Valid reports whether e is a known event.
func (e Event) Valid() bool {
	for _, k := range Events() {
		if e == k {
			return true
		}
	}
	return false
}

// Problem reports whether e starts a problem (down, degraded, an expiring
// certificate, a lost location) rather than ending one.
func (e Event) Problem() bool {
	switch e {
	case EventDown, EventDegraded, EventCertExpiring, EventLocationLost:
		return true
	}
	return false
}

// Message is one notification, independent of the channel that renders
// it. A grouped (storm) message has a non-empty Group and describes many
// sites; its site fields are then empty.
type Message struct {
	// Event is what happened.
	Event Event `json:"event"`
	// SiteID identifies the site.
	SiteID int64 `json:"site_id"`
	// SiteName is the site's display name (may be empty).
	SiteName string `json:"site_name"`
	// URL is the site's URL, without credentials (see StripCredentials).
	URL string `json:"url"`
	// State is the site's state after the event: "down", "up",
	// "degraded", …
	State string `json:"state"`
	// Reason says why, such as "HTTP 503 after 3 failed checks".
	Reason string `json:"reason"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// Duration is how long the previous state lasted (for up: how long
	// the site was down); zero when unknown.
	Duration time.Duration `json:"duration"`
	// CertExpiresAt is the certificate's expiry for cert-expiring.
	CertExpiresAt time.Time `json:"cert_expires_at"`
	// IncidentID identifies the incident the event opens or closes.
	IncidentID string `json:"incident_id"`
	// IncidentLink is a link to the incident on the dashboard.
	IncidentLink string `json:"incident_link"`
	// Test marks a test-send from the channel settings.
	Test bool `json:"test"`
	// Group lists the sites of a grouped storm message.
	Group []GroupEntry `json:"group"`
	// Text, when set (a channel's template), replaces the rendered text:
	// its first line is the subject, the rest the details.
	Text string `json:"text,omitempty"`
	// Verbatim sends Text exactly as given, unformatted (the tutorial's
	// POST /slack.Notify test step); kinds that cannot, format it.
	Verbatim bool `json:"verbatim,omitempty"`
	// Where names the locations that saw a change of a site checked from
	// several, such as "2 of 3 locations: eu, us" ("" for one location).
	Where string `json:"where,omitempty"`
	// Location is the location a location-lost or location-back message
	// is about; such a message has no site.
	Location string `json:"location,omitempty"`
}

// GroupEntry is one site of a grouped message, with its latest state.
type GroupEntry struct {
	// SiteID identifies the site.
	SiteID int64 `json:"site_id"`
	// SiteName is its display name.
	SiteName string `json:"site_name"`
	// URL is its URL, without credentials.
	URL string `json:"url"`
	// Event is its latest event.
	Event Event `json:"event"`
	// State is its latest state.
	State string `json:"state"`
	// Reason says why.
	Reason string `json:"reason"`
	// Time is when its latest event happened.
	Time time.Time `json:"time"`
	// IncidentID identifies the incident its event opens or closes.
	IncidentID string `json:"incident_id"`
}

// Message returns the single-site message of the entry, with m's test flag
// (for kinds that send one event per site, such as PagerDuty).
func (g GroupEntry) Message(test bool) Message {
	return Message{Event: g.Event, SiteID: g.SiteID, SiteName: g.SiteName, URL: g.URL, State: g.State,
		Reason: g.Reason, Time: g.Time, IncidentID: g.IncidentID, Test: test}
}

// Split returns the messages of m: m itself, or one per site of a grouped
// message.
func Split(m Message) []Message {
	if len(m.Group) == 0 {
		return []Message{m}
	}
	out := make([]Message, 0, len(m.Group))
	for _, g := range m.Group {
		out = append(out, g.Message(m.Test))
	}
	return out
}

// Channel delivers messages to one destination. Send returns nil once the
// service accepted the message, an error for which IsPermanent is true when
// retrying cannot help, and any other error when a later attempt may
// succeed (RetryAfter tells when, if the service said).
type Channel interface {
	// Send delivers m.
	Send(ctx context.Context, m Message) error
}
