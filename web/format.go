package web

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"upmon/site"
)

// relTime describes t relative to now in words ("5 min ago").
func relTime(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " d ago"
}

// exactTime is the precise form of t shown on hover and in tables.
func exactTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// isoTime is t for a datetime attribute.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// fmtPct formats an uptime percentage; nil (no checks) is a dash.
func fmtPct(p *float64) string {
	if p == nil {
		return "–"
	}
	return pctText(*p)
}

func pctText(v float64) string {
	if v >= 100 {
		return "100 %"
	}
	// Never round 99.999 up to 100: it would hide a failure.
	v = math.Floor(v*100) / 100
	return strconv.FormatFloat(v, 'f', 2, 64) + " %"
}

// fmtMS formats a latency.
func fmtMS(ms int64) string { return strconv.FormatInt(ms, 10) + " ms" }

// fmtSeconds formats a duration given in seconds, two units at most.
func fmtSeconds(s int64) string {
	if s < 0 {
		s = 0
	}
	d, h, m := s/86400, s%86400/3600, s%3600/60
	switch {
	case d > 0:
		return fmt.Sprintf("%d d %d h", d, h)
	case h > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case m > 0:
		return fmt.Sprintf("%d min %d s", m, s%60)
	}
	return fmt.Sprintf("%d s", s)
}

// fmtDur formats a setting's duration for its input ("" for zero):
// "1h", "5m", "30s", "1m30s".
func fmtDur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return site.Duration(d).String()
}

// stateText is a state in words.
func stateText(state string) string {
	switch state {
	case StateUp:
		return "Up"
	case StateDown:
		return "Down"
	case StateDegraded:
		return "Degraded"
	}
	return "Unknown"
}

// stateRank orders states for down-first sorting.
func stateRank(state string) int {
	switch state {
	case StateDown:
		return 0
	case StateDegraded:
		return 1
	case StateUnknown, "":
		return 2
	}
	return 3
}

// normState maps any state to one of the four the dashboard knows.
func normState(s string) string {
	switch s {
	case StateUp, StateDown, StateDegraded:
		return s
	}
	return StateUnknown
}
