package web

import (
	"context"

	"upmon/monitor"
)

// locationSource is the part of the monitor that answers a site's
// per-location view; a MonitorSource without it shows no location rows.
type locationSource interface {
	SiteLocations(ctx context.Context, p *monitor.SiteLocationsParams) (*monitor.SiteLocationsResponse, error)
}

// locationView is one row of the site page's Locations table.
type locationView struct {
	Name, State string
	Live        bool
	Latency     string
	ISO, Exact  string
	Checked     bool
	StatusCode  int
	Error       string
}

// siteLocations returns the rows of a site checked from more than one
// location (none for a site on one location, or when it cannot be read:
// the rest of the page still renders) and whether they disagree.
func (h *Handler) siteLocations(ctx context.Context, id int64) ([]locationView, bool) {
	src, ok := h.opts.Monitor.(locationSource)
	if !ok {
		return nil, false
	}
	r, err := src.SiteLocations(ctx, &monitor.SiteLocationsParams{SiteID: id})
	if err != nil || len(r.Locations) < 2 {
		return nil, false
	}
	out := make([]locationView, 0, len(r.Locations))
	for _, l := range r.Locations {
		v := locationView{Name: l.Location, State: normState(l.State), Live: l.Live, Latency: fmtMS(l.LatencyMS),
			StatusCode: l.StatusCode, Error: l.Error}
		if l.CheckedAt != nil {
			v.Checked, v.ISO, v.Exact = true, isoTime(*l.CheckedAt), exactTime(*l.CheckedAt)
		}
		out = append(out, v)
	}
	return out, r.Disagree
}
