package monitor

import (
	"context"
	"database/sql"
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
	// Location is where the check ran from (docs/locations.md).
	Location string `json:"location"`
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
	// Location, if set, returns only the checks from that location.
	Location string `query:"location"`
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
	st, err := s.requireSite(ctx, p.SiteID)
	if err != nil {
		return nil, err
	}
	if err := s.checkLocationParam(st, p.Location); err != nil {
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
	q := &checksQuery{site: p.SiteID, loc: p.Location, desc: true, want: limit + 1}
	switch {
	case p.Since != "":
		t, err := parseTime("since", p.Since)
		if err != nil {
			return nil, err
		}
		q.desc, q.hasBound, q.bound = false, true, t.UnixMilli()
	case p.Before != "":
		t, err := parseTime("before", p.Before)
		if err != nil {
			return nil, err
		}
		q.hasBound, q.bound = true, t.UnixMilli()
	}
	var page []storedCheck
	err = s.readSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		page, err = s.readChecks(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, dbError("checks", err)
	}
	out := &ChecksResponse{Checks: make([]Check, 0, len(page))}
	for i := range page {
		out.Checks = append(out.Checks, page[i].check())
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
	err = s.readSnapshot(ctx, func(tx *sql.Tx) error {
		_, rolls, err := s.readBuckets(ctx, tx, siteID, res, from.UnixMilli(), math.MaxInt64)
		for _, r := range rolls {
			up += r.Up
			total += r.Up + r.Down
		}
		return err
	})
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
	// Location, if set, returns the series of the checks from that
	// location alone (docs/locations.md); default: every location.
	Location string `query:"location"`
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
	st, err := s.requireSite(ctx, p.SiteID)
	if err != nil {
		return nil, err
	}
	if err := s.checkLocationParam(st, p.Location); err != nil {
		return nil, err
	}
	if s.oneLocationOf(st, p.Location) {
		return s.locationLatency(ctx, p, window, step)
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
