package web

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	"upmon/platform/api"
	"upmon/site"
)

// windows are the chart and uptime windows the site page offers.
var windows = []string{"24h", "7d", "30d"}

type siteData struct {
	pageBase
	Row     rowView
	Uptimes []uptimeView
	Chart   chartView
	Windows []windowLink
	// ChartLocations choose the chart's location (sites on several).
	ChartLocations []windowLink
	Checks         []checkView
	Incidents      []incidentView
	// Locations are the per-location rows (sites on several locations).
	Locations   []locationView
	Disagree    bool
	HasSettings bool
	Settings    settingsForm
	// Routing is where its notifications go (nil without channels).
	Routing     *siteRouting
	SettingsErr string
	BadgeBase   string
	// BadgeVersion changes with each check, so the page's own badge
	// images skip the badges' one-minute cache.
	BadgeVersion int64
}

type uptimeView struct {
	Window, Text string
	Checks       int64
}

type windowLink struct {
	Name, URL string
	Current   bool
}

type checkView struct {
	ISO, Exact string
	State      string
	StatusCode int
	Latency    string
	Error      string
}

type incidentView struct {
	StartISO, Start string
	EndISO, End     string
	Ongoing         bool
	Duration        string
	Reason          string
	// AckIncident is the open incident's id for the acknowledge button
	// (empty: no channel was told of it); Acked is when it was.
	AckIncident     string
	AckedISO, Acked string
}

func (h *Handler) sitePage(w http.ResponseWriter, r *http.Request) {
	h.renderSite(w, r, http.StatusOK, nil, "")
}

