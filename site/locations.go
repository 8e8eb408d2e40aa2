package site

import (
	"fmt"
	"regexp"
	"slices"

	"upmon/platform/api"
)

// LocationLocal is the default location: the serve process checking from
// where it runs.
const LocationLocal = "local"

// MaxLocations caps the locations of one site.
const MaxLocations = 20

// locationRE is a location name: one NATS subject token, so that each
// location's subjects can be granted to its agents alone.
var locationRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidLocationName says whether name can name a location: 1-32
// lower-case letters, digits, '-' or '_', starting with a letter or digit.
func ValidLocationName(name string) bool { return locationRE.MatchString(name) }

// fillLocations fills unset locations with the default set (["local"]
// when it is empty) and an unset quorum with a majority of them.
func fillLocations(locs []string, quorum int, defaults []string) ([]string, int) {
	if len(locs) == 0 {
		locs = defaults
		if len(locs) == 0 {
			locs = []string{LocationLocal}
		}
	}
	if quorum == 0 {
		quorum = len(locs)/2 + 1
	}
	return locs, quorum
}

// validateLocationNames checks the form of the locations and quorum
// settings; whether each location is known, and the quorum against the
// set's size, are checked by the service (checkLocations), which knows
// the defaults and the locations.
func validateLocationNames(locs []string, quorum int) error {
	if len(locs) > MaxLocations {
		return api.FieldError("locations", "at most %d locations", MaxLocations)
	}
	for i, l := range locs {
		if !ValidLocationName(l) {
			return api.FieldError(fmt.Sprintf("locations[%d]", i), "must be 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit")
		}
		if slices.Contains(locs[:i], l) {
			return api.FieldError(fmt.Sprintf("locations[%d]", i), "%q is listed twice", l)
		}
	}
	if quorum < 0 || quorum > MaxLocations {
		return api.FieldError("quorum", "must be between 1 and the number of locations")
	}
	return nil
}

// checkLocations refuses a location no agent has announced and that is
// neither the serve process's own nor in the configured default set, and
// a quorum larger than the site's set of locations. Names are checked
// only when given (names): a site keeps a location that went away.
func (s *Service) checkLocations(st *Settings, names bool) error {
	locs, quorum := fillLocations(st.Locations, st.Quorum, s.opts.Defaults.Locations)
	for i, l := range st.Locations {
		if names && !s.locationKnown(l) {
			return api.FieldError(fmt.Sprintf("locations[%d]", i), "unknown location %q: no agent has connected from it and it is not configured (--locations)", l)
		}
	}
	if quorum > len(locs) {
		return api.FieldError("quorum", "must be at most the number of locations (%d)", len(locs))
	}
	return nil
}

func (s *Service) locationKnown(name string) bool {
	if name == LocationLocal || slices.Contains(s.opts.Defaults.Locations, name) {
		return true
	}
	return s.opts.LocationKnown != nil && s.opts.LocationKnown(name)
}
