package monitor

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// checkLocationParam validates the location query parameter of the
// history endpoints: empty (every location), one of the site's
// locations, or a location the cluster knows (the site may have been
// checked from it before its set changed). Anything else is a 400 naming
// "location".
func (s *Service) checkLocationParam(st *site.Site, loc string) error {
	if loc == "" {
		return nil
	}
	if !site.ValidLocationName(loc) {
		return api.FieldError("location", "must be 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	if !slices.Contains(st.Locations, loc) && !s.locs.known(loc) {
		return api.FieldError("location", "unknown location %q: the site is not checked from it", loc)
	}
	return nil
}

// oneLocationOf says whether a latency series of st must be restricted
// to loc: a location is asked for, and the site is not checked from that
// location alone (then the combined series is the location's, and is
// answered from the rollups exactly as without the parameter).
func (s *Service) oneLocationOf(st *site.Site, loc string) bool {
	return loc != "" && !(len(st.Locations) == 1 && st.Locations[0] == loc)
}

// locationLatency is SiteLatency for one location: the rollups hold every
// location together, so the series is computed from the raw checks of
// that location, in the same histogram as the rollups (the same
// percentiles for the same checks). Raw checks are kept --raw-retention
// (7 days by default): a longer window shows only that part.
func (s *Service) locationLatency(ctx context.Context, p *LatencyParams, window, step time.Duration) (*LatencyResponse, error) {
	now := s.opts.Now()
	from := now.Add(-window).Truncate(step)
	// The checks as /checks reads them: rows and compacted blocks
	// (history_read.go), in one snapshot, oldest first.
	var checks []storedCheck
	err := s.readSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		checks, err = s.readChecks(ctx, tx, &checksQuery{site: p.SiteID, loc: p.Location, hasBound: true,
			bound: from.UnixMilli() - 1, want: math.MaxInt32})
		return err
	})
	if err != nil {
		return nil, dbError("latency", err)
	}
	out := &LatencyResponse{Window: p.Window, Step: p.Step, Points: []LatencyPoint{}}
	var (
		cur   *rollup
		curAt int64 = -1
	)
	emit := func() {
		if cur != nil {
			out.Points = append(out.Points, latencyPointOf(cur, curAt))
		}
	}
	for _, c := range checks {
		bucket := time.UnixMilli(c.At).Truncate(step).UnixMilli()
		if bucket != curAt {
			emit()
			cur, curAt = &rollup{}, bucket
		}
		cur.add(Result{Up: c.Up, Slow: c.State == StateDegraded, Latency: time.Duration(c.LatencyMS) * time.Millisecond})
	}
	emit()
	return out, nil
}

// latencyPointOf is one point of a latency series from a step's
// aggregate.
func latencyPointOf(r *rollup, at int64) LatencyPoint {
	return LatencyPoint{
		At: time.UnixMilli(at).UTC(), P50MS: r.percentile(0.5), P95MS: r.percentile(0.95),
		MaxMS: float64(r.LatencyMax), Count: r.Up + r.Down, Up: r.Up, Down: r.Down,
	}
}
