package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// Check is one recorded check.
type Check struct {
	// ID identifies the check.
	ID int64 `json:"id"`
	// SiteID is the checked site.
	SiteID int64 `json:"site_id"`
	// Up is the check's outcome.
	Up bool `json:"up"`
	// State is up, down or degraded (up but slow).
	State string `json:"state"`
	// CheckedAt is when it ran.
	CheckedAt time.Time `json:"checked_at"`
	// LatencyMS is its duration.
	LatencyMS int64 `json:"latency_ms"`
	// StatusCode is the HTTP status (0 if none).
	StatusCode int `json:"status_code"`
	// Error is the failure reason.
	Error string `json:"error"`
	// DNSMS, ConnectMS, TLSMS and FirstByteMS are the parts of the latency.
	DNSMS       int64 `json:"dns_ms"`
	ConnectMS   int64 `json:"connect_ms"`
	TLSMS       int64 `json:"tls_ms"`
	FirstByteMS int64 `json:"first_byte_ms"`
	// TLSDaysLeft is the days until the certificate expires (https).
	TLSDaysLeft *int `json:"tls_days_left"`
	// Attempts counts the attempts made, retries included.
	Attempts int `json:"attempts"`
}

// ChecksParams page through a site's checks.
type ChecksParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
	// Since, if set (RFC 3339 or unix ms), returns checks after it, oldest
	// first; otherwise the latest checks, newest first.
	Since string `query:"since"`
	// Before, if set, returns checks before it, newest first (paging back).
	Before string `query:"before"`
	// Limit is the page size (default 100, at most 1000).
	Limit int `query:"limit"`
}

// ChecksResponse is a page of checks.
type ChecksResponse struct {
	// Checks is the page; never nil.
	Checks []Check `json:"checks"`
	// Next is the value of since (or before) that fetches the next page;
	// empty when this page is the last.
	Next string `json:"next"`
}

// parseTime reads an RFC 3339 time or unix milliseconds.
func parseTime(field, v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms >= 0 && ms < 1<<53 {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, api.FieldError(field, "must be an RFC 3339 time or unix milliseconds")
	}
	return t.UTC(), nil
}

func (s *Service) requireSite(ctx context.Context, id int64) (*site.Site, error) {
	return s.sites.Get(ctx, &site.GetParams{ID: id})
}

// SiteChecks pages through a site's recorded checks.
func (s *Service) SiteChecks(ctx context.Context, p *ChecksParams) (*ChecksResponse, error) {
	if _, err := s.requireSite(ctx, p.SiteID); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return nil, api.FieldError("limit", "must be between 1 and 1000")
	}
	if p.Since != "" && p.Before != "" {
		return nil, api.FieldError("since", "give since or before, not both")
	}
	const cols = `id, site_id, up, state, checked_at, latency_ms, status_code, error, dns_ms, connect_ms, tls_ms, first_byte_ms, tls_days_left, attempts`
	q := `SELECT ` + cols + ` FROM checks WHERE site_id = $1 ORDER BY checked_at DESC, id DESC LIMIT $2`
	args := []any{p.SiteID, limit + 1}
	switch {
	case p.Since != "":
		t, err := parseTime("since", p.Since)
		if err != nil {
			return nil, err
		}
		q = `SELECT ` + cols + ` FROM checks WHERE site_id = $1 AND checked_at > $3 ORDER BY checked_at, id LIMIT $2`
		args = append(args, t.UnixMilli())
	case p.Before != "":
		t, err := parseTime("before", p.Before)
		if err != nil {
			return nil, err
		}
		q = `SELECT ` + cols + ` FROM checks WHERE site_id = $1 AND checked_at < $3 ORDER BY checked_at DESC, id DESC LIMIT $2`
		args = append(args, t.UnixMilli())
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbError("checks", err)
	}
	defer rows.Close()
	out := &ChecksResponse{Checks: []Check{}}
	for rows.Next() {
		var (
			c    Check
			at   int64
			days *int64
		)
		if err := rows.Scan(&c.ID, &c.SiteID, &c.Up, &c.State, &at, &c.LatencyMS, &c.StatusCode, &c.Error,
			&c.DNSMS, &c.ConnectMS, &c.TLSMS, &c.FirstByteMS, &days, &c.Attempts); err != nil {
			return nil, dbError("checks", err)
		}
		if c.State == "" {
			c.State = StateDown
			if c.Up {
				c.State = StateUp
			}
		}
		if days != nil {
			d := int(*days)
			c.TLSDaysLeft = &d
		}
		c.CheckedAt = time.UnixMilli(at).UTC()
		out.Checks = append(out.Checks, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("checks", err)
	}
	if len(out.Checks) > limit {
		// The cursor is a millisecond: end the page before the checks
		// that share a millisecond with the first check left out, so the
		// next page (since or before the page's last time) neither
		// repeats nor skips one. Only a millisecond holding more than
		// limit checks is split (the rest of it is skipped).
		extra := out.Checks[limit].CheckedAt
		keep := limit
		for keep > 0 && out.Checks[keep-1].CheckedAt.Equal(extra) {
			keep--
		}
		if keep == 0 {
			keep = limit
		}
		out.Checks = out.Checks[:keep]
		out.Next = strconv.FormatInt(out.Checks[keep-1].CheckedAt.UnixMilli(), 10)
	}
	return out, nil
}

