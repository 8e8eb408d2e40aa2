package monitor

import (
	"context"
	"slices"
	"strings"
	"time"

	"upmon/site"
)

// Assignment is a check sent to a location's agents: the probe
// specification (no site settings beyond what the check needs) and when
// it was due.
type Assignment struct {
	// SiteID is the site to check.
	SiteID int64 `json:"site_id"`
	// Spec is what to check, exactly as the serve process would.
	Spec Spec `json:"spec"`
	// Due is when the check was due.
	Due time.Time `json:"due"`
}

// AgentResult is an agent's answer to an Assignment.
type AgentResult struct {
	// SiteID is the checked site.
	SiteID int64 `json:"site_id"`
	// Agent is the id of the agent that ran it.
	Agent string `json:"agent"`
	// At is when the agent ran the check (its clock).
	At time.Time `json:"at"`
	// Result is the check's outcome.
	Result Result `json:"result"`
}

// Heartbeat is what agents send every heartbeat interval.
type Heartbeat struct {
	// Agent is the agent's id, unique per process start.
	Agent string `json:"agent"`
	// At is the agent's clock when it sent it.
	At time.Time `json:"at"`
}

// assignRemote sends st's check to each of its other locations that is
// live (Options.Assign) and says whether this process should probe it
// itself (its own location is in the site's set). A scheduled check of a
// site on the default set does nothing here.
func (s *Service) assignRemote(st *site.Site, due time.Time) (probeHere bool) {
	own := s.locs.own
	if len(st.Locations) == 0 || (len(st.Locations) == 1 && st.Locations[0] == own) {
		return true
	}
	now := s.opts.Now()
	for _, loc := range st.Locations {
		if loc == own || s.opts.Assign == nil || !s.locs.live(loc, now) {
			continue
		}
		a := &Assignment{SiteID: st.ID, Spec: SpecOf(st), Due: due.UTC()}
		if err := s.opts.Assign(loc, a); err != nil {
			s.log.Warn("cannot assign a check to a location", "site", st.ID, "location", loc, "err", err)
		}
	}
	return slices.Contains(st.Locations, own)
}

// HandleResult records an agent's result from location loc (the subject
// it arrived on names the location, which the broker's permissions tie
// to the agent's credentials). A result for a site that no longer
// exists or no longer lists loc is dropped; a time in the future is
// taken as now.
func (s *Service) HandleResult(ctx context.Context, loc string, r *AgentResult) error {
	st, err := s.sites.Get(ctx, &site.GetParams{ID: r.SiteID})
	if err != nil {
		return err
	}
	if !slices.Contains(st.Locations, loc) || loc == s.locs.own {
		return nil
	}
	at := r.At
	if now := s.opts.Now(); at.After(now) || at.IsZero() {
		at = now
	}
	if err := s.RecordFrom(st, loc, at, r.Result); err != nil {
		return err
	}
	s.metrics.locChecks.WithLabelValues(loc).Inc()
	return nil
}

// Subjects of the broker link between serve and agents; each location's
// subjects start with <prefix>.loc.<location>., so one permission
// pattern gives an agent its location's subjects and nothing else.

// AssignSubject is where a location's agents receive their assignments.
func AssignSubject(prefix, loc string) string { return prefix + ".loc." + loc + ".assign" }

// ResultSubject is where a location's agents publish results.
func ResultSubject(prefix, loc string) string { return prefix + ".loc." + loc + ".results" }

// HeartbeatSubject is where a location's agents publish heartbeats.
func HeartbeatSubject(prefix, loc string) string { return prefix + ".loc." + loc + ".hb" }

// LocationOfSubject returns the location token of a result or heartbeat
// subject (<prefix>.loc.<location>.<kind>), or "".
func LocationOfSubject(subject string) string {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[1] != "loc" || !site.ValidLocationName(parts[2]) {
		return ""
	}
	return parts[2]
}
