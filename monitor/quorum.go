package monitor

import (
	"fmt"
	"strings"

	"upmon/site"
)

// LocationLocal is the location a serve process checks from itself when
// it is given no other name (--location).
const LocationLocal = site.LocationLocal

// locationView is one location's view of a site, the input of the
// quorum decision: its own streaks with the site's thresholds already
// applied (siteState.apply per location), and whether the location is
// live (its agents heard from within three heartbeats; the serve
// process's own location always is).
type locationView struct {
	Name  string
	Live  bool
	State siteState
}

// down says the location, thresholds applied, reports the site down. A
// location that has not checked the site yet counts as up, as a site
// never checked does.
func (v locationView) down() bool { return v.State.CheckedAt != 0 && !v.State.Up }

// degraded says the location reports the site up but degraded.
func (v locationView) degraded() bool {
	return v.State.CheckedAt != 0 && v.State.Up && v.State.Degraded
}

// quorumVerdict is a site's state decided by quorum over its live
// locations.
type quorumVerdict struct {
	// Decided is false when no location is live: the site keeps its
	// state (it never goes down because its agents died).
	Decided bool
	// Up and Degraded are the site's decided state.
	Up, Degraded bool
	// Live counts the live locations; Need is how many of them must
	// agree that the site is down (the quorum, capped at Live).
	Live, Need int
	// Saw lists the live locations that see the decided up/down state,
	// in the site's order of locations.
	Saw []string
}

// effectiveQuorum is the number of locations that must see a site down:
// the site's quorum, or a majority of its n locations when it is 0.
func effectiveQuorum(quorum, n int) int {
	if quorum <= 0 {
		return n/2 + 1
	}
	return quorum
}

// decideQuorum decides a site's state from its locations' views: down
// when at least Need live locations see it down, where Need is the
// quorum (0: a majority of all its locations) capped at the number of
// live locations, and up otherwise; degraded when up and Need live
// locations see it degraded. Unavailable locations are left out: they
// neither count towards nor against the quorum.
func decideQuorum(views []locationView, quorum int) quorumVerdict {
	var v quorumVerdict
	downs, slows := 0, 0
	for _, l := range views {
		if !l.Live {
			continue
		}
		v.Live++
		if l.down() {
			downs++
		} else if l.degraded() {
			slows++
		}
	}
	if v.Live == 0 {
		return v
	}
	v.Decided = true
	v.Need = min(effectiveQuorum(quorum, len(views)), v.Live)
	v.Up = downs < v.Need
	v.Degraded = v.Up && slows >= v.Need
	for _, l := range views {
		if l.Live && l.down() != v.Up {
			v.Saw = append(v.Saw, l.Name)
		}
	}
	return v
}

// note is the verdict's part of a notification, such as
// "3 of 3 locations: eu, us, ap".
func (v quorumVerdict) note() string {
	return fmt.Sprintf("%d of %s: %s", len(v.Saw), plural(v.Live, "location"), strings.Join(v.Saw, ", "))
}

// describe adds the verdict's locations to a transition event; a nil
// verdict (a site on the default location only) adds nothing.
func (v *quorumVerdict) describe(ev *TransitionEvent) {
	if v == nil {
		return
	}
	ev.Locations = v.Saw
	ev.Where = v.note()
}