// Windows the uptime endpoint accepts.
var uptimeWindows = map[string]time.Duration{
	"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour,
	"90d": 90 * 24 * time.Hour, "365d": 365 * 24 * time.Hour,
}

// ParseWindow reads a window such as "24h", "7d" or "90m" (at most a year).
func ParseWindow(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, api.FieldError(field, "is required (for example 24h or 30d)")
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, api.FieldError(field, "must be like 24h, 7d or 5m")
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, api.FieldError(field, "must be like 24h, 7d or 5m")
		}
	}
	if d > 366*24*time.Hour {
		return 0, api.FieldError(field, "must be at most 365d")
	}
	return d, nil
}

// UptimeParams select a site and a window.
type UptimeParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
	// Window is 24h, 7d, 30d, 90d or 365d (default 24h).
	Window string `query:"window"`
}

// UptimeResponse is a site's uptime over a window.
type UptimeResponse struct {
	// Window echoes the window.
	Window string `json:"window"`
	// Uptime is the percentage of checks that were up (degraded counts as
	// up), or null when there were none.
	Uptime *float64 `json:"uptime"`
	// Checks is how many checks the window holds.
	Checks int64 `json:"checks"`
}

// resolutionFor picks the rollup resolution for a window: minutes up to a
// day, hours up to 90 days, days beyond.
func resolutionFor(window time.Duration) (string, time.Duration) {
	switch {
	case window <= 24*time.Hour:
		return resMinute, time.Minute
	case window <= 90*24*time.Hour:
		return resHour, time.Hour
	}
	return resDay, 24 * time.Hour
}

// SiteUptime computes a site's uptime over a window from its rollups.
func (s *Service) SiteUptime(ctx context.Context, p *UptimeParams) (*UptimeResponse, error) {
	if p.Window == "" {
		p.Window = "24h"
	}
	window, ok := uptimeWindows[p.Window]
	if !ok {
		return nil, api.FieldError("window", "must be 24h, 7d, 30d, 90d or 365d")
	}
	if _, err := s.requireSite(ctx, p.SiteID); err != nil {
		return nil, err
	}
	up, total, err := s.uptime(ctx, p.SiteID, window, s.opts.Now())
	if err != nil {
		return nil, err
	}
	return &UptimeResponse{Window: p.Window, Uptime: percent(up, total), Checks: total}, nil
}

