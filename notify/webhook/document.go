package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"upmon/notify"
)

// SchemaVersion is the version of the document; it changes only when a
// field changes meaning or goes away (new fields may appear at any time).
const SchemaVersion = 1

// Document is the JSON body of a delivery (docs/notifications.md).
type Document struct {
	// Version is SchemaVersion.
	Version int `json:"version"`
	// ID is the delivery id (also in X-Upmon-Delivery).
	ID string `json:"id"`
	// Event is "down", "up", "degraded", "recovered", "cert-expiring",
	// "location-lost", "location-back", or "group".
	Event string `json:"event"`
	// Test is true for a test-send.
	Test bool `json:"test"`
	// Time is when the event happened (RFC 3339, UTC).
	Time *time.Time `json:"time"`
	// Summary is the one-line summary; Text the full plain text.
	Summary string `json:"summary"`
	Text    string `json:"text"`
	// Site is the site (null for a grouped message).
	Site *Site `json:"site"`
	// State, Reason and DurationSeconds describe the change.
	State           string `json:"state,omitempty"`
	Reason          string `json:"reason,omitempty"`
	DurationSeconds int64  `json:"duration_seconds,omitempty"`
	// CertExpiresAt is the certificate's expiry (cert-expiring only).
	CertExpiresAt *time.Time `json:"cert_expires_at,omitempty"`
	// Incident is the incident the event opens or closes (or null).
	Incident *Incident `json:"incident"`
	// Group lists the sites of a grouped message (empty otherwise).
	Group []GroupSite `json:"group"`
}

// Site identifies a site.
type Site struct {
	// ID, Name and URL (without credentials) of the site.
	ID   int64  `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Incident identifies an incident.
type Incident struct {
	// ID and Link (to the dashboard) of the incident.
	ID   string `json:"id"`
	Link string `json:"link,omitempty"`
}

// GroupSite is one site of a grouped message.
type GroupSite struct {
	// Site, Event, State, Reason, Time and IncidentID of the site's
	// latest change.
	Site       Site      `json:"site"`
	Event      string    `json:"event"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	Time       time.Time `json:"time"`
	IncidentID string    `json:"incident_id,omitempty"`
}

// Build returns the document of m.
func Build(m notify.Message) Document {
	d := Document{Version: SchemaVersion, ID: DeliveryID(m), Event: string(m.Event), Test: m.Test,
		Summary: notify.Subject(m), Text: notify.Text(m), Group: []GroupSite{}}
	if !m.Time.IsZero() {
		t := m.Time.UTC()
		d.Time = &t
	}
	if len(m.Group) > 0 {
		d.Event = "group"
		for _, g := range m.Group {
			d.Group = append(d.Group, GroupSite{Site: Site{ID: g.SiteID, Name: g.SiteName, URL: g.URL}, Event: string(g.Event),
				State: g.State, Reason: g.Reason, Time: g.Time.UTC(), IncidentID: g.IncidentID})
		}
		return d
	}
	d.Site = &Site{ID: m.SiteID, Name: m.SiteName, URL: m.URL}
	d.State, d.Reason, d.DurationSeconds = m.State, m.Reason, int64(m.Duration/time.Second)
	if !m.CertExpiresAt.IsZero() {
		t := m.CertExpiresAt.UTC()
		d.CertExpiresAt = &t
	}
	if m.IncidentID != "" || m.IncidentLink != "" {
		d.Incident = &Incident{ID: m.IncidentID, Link: m.IncidentLink}
	}
	return d
}

// Sign returns the timestamp and signature headers of body signed at now:
// the Unix seconds, and "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret string, now time.Time, body []byte) (ts, signature string) {
	ts = strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return ts, "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors of Verify.
var (
	// ErrNoSignature: the delivery is not signed.
	ErrNoSignature = errors.New("webhook: no signature")
	// ErrBadSignature: the signature does not match.
	ErrBadSignature = errors.New("webhook: signature mismatch")
	// ErrStale: the timestamp is outside the tolerance (a replay).
	ErrStale = errors.New("webhook: timestamp outside the tolerance")
)

// Verify checks a delivery as a receiver should: the signature over the
// timestamp and the raw body, in constant time, and the timestamp within
// tolerance of now (against replays).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil || !strings.HasPrefix(sig, "sha256=") || !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
