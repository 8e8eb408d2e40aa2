package web

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"upmon/monitor"
	"upmon/site"
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

// splitSource is the part of the monitor that tells which sites'
// locations disagree; a MonitorSource without it marks none.
type splitSource interface {
	LocationSplits(ctx context.Context, sites []*site.Site) (map[int64]*monitor.LocationSplit, error)
}

// locationSplits returns the entries' sites whose live locations
// disagree (none when that cannot be read: the page still renders,
// without the marks).
func (h *Handler) locationSplits(ctx context.Context, entries []entry) map[int64]*monitor.LocationSplit {
	src, ok := h.opts.Monitor.(splitSource)
	if !ok || len(entries) == 0 {
		return nil
	}
	sites := make([]*site.Site, len(entries))
	for i := range entries {
		sites[i] = entries[i].site
	}
	splits, err := src.LocationSplits(ctx, sites)
	if err != nil {
		h.log.Warn("cannot tell which sites' locations disagree", "err", err)
		return nil
	}
	return splits
}

// splitTitle is the overview mark's tooltip: which locations see the
// site down and which up ("" when they agree). static/app.js writes the
// same text from /frontend/state.json.
func splitTitle(sp *monitor.LocationSplit) string {
	if sp == nil {
		return ""
	}
	return "Locations disagree: down from " + strings.Join(sp.Down, ", ") + "; up from " + strings.Join(sp.Up, ", ")
}

// chartLocation is the site page chart's location from ?location=: one
// of the site's locations when it has several, else "" (every location).
func chartLocation(s *site.Site, loc string) string {
	if len(s.Locations) < 2 || !slices.Contains(s.Locations, loc) {
		return ""
	}
	return loc
}

// chartURL links the site page's chart with a window and a location.
func chartURL(link, window, loc string) string {
	q := url.Values{"window": {window}}
	if loc != "" {
		q.Set("location", loc)
	}
	return link + "?" + q.Encode() + "#chart"
}

// chartLocationLinks are the chart's location choices of a site on
// several locations: all of them together, then each one.
func chartLocationLinks(link string, s *site.Site, window, current string) []windowLink {
	if len(s.Locations) < 2 {
		return nil
	}
	out := []windowLink{{Name: "all locations", Current: current == "", URL: chartURL(link, window, "")}}
	for _, l := range s.Locations {
		out = append(out, windowLink{Name: l, Current: l == current, URL: chartURL(link, window, l)})
	}
	return out
}
