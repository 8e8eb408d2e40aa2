package monitor

import (
	"time"

	"upmon/site"
)

// Topics the monitor publishes on.
const (
	// TopicUptimeTransition carries TransitionEvent: a site went down or
	// came back up.
	TopicUptimeTransition = "uptime-transition"
	// TopicDegraded carries DegradedEvent: a site became slower than its
	// max_latency, or recovered.
	TopicDegraded = "uptime-degraded"
	// TopicCertExpiring carries CertExpiringEvent: a certificate crossed
	// 14 or 3 days before expiry.
	TopicCertExpiring = "cert-expiring"
	// TopicLocationChange carries LocationEvent: a location became
	// unavailable (its agents missed 3 heartbeats) or came back.
	TopicLocationChange = "location-change"
)

// Types of LocationEvent.
const (
	EventLocationLost = "location-lost"
	EventLocationBack = "location-back"
)

// LocationEvent is published when a location becomes unavailable or
// comes back. An unavailable location is left out of every quorum; it
// never makes a site down.
type LocationEvent struct {
	// ID is the event's globally unique id.
	ID string `json:"id"`
	// Type is "location-lost" or "location-back".
	Type string `json:"type"`
	// Location is the location's name.
	Location string `json:"location"`
	// Available is the location's new liveness.
	Available bool `json:"available"`
	// At is when the change was noticed.
	At time.Time `json:"at"`
}

// TransitionEvent is published when a site goes down or comes back up.
type TransitionEvent struct {
	// ID is the event's globally unique id (the broker's dedup key).
	ID string `json:"id"`
	// Site is the site that changed state (identity only, no settings).
	Site *site.Ref `json:"site"`
	// Up is the new state.
	Up bool `json:"up"`
	// Seq numbers the site's transitions (1, 2, …); a subscriber that has
	// seen a higher Seq for the site can drop this event as stale.
	Seq int64 `json:"seq"`
	// CheckedAt is the time of the check that caused the transition.
	CheckedAt time.Time `json:"checked_at"`
	// Reason says why, such as "HTTP 503 after 3 failed checks".
	Reason string `json:"reason"`
	// Maintenance is true when notifiers hold the event back: it happened
	// in a maintenance window, or it undoes a change that was held back.
	// A change that still holds when the window ends is published again
	// then, with Maintenance false.
	Maintenance bool `json:"maintenance,omitempty"`
	// Locations, for a site checked from several locations, are the live
	// locations that saw the new state (docs/locations.md).
	Locations []string `json:"locations,omitempty"`
	// Where says it for notifications: "3 of 3 locations: eu, us, ap".
	Where string `json:"where,omitempty"`
}

// DegradedEvent is published when a site becomes degraded (up but slower
// than its max_latency for failure_threshold checks) or recovers.
type DegradedEvent struct {
	// ID is the event's globally unique id.
	ID string `json:"id"`
	// Site is the site.
	Site *site.Ref `json:"site"`
	// Degraded is the new state.
	Degraded bool `json:"degraded"`
	// Seq numbers the site's degraded transitions.
	Seq int64 `json:"seq"`
	// CheckedAt is the time of the check that caused it.
	CheckedAt time.Time `json:"checked_at"`
	// Reason says why, such as "slow: 1.2s > max 1s after 3 checks".
	Reason string `json:"reason"`
	// Maintenance is true inside a maintenance window.
	Maintenance bool `json:"maintenance,omitempty"`
}

// CertExpiringEvent is published once when a site's certificate has 14
// days or fewer left, and once more at 3 days.
type CertExpiringEvent struct {
	// ID is the event's globally unique id.
	ID string `json:"id"`
	// Site is the site.
	Site *site.Ref `json:"site"`
	// DaysLeft is the whole days until expiry.
	DaysLeft int `json:"days_left"`
	// Threshold is 14 or 3.
	Threshold int `json:"threshold"`
	// ExpiresAt is the certificate's NotAfter.
	ExpiresAt time.Time `json:"expires_at"`
	// CheckedAt is the time of the check that saw it.
	CheckedAt time.Time `json:"checked_at"`
}
