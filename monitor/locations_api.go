package monitor

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"upmon/site"
)

// LocationsParams are the (empty) parameters of Locations.
type LocationsParams struct{}

// LocationsResponse is the answer of GET /locations.
type LocationsResponse struct {
	// Locations, this process's own first, then by name; never nil.
	Locations []LocationInfo `json:"locations"`
}

// Locations lists every known location: this process's own, and each
// one an agent announced, with its agents, live or unavailable.
func (s *Service) Locations(_ context.Context, _ *LocationsParams) (*LocationsResponse, error) {
	return &LocationsResponse{Locations: s.locs.list(s.opts.Now())}, nil
}

// SiteLocationsParams identify the site.
type SiteLocationsParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
}

// SiteLocation is one location's view of a site.
type SiteLocation struct {
	// Location is the location's name.
	Location string `json:"location"`
	// Live is false while the location is unavailable (it does not count
	// towards the quorum).
	Live bool `json:"live"`
	// State is the location's own state, thresholds applied: up, down,
	// degraded, or unknown before its first check.
	State string `json:"state"`
	// CheckedAt is its last check, null before the first.
	CheckedAt *time.Time `json:"checked_at"`
	// LatencyMS, StatusCode and Error describe that check.
	LatencyMS  int64  `json:"latency_ms"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
}

// SiteLocationsResponse is the answer of GET /site/{id}/locations.
type SiteLocationsResponse struct {
	// Locations follow the site's order of locations; never nil.
	Locations []SiteLocation `json:"locations"`
	// Quorum is how many live locations must see the site down.
	Quorum int `json:"quorum"`
	// Disagree is true when live locations that checked it disagree on
	// whether it is down.
	Disagree bool `json:"disagree"`
}

// SiteLocations answers each of a site's locations: its last check,
// state and latency. A site on the default location alone answers that
// location from the site's own state.
func (s *Service) SiteLocations(ctx context.Context, p *SiteLocationsParams) (*SiteLocationsResponse, error) {
	st, err := s.sites.Get(ctx, &site.GetParams{ID: p.SiteID})
	if err != nil {
		return nil, err
	}
	q, args := `SELECT location, checked_at, state, latency_ms, status_code, error FROM location_state WHERE site_id = $1`, []any{st.ID}
	if !s.multiSite(st) {
		q, args = `SELECT CAST($2 AS TEXT), checked_at, state, latency_ms, status_code, error FROM site_state WHERE site_id = $1`, []any{st.ID, s.locs.own}
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError("site locations", err)
	}
	defer rows.Close()
	byName := map[string]SiteLocation{}
	for rows.Next() {
		var (
			l  SiteLocation
			at int64
		)
		if err := rows.Scan(&l.Location, &at, &l.State, &l.LatencyMS, &l.StatusCode, &l.Error); err != nil {
			return nil, dbError("site locations", err)
		}
		if at > 0 {
			t := time.UnixMilli(at).UTC()
			l.CheckedAt = &t
		} else {
			l.State = StateUnknown
		}
		byName[l.Location] = l
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("site locations", err)
	}
	now := s.opts.Now()
	out := &SiteLocationsResponse{Locations: []SiteLocation{}, Quorum: st.Quorum}
	var seen []bool
	for _, name := range st.Locations {
		l, ok := byName[name]
		if !ok {
			l = SiteLocation{Location: name, State: StateUnknown}
		}
		l.Live = s.locs.live(name, now)
		if l.Live && l.CheckedAt != nil {
			seen = append(seen, l.State == StateDown)
		}
		out.Locations = append(out.Locations, l)
	}
	out.Disagree = slices.Contains(seen, true) && slices.Contains(seen, false)
	return out, nil
}

// multiSite says whether st is decided by quorum over locations.
func (s *Service) multiSite(st *site.Site) bool {
	return len(st.Locations) != 1 || st.Locations[0] != s.locs.own
}

// byLocation narrows a checks query (its WHERE begins "WHERE site_id =
// $1") to one location; an empty loc leaves it as it is.
func byLocation(q string, args []any, loc string) (string, []any) {
	if loc == "" {
		return q, args
	}
	args = append(args, loc)
	return strings.Replace(q, "WHERE site_id = $1", "WHERE site_id = $1 AND location = $"+strconv.Itoa(len(args)), 1), args
}
