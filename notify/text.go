package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Label is how a message names its site: the name, else the URL.
func (m Message) Label() string {
	if m.SiteName != "" {
		return m.SiteName
	}
	return m.URL
}

// Subject is the message's one-line summary, such as
// "https://example.com is down" or "[test] …" for a test-send.
func Subject(m Message) string {
	s := subject(m)
	if m.Test {
		s = "[test] " + s
	}
	return s
}

func subject(m Message) string {
	if m.Text != "" {
		first, _, _ := strings.Cut(m.Text, "\n")
		return first
	}
	if len(m.Group) > 0 {
		return fmt.Sprintf("%d sites changed state", len(m.Group))
	}
	l := m.Label()
	switch m.Event {
	case EventDown:
		return l + " is down" + where(m)
	case EventUp:
		return l + " is back up" + where(m)
	case EventDegraded:
		return l + " is degraded"
	case EventRecovered:
		return l + " is no longer degraded"
	case EventCertExpiring:
		return "The TLS certificate of " + l + " expires " + ExpiresIn(m.CertExpiresAt, m.Time)
	case EventLocationLost:
		return "Location " + m.Location + " is unavailable"
	case EventLocationBack:
		return "Location " + m.Location + " is back"
	case EventAcknowledged:
		return "The incident of " + l + " was acknowledged"
	}
	return l + ": " + string(m.Event)
}

// where is " (2 of 3 locations: eu, us)" for a site checked from several
// locations, else "".
func where(m Message) string {
	if m.Where == "" {
		return ""
	}
	return " (" + m.Where + ")"
}

// ExpiresIn says when a certificate expires relative to now: "today",
// "in 1 day", "in 12 days".
func ExpiresIn(expires, now time.Time) string {
	days := int(expires.Sub(now).Hours() / 24)
	switch {
	case days <= 0:
		return "today"
	case days == 1:
		return "in 1 day"
	}
	return fmt.Sprintf("in %d days", days)
}

// Details are the message's lines after the subject: the reason, how long
// the previous state lasted, the certificate's expiry, the incident link,
// the time; a grouped message lists its sites instead.
func Details(m Message) []string {
	if m.Text != "" {
		_, rest, _ := strings.Cut(m.Text, "\n")
		if rest == "" {
			return nil
		}
		return strings.Split(rest, "\n")
	}
	if len(m.Group) > 0 {
		out := make([]string, 0, len(m.Group))
		for _, g := range m.Group {
			out = append(out, GroupLine(g))
		}
		return out
	}
	var out []string
	switch m.Event {
	case EventLocationLost:
		out = append(out, "Its agents missed their heartbeats; its sites are decided by the other locations.")
	case EventLocationBack:
		out = append(out, "Its agents answer again; it counts towards quorums.")
	}
	if m.SiteName != "" && m.URL != "" {
		out = append(out, "URL: "+m.URL)
	}
	if m.Reason != "" {
		out = append(out, "Reason: "+oneLine(m.Reason))
	}
	if m.Duration > 0 {
		out = append(out, durationLine(m))
	}
	if m.Event == EventCertExpiring && !m.CertExpiresAt.IsZero() {
		out = append(out, "Expires: "+FormatTime(m.CertExpiresAt))
	}
	if m.IncidentLink != "" {
		out = append(out, "Incident: "+m.IncidentLink)
	}
	if !m.Time.IsZero() {
		out = append(out, "Time: "+FormatTime(m.Time))
	}
	if m.Test {
		out = append(out, "This is a test notification from upmon.")
	}
	return out
}

func durationLine(m Message) string {
	switch m.Event {
	case EventUp:
		return "Was down for " + FormatDuration(m.Duration)
	case EventRecovered:
		return "Was degraded for " + FormatDuration(m.Duration)
	}
	return "Duration: " + FormatDuration(m.Duration)
}

// GroupLine renders one site of a grouped message.
func GroupLine(g GroupEntry) string {
	name := g.SiteName
	if name == "" {
		name = g.URL
	}
	s := "• " + name + ": " + g.State
	if g.Reason != "" {
		s += " (" + oneLine(g.Reason) + ")"
	}
	return s
}

// Text is the message as plain text: the subject, then its details.
func Text(m Message) string {
	return strings.Join(append([]string{Subject(m)}, Details(m)...), "\n")
}

// FormatTime renders a time in UTC, to the second.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") }

// FormatDuration renders a duration to the second, largest units first:
// "42s", "5m 3s", "2h 0m", "3d 4h".
func FormatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// Severity maps the event to a level: "critical" (down, lost location),
// "warning" (degraded, certificate), "ok" (recovered ones).
func Severity(m Message) string {
	if len(m.Group) > 0 {
		for _, g := range m.Group {
			if g.Event == EventDown || g.Event == EventLocationLost {
				return "critical"
			}
		}
		return "warning"
	}
	switch m.Event {
	case EventDown, EventLocationLost:
		return "critical"
	case EventDegraded, EventCertExpiring:
		return "warning"
	}
	return "ok"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// IncidentKey is the stable key that ties an incident's opening and
// closing events together (PagerDuty's dedup_key, Opsgenie's alias):
// derived from the site id, the incident id and the event's family, so
// down and up of one incident give the same key.
func IncidentKey(m Message) string {
	family := "down"
	switch m.Event {
	case EventDegraded, EventRecovered:
		family = "degraded"
	case EventCertExpiring:
		family = "cert"
	case EventLocationLost, EventLocationBack:
		family = "location"
	}
	k := fmt.Sprintf("upmon-site-%d-%s", m.SiteID, family)
	if m.Location != "" {
		k = "upmon-location-" + m.Location
	}
	if m.IncidentID != "" {
		k += "-" + m.IncidentID
	}
	if m.Test {
		k += "-test"
	}
	return k
}

// Truncate cuts s to at most n characters (runes), ending it with "…"
// when cut, for services that refuse longer texts.
func Truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
