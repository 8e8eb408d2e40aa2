package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"upmon/monitor"
	"upmon/platform/api"
	"upmon/site"
)

// addForm is the add-site form with what was typed and the errors.
type addForm struct {
	URL      string
	URLError string
	Error    string // an error not tied to a field
	Settings settingsForm
	Open     bool // show the settings fieldset expanded
}

type overviewData struct {
	pageBase
	Totals      totals
	Rows        []rowView
	Pager       pager
	Query, Sort string
	Sorts       []sortOption
	Form        addForm
	HasSettings bool
}

type sortOption struct {
	Value, Label string
}

var sortOptions = []sortOption{{"status", "Down first"}, {"name", "Name"}, {"uptime", "Lowest uptime"}}

// flashes are the notices a redirect may ask for by key; a key never
// carries text from the request.
var flashes = map[string]string{
	"added":   "Site added: ",
	"deleted": "Site deleted.",
	"checked": "Checked: ",
	"saved":   "Settings saved.",
	"same":    "No settings changed.",

	"user-added":    "User added.",
	"role-set":      "Role changed.",
	"user-deleted":  "User deleted.",
	"token-revoked": "Token revoked.",
	"acked":         "Incident acknowledged: reminders stop.",

	"channel-added":   "Channel added.",
	"channel-saved":   "Channel saved.",
	"channel-deleted": "Channel deleted.",
}

// flash builds the notice named by ?msg=, naming the site from ?site=.
func (h *Handler) flash(ctx context.Context, r *http.Request) string {
	q := r.URL.Query()
	msg, ok := flashes[q.Get("msg")]
	if !ok {
		return ""
	}
	if strings.HasSuffix(msg, ": ") {
		id, err := strconv.ParseInt(q.Get("site"), 10, 64)
		if err != nil || id <= 0 {
			return strings.TrimSuffix(msg, ": ") + "."
		}
		s, err := h.opts.Sites.Get(ctx, &site.GetParams{ID: id})
		if err != nil {
			return strings.TrimSuffix(msg, ": ") + "."
		}
		return msg + s.URL
	}
	return msg
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	h.renderOverview(w, r, http.StatusOK, addForm{Settings: h.withPlaceholders(defaultSettingsForm())})
}

