package monitor

import (
	"context"
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
// one an agent announced, with its agents, live or unavailable. It is
// read from the database, so every replica answers the same (but for
// which location is its own).
func (s *Service) Locations(ctx context.Context, _ *LocationsParams) (*LocationsResponse, error) {
	locs, agents, err := readLiveness(ctx, s.db)
	if err != nil {
		return nil, dbError("locations", err)
	}
	return &LocationsResponse{Locations: describeLocations(s.locs.own, locs, agents, s.opts.Now(), s.locs.every)}, nil
}

// describeLocations builds GET /locations from the database's rows: the
// own location first (always live), then the others by name, each in the
// state its flag says and with its agents, each live or not at now.
func describeLocations(own string, locs []locationRow, agents []heartbeatRow, now time.Time, every time.Duration) []LocationInfo {
	byName := map[string]*LocationInfo{own: {Name: own, State: LocationLive, Own: true, Agents: []AgentInfo{}}}
	out := []*LocationInfo{byName[own]}
	for _, l := range locs {
		li := byName[l.Name]
		if li == nil {
			li = &LocationInfo{Name: l.Name, State: LocationUnavailable, Agents: []AgentInfo{}}
			if l.Available {
				li.State = LocationLive
			}
			byName[l.Name] = li
			out = append(out, li)
		}
		if l.LastHeartbeat > 0 {
			li.LastHeartbeat = time.UnixMilli(l.LastHeartbeat).UTC()
		}
	}
	for _, a := range agents {
		li := byName[a.Location]
		if li == nil {
			continue
		}
		at := time.UnixMilli(a.At).UTC()
		ai := AgentInfo{ID: a.Agent, State: LocationUnavailable, LastHeartbeat: at}
		if agentLive(at, now, every) {
			ai.State = LocationLive
		}
		if at.After(li.LastHeartbeat) {
			li.LastHeartbeat = at
		}
		li.Agents = append(li.Agents, ai)
	}
	res := make([]LocationInfo, len(out))
	for i, li := range out {
		res[i] = *li
	}
	return res
}

// availability reads each location's flag (the own location is always
// available; a location the database does not know is not).
func (s *Service) availability(ctx context.Context) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, available FROM locations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var (
			name string
			ok   bool
		)
		if err := rows.Scan(&name, &ok); err != nil {
			return nil, err
		}
		out[name] = ok
	}
	out[s.locs.own] = true
	return out, rows.Err()
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
	avail, err := s.availability(ctx)
	if err != nil {
		return nil, dbError("site locations", err)
	}
	out := &SiteLocationsResponse{Locations: []SiteLocation{}, Quorum: st.Quorum}
	states := map[string]string{}
	for _, name := range st.Locations {
		l, ok := byName[name]
		if !ok {
			l = SiteLocation{Location: name, State: StateUnknown}
		}
		l.Live = avail[name]
		if l.CheckedAt != nil {
			states[name] = l.State
		}
		out.Locations = append(out.Locations, l)
	}
	out.Disagree = splitOf(st.Locations, avail, states) != nil
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
