package web

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"upmon/site"
)

// entry is one site joined with its state, cheap enough to build for
// every site before sorting and paging.
type entry struct {
	site *site.Site
	ov   *SiteOverview // nil when never checked
	name string        // display name: the setting, else the URL
	// setName is the name setting ("" when unset).
	setName string
	// lowerName is name in lower case, for sorting and filtering.
	lowerName string
	state     string
	paused    bool
	tags      []string
	settings  *SiteSettings
}

// totals counts sites by state, over all sites.
type totals struct {
	All         int `json:"all"`
	Up          int `json:"up"`
	Down        int `json:"down"`
	Degraded    int `json:"degraded"`
	Unknown     int `json:"unknown"`
	Paused      int `json:"paused"`
	Maintenance int `json:"maintenance"`
}

// loadEntries lists the sites and joins them with the monitor's
// overview: two calls, whatever the number of sites, made at once (they
// read two databases).
func (h *Handler) loadEntries(ctx context.Context) ([]entry, totals, error) {
	var (
		ovs    map[int64]*SiteOverview
		ovsErr error
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		ovs, ovsErr = h.opts.Monitor.Overview(ctx)
	}()
	list, err := h.opts.Sites.List(ctx, &site.ListParams{})
	<-done
	if err != nil {
		return nil, totals{}, err
	}
	if ovsErr != nil {
		return nil, totals{}, ovsErr
	}
	out := make([]entry, len(list.Sites))
	var t totals
	for i, s := range list.Sites {
		e := h.newEntry(ctx, s, ovs[s.ID])
		out[i] = e
		t.All++
		switch e.state {
		case StateUp:
			t.Up++
		case StateDown:
			t.Down++
		case StateDegraded:
			t.Degraded++
		default:
			t.Unknown++
		}
		if e.paused {
			t.Paused++
		}
		if e.ov != nil && e.ov.Maintenance {
			t.Maintenance++
		}
	}
	return out, t, nil
}

// newEntry joins a site (as the caller of ctx may see it) with its
// overview row (nil when never checked).
func (h *Handler) newEntry(ctx context.Context, s *site.Site, ov *SiteOverview) entry {
	s = viewSite(ctx, s)
	e := entry{site: s, ov: ov, name: s.URL, state: StateUnknown}
	if e.ov != nil {
		e.state = normState(e.ov.State)
	}
	if h.opts.Settings != nil {
		st := h.opts.Settings.SettingsOf(s)
		e.settings = &st
		if st.Name != "" {
			e.name, e.setName = st.Name, st.Name
		}
		e.paused, e.tags = st.Paused, st.Tags
	}
	e.lowerName = strings.ToLower(e.name)
	return e
}

// matches reports whether e matches the lower-cased filter q (name, URL
// or a tag; several words must all match).
func (e *entry) matches(q string) bool {
	if q == "" {
		return true
	}
	for w := range strings.FieldsSeq(q) {
		if !strings.Contains(e.lowerName, w) && !strings.Contains(strings.ToLower(e.site.URL), w) &&
			!slices.ContainsFunc(e.tags, func(t string) bool { return strings.EqualFold(t, w) }) &&
			w != e.state {
			return false
		}
	}
	return true
}

// sortEntries orders entries: "status" puts down, then degraded, then
// unknown sites first; "name" is alphabetical; "uptime" lowest first.
func sortEntries(es []entry, by string) {
	byName := func(a, b *entry) int {
		if c := strings.Compare(a.lowerName, b.lowerName); c != 0 {
			return c
		}
		return int(a.site.ID - b.site.ID)
	}
	uptime := func(e *entry) float64 {
		if e.ov == nil || e.ov.Uptime24h == nil {
			return 101
		}
		return *e.ov.Uptime24h
	}
	slices.SortStableFunc(es, func(a, b entry) int {
		switch by {
		case "name":
		case "uptime":
			if ua, ub := uptime(&a), uptime(&b); ua != ub {
				if ua < ub {
					return -1
				}
				return 1
			}
		default:
			if ra, rb := stateRank(a.state), stateRank(b.state); ra != rb {
				return ra - rb
			}
		}
		return byName(&a, &b)
	})
}

// rowView is one site as the overview, site page and status page show it.
type rowView struct {
	ID                   int64
	Name, URL            string
	Named                bool
	State                string
	CheckedISO           string
	CheckedExact         string
	CheckedRel           string
	Latency              string
	Uptime               string
	StatusCode           int
	Error                string
	Strip                stripView
	Spark                sparkView
	Paused, Maintenance  bool
	Tags                 []string
	Link                 string
	StatusBadge, UpBadge string
	// Split, when the site's live locations disagree, names them (the
	// overview's mark and its tooltip).
	Split string
}

func (h *Handler) row(e *entry, now time.Time) rowView {
	id := strconv.FormatInt(e.site.ID, 10)
	r := rowView{
		ID: e.site.ID, Name: e.name, URL: e.site.URL, Named: e.name != e.site.URL,
		State: e.state, CheckedRel: "never", Latency: "–", Uptime: "–",
		Paused: e.paused, Tags: e.tags,
		Link:        "/frontend/sites/" + id,
		StatusBadge: "/badge/" + id + "/status.svg",
		UpBadge:     "/badge/" + id + "/uptime.svg?window=30d",
	}
	if ov := e.ov; ov != nil {
		if !ov.CheckedAt.IsZero() {
			r.CheckedISO, r.CheckedExact, r.CheckedRel = isoTime(ov.CheckedAt), exactTime(ov.CheckedAt), relTime(now, ov.CheckedAt)
			r.Latency = fmtMS(ov.LatencyMS)
		}
		r.Uptime = fmtPct(ov.Uptime24h)
		r.StatusCode, r.Error, r.Maintenance = ov.StatusCode, ov.Error, ov.Maintenance
		r.Strip, r.Spark = newStrip(ov.Recent), newSpark(ov.Recent)
	} else {
		r.Strip, r.Spark = newStrip(nil), newSpark(nil)
	}
	return r
}

// pager is one page of a filtered, sorted list.
type pager struct {
	Page, Pages       int
	First, Last       int // 1-based positions shown
	Matching          int
	PrevURL, NextURL  string
	Query, Sort, Base string
}

func paginate(n, size int, rawPage string, base string, q url.Values) (lo, hi int, p pager) {
	p.Pages = max(1, (n+size-1)/size)
	p.Page, _ = strconv.Atoi(rawPage)
	p.Page = min(max(p.Page, 1), p.Pages)
	lo, hi = (p.Page-1)*size, min(p.Page*size, n)
	p.Matching, p.First, p.Last = n, lo+1, hi
	link := func(page int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "page" && k != "msg" && k != "site" && len(vs) > 0 && vs[0] != "" {
				v.Set(k, vs[0])
			}
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	if p.Page > 1 {
		p.PrevURL = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.NextURL = link(p.Page + 1)
	}
	return lo, hi, p
}