func (s *Service) uptime(ctx context.Context, siteID int64, window time.Duration, now time.Time) (up, total int64, err error) {
	res, size := resolutionFor(window)
	from := now.Add(-window).Truncate(size)
	err = s.db.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(up_count), 0), COALESCE(SUM(up_count + down_count), 0) FROM rollups WHERE site_id = $1 AND res = $2 AND bucket >= $3`,
		siteID, res, from.UnixMilli()).Scan(&up, &total)
	if err != nil {
		return 0, 0, dbError("uptime", err)
	}
	return up, total, nil
}

func percent(up, total int64) *float64 {
	if total <= 0 {
		return nil
	}
	v := math.Round(float64(up)/float64(total)*100*1000) / 1000
	return &v
}

// IncidentsParams select a site's incidents.
type IncidentsParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
	// Limit is the most incidents returned, newest first (default 50, at
	// most 1000).
	Limit int `query:"limit"`
}

// Incident is one down period.
type Incident struct {
	// Start is when the site was reported down.
	Start time.Time `json:"start"`
	// End is when it came back, or null while ongoing.
	End *time.Time `json:"end"`
	// Ongoing is true while the site is still down.
	Ongoing bool `json:"ongoing"`
	// DurationSeconds is End (or now) minus Start.
	DurationSeconds int64 `json:"duration_seconds"`
	// Reason is why it went down.
	Reason string `json:"reason"`
}

// IncidentsResponse lists incidents.
type IncidentsResponse struct {
	// Incidents, newest first; never nil.
	Incidents []Incident `json:"incidents"`
}

// SiteIncidents lists a site's down periods.
func (s *Service) SiteIncidents(ctx context.Context, p *IncidentsParams) (*IncidentsResponse, error) {
	limit := p.Limit
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 1000 {
		return nil, api.FieldError("limit", "must be between 1 and 1000")
	}
	if _, err := s.requireSite(ctx, p.SiteID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT started_at, ended_at, reason FROM incidents WHERE site_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, p.SiteID, limit)
	if err != nil {
		return nil, dbError("incidents", err)
	}
	defer rows.Close()
	now := s.opts.Now()
	out := &IncidentsResponse{Incidents: []Incident{}}
	for rows.Next() {
		var (
			start int64
			end   *int64
			inc   Incident
		)
		if err := rows.Scan(&start, &end, &inc.Reason); err != nil {
			return nil, dbError("incidents", err)
		}
		inc.Start = time.UnixMilli(start).UTC()
		stop := now
		if end != nil {
			e := time.UnixMilli(*end).UTC()
			inc.End, stop = &e, e
		} else {
			inc.Ongoing = true
		}
		inc.DurationSeconds = int64(stop.Sub(inc.Start).Seconds())
		out.Incidents = append(out.Incidents, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("incidents", err)
	}
	return out, nil
}

// LatencyParams select a latency series.
type LatencyParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
	// Window is how far back (default 24h, at most 365d).
	Window string `query:"window"`
	// Step is the width of a point (default window/60, at least the
	// window's rollup resolution).
	Step string `query:"step"`
}

// LatencyPoint is one step of a latency series (successful checks only).
type LatencyPoint struct {
	// At is the start of the step.
	At time.Time `json:"at"`
	// P50MS, P95MS and MaxMS summarise the latency.
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
	MaxMS float64 `json:"max_ms"`
	// Count is how many checks fell in the step; Up and Down split it.
	Count int64 `json:"count"`
	Up    int64 `json:"up"`
	Down  int64 `json:"down"`
}

// LatencyResponse is a latency series for charts.
type LatencyResponse struct {
	// Window and Step echo the request.
	Window string `json:"window"`
	Step   string `json:"step"`
	// Points are oldest first; steps without checks are omitted.
	Points []LatencyPoint `json:"points"`
}

// SiteLatency returns a site's latency series from its rollups.
func (s *Service) SiteLatency(ctx context.Context, p *LatencyParams) (*LatencyResponse, error) {
	if p.Window == "" {
		p.Window = "24h"
	}
	window, err := ParseWindow("window", p.Window)
	if err != nil {
		return nil, err
	}
	res, size := resolutionFor(window)
	step := window / 60
	if p.Step != "" {
		if step, err = ParseWindow("step", p.Step); err != nil {
			return nil, err
		}
	}
	step = max(step.Truncate(size), size)
	if window/step > 2000 {
		return nil, api.FieldError("step", "too small for the window (at most 2000 points)")
	}
	// Answer with the step actually used (rounded to the resolution).
	p.Step = site.Duration(step).String()
	if _, err := s.requireSite(ctx, p.SiteID); err != nil {
		return nil, err
	}
	now := s.opts.Now()
	from := now.Add(-window).Truncate(step)
	buckets, rolls, err := s.readRollups(ctx, p.SiteID, res, from, now.Add(size))
	if err != nil {
		return nil, dbError("latency", err)
	}
	out := &LatencyResponse{Window: p.Window, Step: p.Step, Points: []LatencyPoint{}}
	var (
		cur   *rollup
		curAt int64 = -1
	)
	emit := func() {
		if cur == nil {
			return
		}
		out.Points = append(out.Points, LatencyPoint{
			At: time.UnixMilli(curAt).UTC(), P50MS: cur.percentile(0.5), P95MS: cur.percentile(0.95),
			MaxMS: float64(cur.LatencyMax), Count: cur.Up + cur.Down, Up: cur.Up, Down: cur.Down,
		})
	}
	for i, b := range buckets {
		at := time.UnixMilli(b).Truncate(step).UnixMilli()
		if at != curAt {
			emit()
			cur, curAt = &rollup{}, at
		}
		cur.merge(rolls[i])
	}
	emit()
	return out, nil
}

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
