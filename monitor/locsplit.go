package monitor

import (
	"context"

	"upmon/site"
)

// LocationSplit describes a site whose live locations disagree on
// whether it is down: some see it down, others up (or degraded). The
// overview marks such sites; a location that is unavailable or has not
// checked the site yet takes no side.
type LocationSplit struct {
	// Down are the live locations that see the site down, in the site's
	// order of locations.
	Down []string `json:"down"`
	// Up are the live locations that see it up or degraded.
	Up []string `json:"up"`
}

// splitOf is the split of the views (live and checked ones only), or nil
// when they agree.
func splitOf(names []string, live map[string]bool, states map[string]string) *LocationSplit {
	var sp LocationSplit
	for _, name := range names {
		state, checked := states[name]
		if !live[name] || !checked {
			continue
		}
		if state == StateDown {
			sp.Down = append(sp.Down, name)
		} else {
			sp.Up = append(sp.Up, name)
		}
	}
	if len(sp.Down) == 0 || len(sp.Up) == 0 {
		return nil
	}
	return &sp
}

// LocationSplits returns, for the given sites, those whose live
// locations disagree (sites on one location never do): one read of
// their location rows and one of the locations' flags, for a page of
// the overview.
func (s *Service) LocationSplits(ctx context.Context, sites []*site.Site) (map[int64]*LocationSplit, error) {
	out := map[int64]*LocationSplit{}
	var multi []*site.Site
	for _, st := range sites {
		if s.multiSite(st) {
			multi = append(multi, st)
		}
	}
	if len(multi) == 0 {
		return out, nil
	}
	live, err := s.availability(ctx)
	if err != nil {
		return nil, dbError("overview", err)
	}
	in, args := idList(multi, 1)
	rows, err := s.db.QueryContext(ctx,
		`SELECT site_id, location, state FROM location_state WHERE checked_at > 0 AND site_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, dbError("overview", err)
	}
	defer rows.Close()
	states := map[int64]map[string]string{}
	for rows.Next() {
		var (
			id         int64
			loc, state string
		)
		if err := rows.Scan(&id, &loc, &state); err != nil {
			return nil, dbError("overview", err)
		}
		if states[id] == nil {
			states[id] = map[string]string{}
		}
		states[id][loc] = state
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("overview", err)
	}
	for _, st := range multi {
		if sp := splitOf(st.Locations, live, states[st.ID]); sp != nil {
			out[st.ID] = sp
		}
	}
	return out, nil
}
