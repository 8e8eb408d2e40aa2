package monitor

import (
	"encoding/json"
	"fmt"
	"time"
)

// States a site can be reported in.
const (
	StateUp       = "up"
	StateDown     = "down"
	StateDegraded = "degraded"
	StateUnknown  = "unknown"
)

// siteState is a site's row in site_state: the reported state and the
// streaks that decide when it changes.
type siteState struct {
	Up         bool  // reported up (with thresholds)
	Degraded   bool  // reported degraded (only while up)
	LastUp     bool  // the latest check's raw outcome
	CheckedAt  int64 // unix ms of the latest check; 0 = never checked
	Seq        int64 // up/down transitions so far
	DSeq       int64 // degraded transitions so far
	FailStreak int   // consecutive failed checks
	OKStreak   int   // consecutive successful (up, slow or not) checks
	SlowStreak int   // consecutive slow successes
	FastStreak int   // consecutive successes within max_latency
}

// State returns the reported state's name.
func (s siteState) State() string {
	switch {
	case s.CheckedAt == 0:
		return StateUnknown
	case !s.Up:
		return StateDown
	case s.Degraded:
		return StateDegraded
	}
	return StateUp
}

// change says what one check did to the reported state.
type change struct {
	upChanged       bool // Up flipped (a transition event)
	degradedChanged bool // Degraded flipped (a degraded event)
}

// apply folds one check result into the state, with the site's
// thresholds (consecutive results needed to change state, for down and for
// degraded alike). A site never checked counts as up.
func (s *siteState) apply(r Result, at int64, failureThreshold, successThreshold int) change {
	failureThreshold = max(failureThreshold, 1)
	successThreshold = max(successThreshold, 1)
	var c change
	s.LastUp = r.Up
	s.CheckedAt = at
	switch {
	case !r.Up:
		s.FailStreak++
		s.OKStreak, s.SlowStreak, s.FastStreak = 0, 0, 0
	case r.Slow:
		s.OKStreak++
		s.SlowStreak++
		s.FailStreak, s.FastStreak = 0, 0
	default:
		s.OKStreak++
		s.FastStreak++
		s.FailStreak, s.SlowStreak = 0, 0
	}
	if s.Up && s.FailStreak >= failureThreshold {
		s.Up = false
		s.Seq++
		c.upChanged = true
		s.Degraded = false // the outage supersedes the slowness
	} else if !s.Up && s.OKStreak >= successThreshold {
		s.Up = true
		s.Seq++
		c.upChanged = true
	}
	if s.Up {
		if !s.Degraded && s.SlowStreak >= failureThreshold {
			s.Degraded = true
			s.DSeq++
			c.degradedChanged = true
		} else if s.Degraded && s.FastStreak >= successThreshold {
			s.Degraded = false
			s.DSeq++
			c.degradedChanged = true
		}
	}
	return c
}

// recentCheck is one entry of the overview's ring of latest checks.
type recentCheck struct {
	At        int64 `json:"t"` // unix seconds
	State     int8  `json:"s"` // 0 down, 1 up, 2 slow
	LatencyMS int64 `json:"l"`
}

// recentLen is how many checks the ring keeps.
const recentLen = 30

func appendRecent(ring string, at time.Time, r Result) string {
	var list []recentCheck
	if ring != "" {
		_ = json.Unmarshal([]byte(ring), &list)
	}
	st := int8(0)
	if r.Up {
		st = 1
		if r.Slow {
			st = 2
		}
	}
	list = append(list, recentCheck{At: at.Unix(), State: st, LatencyMS: r.Latency.Milliseconds()})
	if len(list) > recentLen {
		list = list[len(list)-recentLen:]
	}
	b, _ := json.Marshal(list)
	return string(b)
}

// reasonLine is the human reason of a transition, as notifications show
// it on their second line.
func reasonLine(r Result, s siteState, up bool) string {
	if up {
		what := "back up"
		if r.StatusCode != 0 {
			what = fmt.Sprintf("HTTP %d", r.StatusCode)
		}
		return fmt.Sprintf("%s after %s", what, plural(s.OKStreak, "successful check"))
	}
	reason := r.Err
	if reason == "" {
		reason = "check failed"
	}
	return fmt.Sprintf("%s after %s", reason, plural(s.FailStreak, "failed check"))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
