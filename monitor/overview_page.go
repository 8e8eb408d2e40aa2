package monitor

import (
	"context"
	"strconv"
	"strings"

	"upmon/platform/sqldb"
	"upmon/site"
)

// StateSummary is what a page of the dashboard's overview needs to know
// about every site without reading every site's row: the count of state
// rows, and the few sites that need attention.
type StateSummary struct {
	// Rows counts the state rows (deleted sites whose state is not yet
	// forgotten included).
	Rows int
	// NotUp maps the sites with a state row that are not up to their
	// state: down, degraded, or unknown for those never checked.
	NotUp map[int64]string
	// Paused lists the sites whose schedule is paused.
	Paused []int64
	// Maintenance is true when a maintenance window is active now: which
	// sites it covers is then known only per site.
	Maintenance bool
}

// StateSummary reads the count of state rows and the sites not up, never
// checked or paused from the two small tables that hold them
// (attention.go), which a check changes only when it changes a site's
// reported state: its cost grows with those sites only, not with the
// site_state rows every check rewrites.
func (s *Service) StateSummary(ctx context.Context) (*StateSummary, error) {
	out := &StateSummary{NotUp: map[int64]string{}}
	n, err := sqldb.Count(ctx, s.db, "state_rows")
	if err != nil {
		return nil, dbError("overview", err)
	}
	out.Rows = n
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, state, paused FROM site_attention`)
	if err != nil {
		return nil, dbError("overview", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id     int64
			state  string
			paused bool
		)
		if err := rows.Scan(&id, &state, &paused); err != nil {
			return nil, dbError("overview", err)
		}
		if state != StateUp {
			out.NotUp[id] = state
		}
		if paused {
			out.Paused = append(out.Paused, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("overview", err)
	}
	windows, err := s.loadMaintenance(ctx)
	if err != nil {
		return nil, dbError("overview", err)
	}
	now := s.opts.Now().UnixMilli()
	for _, w := range windows {
		if w.active(now) {
			out.Maintenance = true
		}
	}
	return out, nil
}

// OverviewOf returns the overview rows of the given sites only, as
// Overview computes them (state, recent checks, 24-hour uptime,
// maintenance): the cost of a dashboard page, not of every site. Sites
// never checked are absent.
func (s *Service) OverviewOf(ctx context.Context, sites []*site.Site) (map[int64]*SiteOverview, error) {
	out := make(map[int64]*SiteOverview, len(sites))
	if len(sites) == 0 {
		return out, nil
	}
	now := s.opts.Now()
	q := s.uptime24h(now)
	in, args := idList(sites, 1)
	rows, err := s.db.QueryContext(ctx, `SELECT `+overviewColumns+` FROM site_state WHERE site_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, dbError("overview", err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanOverview(rows)
		if err != nil {
			return nil, dbError("overview", err)
		}
		out[o.SiteID] = o
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("overview", err)
	}
	in, _ = idList(sites, len(q.args)+1)
	urows, err := s.db.QueryContext(ctx,
		`SELECT site_id, `+q.sums+` FROM rollups WHERE site_id IN (`+in+`) AND (`+q.where+`) GROUP BY site_id`,
		append(q.args, args...)...)
	if err != nil {
		return nil, dbError("overview", err)
	}
	defer urows.Close()
	for urows.Next() {
		var id, up, total int64
		if err := urows.Scan(&id, &up, &total); err != nil {
			return nil, dbError("overview", err)
		}
		if o := out[id]; o != nil {
			o.Uptime24h = percent(up, total)
		}
	}
	if err := urows.Err(); err != nil {
		return nil, dbError("overview", err)
	}
	// As in Overview, a failure to read the windows only hides the flag.
	if windows, err := s.loadMaintenance(ctx); err == nil && len(windows) > 0 {
		for _, st := range sites {
			if o := out[st.ID]; o != nil {
				o.Maintenance = inMaintenance(windows, st, now)
			}
		}
	}
	return out, nil
}

// idList returns "$first, $first+1, …" for the sites' ids and the ids.
func idList(sites []*site.Site, first int) (string, []any) {
	var b strings.Builder
	args := make([]any, len(sites))
	for i, st := range sites {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
		args[i] = st.ID
	}
	return b.String(), args
}