// renderSite renders the site page; form, when not nil, is a settings
// form that failed and is shown again with its errors.
func (h *Handler) renderSite(w http.ResponseWriter, r *http.Request, status int, form *settingsForm, formErr string) {
	ctx := r.Context()
	id, err := siteID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.opts.Sites.Get(ctx, &site.GetParams{ID: id})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s = viewSite(ctx, s)
	window := r.URL.Query().Get("window")
	if window != "7d" && window != "30d" {
		window = "24h"
	}
	chartLoc := chartLocation(s, r.URL.Query().Get("location"))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		errs      []error
		ov        *SiteOverview
		uptimes   = make([]*UptimeResponse, len(windows))
		latency   *LatencyResponse
		checks    *ChecksResponse
		incidents *IncidentsResponse
		stored    SiteSettings
		chans     []ChannelInfo
	)
	keep := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	m := h.opts.Monitor
	wg.Go(func() { var err error; ov, err = m.SiteOverviewOf(ctx, id); keep(err) })
	for i, win := range windows {
		wg.Go(func() {
			var err error
			uptimes[i], err = m.SiteUptime(ctx, &UptimeParams{SiteID: id, Window: win})
			keep(err)
		})
	}
	wg.Go(func() {
		var err error
		latency, err = m.SiteLatency(ctx, &LatencyParams{SiteID: id, Window: window, Step: windowStep(window), Location: chartLoc})
		keep(err)
	})
	wg.Go(func() {
		var err error
		checks, err = m.SiteChecks(ctx, &ChecksParams{SiteID: id, Limit: 50})
		keep(err)
	})
	wg.Go(func() {
		var err error
		incidents, err = m.SiteIncidents(ctx, &IncidentsParams{SiteID: id, Limit: 20})
		keep(err)
	})
	wg.Go(func() { chans = h.siteChannels(ctx) })
	if h.opts.Settings != nil && form == nil {
		// The form shows what the site has set, not the defaults.
		wg.Go(func() {
			var err error
			stored, err = h.opts.Settings.StoredSettings(ctx, s)
			keep(err)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		h.fail(w, r, errors.Join(errs...))
		return
	}
	now := h.now()
	e := entry{site: s, ov: ov, name: s.URL, state: StateUnknown}
	if ov != nil {
		e.state = normState(ov.State)
	}
	d := siteData{HasSettings: h.opts.Settings != nil, SettingsErr: formErr, BadgeBase: baseURL(r)}
	if h.opts.Settings != nil {
		st := h.opts.Settings.SettingsOf(s)
		if st.Name != "" {
			e.name = st.Name
		}
		e.paused, e.tags = st.Paused, st.Tags
		if form != nil {
			d.Settings = *form
		} else {
			d.Settings = h.withPlaceholders(formFromSettings(viewSettings(ctx, stored)))
		}
		d.Settings.Kind = st.Kind
		if chans != nil {
			rt := routingOf(chans, st.Channels, st.Tags)
			d.Routing = &rt
			d.Settings.ChannelChoices, d.Settings.OfferChannels = channelChoices(chans, d.Settings.Channels), true
		}
	}
	d.Row = h.row(&e, now)
	if ov != nil && !ov.CheckedAt.IsZero() {
		d.BadgeVersion = ov.CheckedAt.UnixMilli()
	}
	d.pageBase = h.base(e.name, "")
	if status == http.StatusOK {
		d.Flash = h.flash(ctx, r)
	}
	for i, win := range windows {
		u := uptimes[i]
		if u == nil {
			u = &UptimeResponse{Window: win}
		}
		d.Uptimes = append(d.Uptimes, uptimeView{Window: win, Text: fmtPct(u.Uptime), Checks: u.Checks})
	}
	var points []LatencyPoint
	step := windowStep(window)
	if latency != nil {
		points = latency.Points
		if latency.Step != "" {
			step = latency.Step
		}
	}
	d.Chart = newChart(points, window, step, now)
	d.Chart.From = chartLoc
	for _, win := range windows {
		d.Windows = append(d.Windows, windowLink{Name: win, Current: win == window, URL: chartURL(d.Row.Link, win, chartLoc)})
	}
	d.ChartLocations = chartLocationLinks(d.Row.Link, s, window, chartLoc)
	if checks != nil {
		for _, c := range checks.Checks {
			st := normState(c.State)
			if c.State == "" {
				st = StateDown
				if c.Up {
					st = StateUp
				}
			}
			d.Checks = append(d.Checks, checkView{ISO: isoTime(c.CheckedAt), Exact: exactTime(c.CheckedAt), State: st,
				StatusCode: c.StatusCode, Latency: fmtMS(c.LatencyMS), Error: c.Error})
		}
	}
	if incidents != nil {
		for _, in := range incidents.Incidents {
			v := incidentView{StartISO: isoTime(in.Start), Start: exactTime(in.Start), Ongoing: in.Ongoing || in.End == nil,
				Duration: fmtSeconds(in.DurationSeconds), Reason: in.Reason}
			if in.End != nil && !v.Ongoing {
				v.EndISO, v.End = isoTime(*in.End), exactTime(*in.End)
			}
			d.Incidents = append(d.Incidents, v)
		}
		h.ackState(ctx, id, d.Incidents)
	}
	d.Locations, d.Disagree = h.siteLocations(ctx, id)
	h.render(w, r, status, "site", &d)
}

// baseURL is the server's address as the browser reached it, for the
// badge snippets people paste into READMEs.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

type confirmData struct {
	pageBase
	Row rowView
}

func (h *Handler) confirmDelete(w http.ResponseWriter, r *http.Request) {
	id, err := siteID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.opts.Sites.Get(r.Context(), &site.GetParams{ID: id})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s = viewSite(r.Context(), s)
	e := entry{site: s, name: s.URL, state: StateUnknown}
	if h.opts.Settings != nil {
		if st := h.opts.Settings.SettingsOf(s); st.Name != "" {
			e.name = st.Name
		}
	}
	d := confirmData{Row: h.row(&e, h.now())}
	d.pageBase = h.base("Delete "+e.name+"?", "")
	h.render(w, r, http.StatusOK, "confirm", &d)
}

func (h *Handler) deleteSite(w http.ResponseWriter, r *http.Request) {
	id, err := siteID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.opts.Sites.Delete(r.Context(), &site.GetParams{ID: id}); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/frontend/?msg=deleted", http.StatusSeeOther)
}

// checkSite checks a site now, then goes back to the page the button
// was on (the overview unless the form says "site").
func (h *Handler) checkSite(w http.ResponseWriter, r *http.Request) {
	id, err := siteID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	s, err := h.opts.Sites.Get(r.Context(), &site.GetParams{ID: id})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.opts.Monitor.CheckSite(r.Context(), s); err != nil {
		h.fail(w, r, err)
		return
	}
	sid := strconv.FormatInt(id, 10)
	target := "/frontend/?msg=checked&site=" + sid + "#site-" + sid
	if r.PostFormValue("return") == "site" {
		target = "/frontend/sites/" + sid + "?msg=checked&site=" + sid
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request) {
	id, err := siteID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.opts.Settings == nil {
		h.fail(w, r, api.Errorf(api.Unimplemented, "this server has no per-site settings"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, api.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, api.Errorf(api.InvalidArgument, "could not read the form"))
		return
	}
	st, form := parseSettingsForm(r)
	form = h.withPlaceholders(form)
	if len(form.Err) > 0 {
		h.renderSite(w, r, http.StatusBadRequest, &form, "Some settings are not valid.")
		return
	}
	s, err := h.opts.Sites.Get(r.Context(), &site.GetParams{ID: id})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Send only the fields the form changed, so a setting left at its
	// default stays unset and keeps following the defaults.
	was, err := h.opts.Settings.StoredSettings(r.Context(), s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	change := settingsChange(r, was, st)
	if len(change.Fields) == 0 {
		http.Redirect(w, r, "/frontend/sites/"+strconv.FormatInt(id, 10)+"?msg=same", http.StatusSeeOther)
		return
	}
	if _, err := h.opts.Settings.UpdateSettings(r.Context(), id, change); err != nil {
		e := api.AsError(err)
		if e.Code != api.InvalidArgument && e.Code != api.FailedPrecondition && e.Code != api.OutOfRange {
			h.fail(w, r, err)
			return
		}
		msg := e.Message
		if field, full := fieldOf(err); field != "" {
			form.Err[field] = fieldMessage(err, full)
			msg = "Some settings are not valid."
		}
		h.renderSite(w, r, e.Status(), &form, msg)
		return
	}
	http.Redirect(w, r, "/frontend/sites/"+strconv.FormatInt(id, 10)+"?msg=saved", http.StatusSeeOther)
}
