package web

import (
	"context"
	"slices"

	"upmon/monitor"
	"upmon/site"
)

// PagedSites is the optional part of SiteSource that lets the overview
// read one page instead of every site; *site.Service implements it.
type PagedSites interface {
	// Count returns the number of sites.
	Count(ctx context.Context) (int, error)
	// ListByName returns a page of sites in name order (name, else URL,
	// case-folded; then id), leaving out exclude.
	ListByName(ctx context.Context, offset, limit int, exclude []int64) ([]*site.Site, error)
	// GetMany returns the existing sites among ids (sorted, distinct).
	GetMany(ctx context.Context, ids []int64) ([]*site.Site, error)
}

// PagedMonitor is the optional part of MonitorSource that lets the
// overview read one page; *monitor.Service implements it.
type PagedMonitor interface {
	// StateSummary counts the states and lists the sites not up.
	StateSummary(ctx context.Context) (*monitor.StateSummary, error)
	// OverviewOf returns the overview rows of the given sites.
	OverviewOf(ctx context.Context, sites []*site.Site) (map[int64]*SiteOverview, error)
}

// The services the program wires in page; a change that lost a method
// would silently bring back the join of every site.
var (
	_ PagedSites   = (*site.Service)(nil)
	_ PagedMonitor = (*monitor.Service)(nil)
)

// maxNotUp is the most sites not up for which the overview still reads
// one page: beyond it (a mass outage) it reads every site.
const maxNotUp = 1000

// summary is the state of every site as far as the default overview
// needs it: the totals, and the sites not up as entries in display order.
type summary struct {
	ps    PagedSites
	pm    PagedMonitor
	tot   totals
	notUp []entry // down, degraded, unknown, in the overview's order
}

// loadSummary reads the summary by aggregate queries and the few sites
// that are not up. ok is false when the sources cannot page or the page
// would not be exact (a maintenance window active now, sites without a
// state row yet, more than maxNotUp sites not up): the caller then joins
// every site.
func (h *Handler) loadSummary(ctx context.Context) (sm *summary, ok bool, err error) {
	ps, ok1 := h.opts.Sites.(PagedSites)
	pm, ok2 := h.opts.Monitor.(PagedMonitor)
	if !ok1 || !ok2 {
		return nil, false, nil
	}
	var (
		states    *monitor.StateSummary
		statesErr error
		done      = make(chan struct{})
	)
	go func() {
		defer close(done)
		states, statesErr = pm.StateSummary(ctx)
	}()
	all, err := ps.Count(ctx)
	<-done
	if err != nil {
		return nil, false, err
	}
	if statesErr != nil {
		return nil, false, statesErr
	}
	if states.Maintenance || len(states.NotUp)+len(states.Paused) > maxNotUp || states.Rows < all {
		return nil, false, nil
	}
	ids := slices.Clone(states.Paused)
	for id := range states.NotUp {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	sites, err := ps.GetMany(ctx, slices.Compact(ids))
	if err != nil {
		return nil, false, err
	}
	paused := make(map[int64]bool, len(states.Paused))
	for _, id := range states.Paused {
		paused[id] = true
	}
	sm = &summary{ps: ps, pm: pm, tot: totals{All: all}}
	for _, s := range sites {
		if paused[s.ID] {
			sm.tot.Paused++
		}
		state, ok := states.NotUp[s.ID]
		if !ok {
			continue
		}
		e := h.newEntry(ctx, s, nil)
		e.state = normState(state)
		switch e.state {
		case StateDown:
			sm.tot.Down++
		case StateDegraded:
			sm.tot.Degraded++
		case StateUp:
			continue // listed with the up sites
		default:
			sm.tot.Unknown++
		}
		sm.notUp = append(sm.notUp, e)
	}
	sm.tot.Up = all - sm.tot.Down - sm.tot.Degraded - sm.tot.Unknown
	sortEntries(sm.notUp, "status")
	return sm, true, nil
}

// page returns the entries lo..hi of the default order (down, degraded,
// unknown, then up, each by name): the sites not up from the summary,
// the rest one page from the site service, joined with their overview
// rows only. byName orders every site by name instead.
func (sm *summary) page(ctx context.Context, h *Handler, lo, hi int, byName bool) ([]entry, error) {
	k := len(sm.notUp)
	if byName {
		k = 0
	}
	var out []entry
	if lo < k {
		out = append(out, sm.notUp[lo:min(hi, k)]...)
	}
	if hi > k {
		exclude := make([]int64, k)
		for i, e := range sm.notUp[:k] {
			exclude[i] = e.site.ID
		}
		from := max(lo, k)
		ups, err := sm.ps.ListByName(ctx, from-k, hi-from, exclude)
		if err != nil {
			return nil, err
		}
		for _, s := range ups {
			out = append(out, h.newEntry(ctx, s, nil))
		}
	}
	sites := make([]*site.Site, len(out))
	for i := range out {
		sites[i] = out[i].site
	}
	ovs, err := sm.pm.OverviewOf(ctx, sites)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if ov := ovs[out[i].site.ID]; ov != nil {
			out[i].ov, out[i].state = ov, normState(ov.State)
		} else {
			out[i].ov, out[i].state = nil, StateUnknown
		}
	}
	return out, nil
}

// liveEntries returns the totals and the entries of the wanted sites
// (others may be included): from the summary and those sites' rows when
// the sources page, else from the join of every site.
func (h *Handler) liveEntries(ctx context.Context, want map[int64]bool) ([]entry, totals, error) {
	sm, ok, err := h.loadSummary(ctx)
	if err != nil {
		return nil, totals{}, err
	}
	if !ok {
		return h.loadEntries(ctx)
	}
	ids := make([]int64, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	sites, err := sm.ps.GetMany(ctx, ids)
	if err != nil {
		return nil, totals{}, err
	}
	ovs, err := sm.pm.OverviewOf(ctx, sites)
	if err != nil {
		return nil, totals{}, err
	}
	out := make([]entry, len(sites))
	for i, s := range sites {
		out[i] = h.newEntry(ctx, s, ovs[s.ID])
	}
	return out, sm.tot, nil
}
