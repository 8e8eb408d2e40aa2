package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"upmon/site"
)

// RecentCheck is one entry of a site's recent-checks strip.
type RecentCheck struct {
	// At is when the check ran.
	At time.Time `json:"at"`
	// Up is its outcome; Slow marks an up check over max_latency.
	Up   bool `json:"up"`
	Slow bool `json:"slow"`
	// LatencyMS is its latency.
	LatencyMS int64 `json:"latency_ms"`
}

// SiteOverview is what the dashboard shows of a site in one row.
type SiteOverview struct {
	// SiteID identifies the site.
	SiteID int64 `json:"site_id"`
	// State is up, down, degraded or unknown (never checked).
	State string `json:"state"`
	// CheckedAt is the latest check's time (zero if never).
	CheckedAt time.Time `json:"checked_at"`
	// LatencyMS, StatusCode and Error describe the latest check.
	LatencyMS  int64  `json:"latency_ms"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
	// Uptime24h is the percentage up over 24 hours, or nil without checks.
	Uptime24h *float64 `json:"uptime_24h"`
	// Recent are the latest checks, oldest first (at most 30).
	Recent []RecentCheck `json:"recent"`
	// Maintenance is true while a maintenance window covers the site.
	Maintenance bool `json:"maintenance"`
}

// overviewColumns are the site_state columns an overview row reads.
const overviewColumns = `site_id, state, checked_at, latency_ms, status_code, error, recent`

// scanOverview reads one site_state row (overviewColumns) into an
// overview row; checked_at 0 (never checked) is state unknown.
func scanOverview(row interface{ Scan(...any) error }) (*SiteOverview, error) {
	var (
		o      SiteOverview
		at     int64
		recent string
	)
	if err := row.Scan(&o.SiteID, &o.State, &at, &o.LatencyMS, &o.StatusCode, &o.Error, &recent); err != nil {
		return nil, err
	}
	if at == 0 {
		o.State = StateUnknown
	} else {
		o.CheckedAt = time.UnixMilli(at).UTC()
	}
	o.Recent = decodeRecent(recent)
	return &o, nil
}

// decodeRecent decodes a site_state recent ring, never nil. The overview
// decodes one ring per site on every view, and encoding/json made that the
// largest cost of the 5,000-site dashboard, so the form appendRecent
// writes is parsed directly; anything else goes through encoding/json.
func decodeRecent(ring string) []RecentCheck {
	if out, ok := parseRecent(ring); ok {
		return out
	}
	var list []recentCheck
	if ring != "" {
		_ = json.Unmarshal([]byte(ring), &list)
	}
	out := make([]RecentCheck, len(list))
	for i, r := range list {
		out[i] = RecentCheck{At: time.Unix(r.At, 0).UTC(), Up: r.State != 0, Slow: r.State == 2, LatencyMS: r.LatencyMS}
	}
	return out
}

// parseRecent parses [{"t":1,"s":1,"l":2},…] exactly as json.Marshal
// writes a []recentCheck (no spaces, integer values, keys t, s and l);
// ok is false for anything else.
func parseRecent(s string) (out []RecentCheck, ok bool) {
	if len(s) < 2 || s[0] != '[' {
		return nil, false
	}
	out = make([]RecentCheck, 0, recentLen)
	if s == "[]" {
		return out, true
	}
	i := 1
	for {
		if i >= len(s) || s[i] != '{' {
			return nil, false
		}
		i++
		var t, st, l int64
		for {
			if i+4 > len(s) || s[i] != '"' || s[i+2] != '"' || s[i+3] != ':' {
				return nil, false
			}
			key := s[i+1]
			j := i + 4
			if j < len(s) && s[j] == '-' {
				j++
			}
			start := j
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == start || j-start > 18 {
				return nil, false
			}
			n, err := strconv.ParseInt(s[i+4:j], 10, 64)
			if err != nil {
				return nil, false
			}
			switch key {
			case 't':
				t = n
			case 's':
				st = n
			case 'l':
				l = n
			default:
				return nil, false
			}
			i = j
			if i >= len(s) {
				return nil, false
			}
			if s[i] == '}' {
				i++
				break
			}
			if s[i] != ',' {
				return nil, false
			}
			i++
		}
		out = append(out, RecentCheck{At: time.Unix(t, 0).UTC(), Up: st != 0, Slow: st == 2, LatencyMS: l})
		switch {
		case i == len(s)-1 && s[i] == ']':
			return out, true
		case i < len(s) && s[i] == ',':
			i++
		default:
			return nil, false
		}
	}
}

// Overview returns every site's overview row, read from the state table
// and the hour rollups in two queries, whatever the number of checks. The
// two run at once, on two connections: they are independent, and the
// rollups' is the slower.
func (s *Service) Overview(ctx context.Context) (map[int64]*SiteOverview, error) {
	now := s.opts.Now()
	type uptimes struct {
		byID map[int64]*float64
		err  error
	}
	upc := make(chan uptimes, 1)
	go func() {
		byID, err := s.uptimes24h(ctx, now)
		upc <- uptimes{byID, err}
	}()
	out, err := s.overviewStates(ctx)
	up := <-upc
	if err != nil {
		return nil, err
	}
	if up.err != nil {
		return nil, up.err
	}
	for id, p := range up.byID {
		if o := out[id]; o != nil {
			o.Uptime24h = p
		}
	}
	windows, err := s.loadMaintenance(ctx)
	if err != nil || len(windows) == 0 {
		return out, nil
	}
	list, err := s.sites.List(ctx, &site.ListParams{})
	if err != nil {
		return out, nil
	}
	for _, st := range list.Sites {
		if o := out[st.ID]; o != nil {
			o.Maintenance = inMaintenance(windows, st, now)
		}
	}
	return out, nil
}

// overviewStates reads every site_state row as an overview row.
func (s *Service) overviewStates(ctx context.Context) (map[int64]*SiteOverview, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+overviewColumns+` FROM site_state`)
	if err != nil {
		return nil, dbError("overview", err)
	}
	defer rows.Close()
	out := map[int64]*SiteOverview{}
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
	return out, nil
}

// uptimes24h returns every site's uptime over the 24 hours before now
// (nil for a site without checks), from the rollups.
func (s *Service) uptimes24h(ctx context.Context, now time.Time) (map[int64]*float64, error) {
	q := s.uptime24h(now)
	rows, err := s.db.QueryContext(ctx,
		`SELECT site_id, `+q.sums+` FROM rollups WHERE `+q.where+` GROUP BY site_id`, q.args...)
	if err != nil {
		return nil, dbError("overview", err)
	}
	defer rows.Close()
	out := map[int64]*float64{}
	for rows.Next() {
		var id, up, total int64
		if err := rows.Scan(&id, &up, &total); err != nil {
			return nil, dbError("overview", err)
		}
		out[id] = percent(up, total)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("overview", err)
	}
	return out, nil
}

// uptimeQuery sums the checks of a window from the rollups: sums are the
// up and total expressions over the rows that where ($1…$3) selects.
type uptimeQuery struct {
	sums, where string
	args        []any
}

// uptime24h sums the checks of the hour buckets from now-24h (truncated
// to the hour) on, the overview's "uptime 24h".
//
// Summing those 25 hour rows a site made their table lookups the largest
// cost of the 5,000-site overview. A day row holds the sum of its day's
// hour rows (rollupBatch adds every check to both, in one transaction),
// so whole days are read from their day row, and only the part of a day
// the window cuts from hour rows: with the window starting at hour H of
// yesterday (D0),
//
//   - H < 12: the day rows from D0 on, less D0's hour rows before H
//     (2 + H rows);
//   - H ≥ 12: D0's hour rows from H on, and the day rows after D0
//     (1 + 24 − H rows);
//
// 13 rows a site at most. With a rollup retention under three days,
// Prune may have deleted a day row whose later hours remain, so the hour
// rows are summed as they are.
func (s *Service) uptime24h(now time.Time) uptimeQuery {
	from := now.Add(-24 * time.Hour).Truncate(time.Hour)
	if s.opts.RollupRetention < 3*24*time.Hour {
		return uptimeQuery{sums: `SUM(up_count), SUM(up_count + down_count)`,
			where: `res = $1 AND bucket >= $2`, args: []any{resHour, from.UnixMilli()}}
	}
	d0 := from.Truncate(24 * time.Hour)
	d1 := d0.Add(24 * time.Hour)
	const where = `(res = $1 AND bucket >= $2) OR (res = $3 AND bucket >= $4 AND bucket < $5)`
	if from.Sub(d0) < 12*time.Hour {
		return uptimeQuery{
			sums: `SUM(CASE WHEN res = 'h' THEN -up_count ELSE up_count END), ` +
				`SUM(CASE WHEN res = 'h' THEN -(up_count + down_count) ELSE up_count + down_count END)`,
			where: where, args: []any{resDay, d0.UnixMilli(), resHour, d0.UnixMilli(), from.UnixMilli()}}
	}
	return uptimeQuery{sums: `SUM(up_count), SUM(up_count + down_count)`,
		where: where, args: []any{resDay, d1.UnixMilli(), resHour, from.UnixMilli(), d1.UnixMilli()}}
}

// SiteOverviewOf returns one site's overview row, as Overview computes it
// for every site, from that site's state row, its hour rollups of the
// last 24 hours and the maintenance windows: pages about one site need
// not read every site's state. A site never checked has state unknown and
// no recent checks; an unknown site is not_found.
func (s *Service) SiteOverviewOf(ctx context.Context, siteID int64) (*SiteOverview, error) {
	st, err := s.requireSite(ctx, siteID)
	if err != nil {
		return nil, err
	}
	o, err := scanOverview(s.db.QueryRowContext(ctx, `SELECT `+overviewColumns+` FROM site_state WHERE site_id = $1`, siteID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		o = &SiteOverview{SiteID: siteID, State: StateUnknown, Recent: []RecentCheck{}}
	case err != nil:
		return nil, dbError("overview", err)
	}
	now := s.opts.Now()
	q := s.uptime24h(now)
	var up, total sql.NullInt64
	if err := s.db.QueryRowContext(ctx,
		`SELECT `+q.sums+` FROM rollups WHERE site_id = $`+strconv.Itoa(len(q.args)+1)+` AND (`+q.where+`)`,
		append(q.args, siteID)...).Scan(&up, &total); err != nil {
		return nil, dbError("overview", err)
	}
	o.Uptime24h = percent(up.Int64, total.Int64)
	// As in Overview, a failure to read the windows only hides the flag.
	if windows, err := s.loadMaintenance(ctx); err == nil {
		o.Maintenance = inMaintenance(windows, st, now)
	}
	return o, nil
}