func (h *Handler) renderOverview(w http.ResponseWriter, r *http.Request, status int, form addForm) {
	ctx := r.Context()
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	sortBy := q.Get("sort")
	if sortBy != "name" && sortBy != "uptime" {
		sortBy = "status"
	}
	// Without a filter, the down-first and name orders read one page; a
	// filter or the uptime order joins and sorts every site.
	if query == "" && sortBy != "uptime" {
		sm, ok, err := h.loadSummary(ctx)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if ok {
			lo, hi, pg := paginate(sm.tot.All, h.opts.PageSize, q.Get("page"), "/frontend/", q)
			pg.Query, pg.Sort = query, sortBy
			page, err := sm.page(ctx, h, lo, hi, sortBy == "name")
			if err != nil {
				h.fail(w, r, err)
				return
			}
			h.writeOverview(w, r, status, form, sm.tot, page, pg, query, sortBy)
			return
		}
	}
	entries, tot, err := h.loadEntries(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lq := strings.ToLower(query)
	matched := entries[:0:0]
	if lq == "" {
		matched = entries
	} else {
		for _, e := range entries {
			if e.matches(lq) {
				matched = append(matched, e)
			}
		}
	}
	sortEntries(matched, sortBy)
	lo, hi, pg := paginate(len(matched), h.opts.PageSize, q.Get("page"), "/frontend/", q)
	pg.Query, pg.Sort = query, sortBy
	h.writeOverview(w, r, status, form, tot, matched[lo:hi], pg, query, sortBy)
}

// writeOverview renders the overview with the entries of one page.
func (h *Handler) writeOverview(w http.ResponseWriter, r *http.Request, status int, form addForm, tot totals, page []entry, pg pager, query, sortBy string) {
	ctx := r.Context()
	now := h.now()
	rows := make([]rowView, 0, len(page))
	splits := h.locationSplits(ctx, page)
	for i := range page {
		r := h.row(&page[i], now)
		r.Split = splitTitle(splits[page[i].site.ID])
		rows = append(rows, r)
	}
	title := "Overview"
	if tot.Down > 0 {
		title = "(" + strconv.Itoa(tot.Down) + " down) Overview"
	}
	d := overviewData{
		pageBase: h.base(title, "overview"),
		Totals:   tot, Rows: rows, Pager: pg, Query: query, Sort: sortBy, Sorts: sortOptions,
		Form: form, HasSettings: h.opts.Settings != nil,
	}
	if status == http.StatusOK {
		d.Flash = h.flash(ctx, r)
	}
	h.render(w, r, status, "overview", &d)
}

// wantsJSON reports whether the script (fetch) rather than a plain form
// posted the request.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// addSite handles the add-site form. Without JavaScript it redirects to
// the overview (303) or re-renders it with the error next to the input;
// the script posts the same form asking for JSON.
func (h *Handler) addSite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, api.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, api.Errorf(api.InvalidArgument, "could not read the form"))
		return
	}
	form := addForm{URL: r.PostFormValue("url"), Settings: h.withPlaceholders(defaultSettingsForm())}
	var (
		s   *site.Site
		err error
	)
	if h.opts.Settings != nil && r.PostFormValue("with_settings") != "" {
		st, parsed := parseSettingsForm(r)
		form.Settings = h.withPlaceholders(parsed)
		form.Open = true
		if len(form.Settings.Err) > 0 {
			err = api.Errorf(api.InvalidArgument, "some settings are not valid")
		} else {
			// Only what differs from a blank form is set; the rest
			// follows the defaults.
			s, err = h.opts.Settings.AddWithSettings(r.Context(), form.URL, settingsChange(r, blankSettings, st))
		}
	} else {
		s, err = h.opts.Sites.Add(r.Context(), &site.AddParams{URL: form.URL})
	}
	if err != nil {
		e := api.AsError(err)
		if e.Code == api.Internal || e.Code == api.Unknown {
			h.log.Error("add site", "err", err)
		}
		if wantsJSON(r) {
			resp := *e
			if len(form.Settings.Err) > 0 {
				resp.Details = map[string]any{"fields": form.Settings.Err}
			}
			api.WriteJSON(w, e.Status(), &resp)
			return
		}
		field, full := fieldOf(err)
		switch {
		case field == "url":
			form.URLError = fieldMessage(err, full)
		case field != "" && h.opts.Settings != nil:
			form.Settings.Err[field] = fieldMessage(err, full)
			form.Open = true
		case e.Code == api.AlreadyExists:
			form.URLError = e.Message
		case len(form.Settings.Err) > 0:
			form.Error = e.Message
		default:
			form.Error = e.Message
		}
		h.renderOverview(w, r, e.Status(), form)
		return
	}
	target := "/frontend/?msg=added&site=" + strconv.FormatInt(s.ID, 10)
	if wantsJSON(r) {
		api.WriteJSON(w, http.StatusOK, map[string]any{"site": s, "location": target})
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// liveStateResponse is the answer of /frontend/state.json.
type liveStateResponse struct {
	Totals totals               `json:"totals"`
	Sites  map[string]*liveSite `json:"sites"`
}

// liveSite is one site's latest state in /frontend/state.json: its last
// check and, when its live locations disagree, which see it down and up.
type liveSite struct {
	LiveEvent
	Disagree *monitor.LocationSplit `json:"disagree,omitempty"`
}

// liveState answers the totals and, for the ids asked (?ids=1,2,…, at
// most 500), the latest state; the script resyncs with it after a
// reconnect and refreshes the totals after a transition.
func (h *Handler) liveState(w http.ResponseWriter, r *http.Request) {
	want := map[int64]bool{}
	for s := range strings.SplitSeq(r.URL.Query().Get("ids"), ",") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && len(want) < 500 {
			want[id] = true
		}
	}
	entries, tot, err := h.liveEntries(r.Context(), want)
	if err != nil {
		api.WriteJSON(w, api.AsError(err).Status(), api.AsError(err))
		return
	}
	resp := liveStateResponse{Totals: tot, Sites: map[string]*liveSite{}}
	wanted := slices.DeleteFunc(entries, func(e entry) bool { return !want[e.site.ID] })
	splits := h.locationSplits(r.Context(), wanted)
	for _, e := range wanted {
		ev := &liveSite{LiveEvent: LiveEvent{SiteID: e.site.ID, State: e.state}, Disagree: splits[e.site.ID]}
		if e.ov != nil {
			ev.CheckedAt, ev.LatencyMS, ev.StatusCode, ev.Error = e.ov.CheckedAt, e.ov.LatencyMS, e.ov.StatusCode, e.ov.Error
		}
		resp.Sites[strconv.FormatInt(e.site.ID, 10)] = ev
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, resp)
}
