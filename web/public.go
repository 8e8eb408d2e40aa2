package web

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"upmon/platform/api"
	"upmon/site"
)

type statusData struct {
	pageBase
	Totals totals
	Rows   []rowView
	Pager  pager
}

// statusPage is the public, read-only status page: no forms, no buttons
// that change anything, no links into the dashboard.
func (h *Handler) statusPage(w http.ResponseWriter, r *http.Request) {
	entries, tot, err := h.loadEntries(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sortEntries(entries, "status")
	lo, hi, pg := paginate(len(entries), h.opts.PageSize, r.URL.Query().Get("page"), "/status-page", r.URL.Query())
	now := h.now()
	d := statusData{Totals: tot, Pager: pg}
	for i := lo; i < hi; i++ {
		row := h.row(&entries[i], now)
		row.Name, row.URL = publicName(entries[i].setName, entries[i].site), ""
		d.Rows = append(d.Rows, row)
	}
	d.pageBase = h.base("Status", "")
	d.Public = true
	h.render(w, r, http.StatusOK, "status", &d)
}

// badgeSite loads the site a badge is for. A malformed id is answered
// 400 (JSON); an unknown one 404 with a "not found" badge.
func (h *Handler) badgeSite(w http.ResponseWriter, r *http.Request) (*entry, bool) {
	id, err := siteID(r)
	if err != nil {
		api.WriteJSON(w, http.StatusBadRequest, api.AsError(err))
		return nil, false
	}
	s, err := h.opts.Sites.Get(r.Context(), &site.GetParams{ID: id})
	if api.IsCode(err, api.NotFound) {
		h.writeBadge(w, r, http.StatusNotFound, newBadge("upmon", "site not found", badgeColors[StateUnknown], "site not found"))
		return nil, false
	}
	if err != nil {
		h.writeBadgeError(w, r, err)
		return nil, false
	}
	e := &entry{site: s, state: StateUnknown}
	var name string
	if h.opts.Settings != nil {
		st := h.opts.Settings.SettingsOf(s)
		name, e.paused = st.Name, st.Paused
	}
	e.name = publicName(name, s)
	return e, true
}

func (h *Handler) writeBadgeError(w http.ResponseWriter, r *http.Request, err error) {
	e := api.AsError(err)
	if e.Code == api.Internal || e.Code == api.Unknown {
		h.log.Error("badge", "path", api.RedactRequest(r), "err", err)
	}
	api.WriteJSON(w, e.Status(), e)
}

// badgeLabel is the ?label= text, or def.
func badgeLabel(r *http.Request, def string) string {
	if l := strings.TrimSpace(r.URL.Query().Get("label")); l != "" {
		return l
	}
	return def
}

func (h *Handler) statusBadge(w http.ResponseWriter, r *http.Request) {
	e, ok := h.badgeSite(w, r)
	if !ok {
		return
	}
	ov, err := h.opts.Monitor.SiteOverviewOf(r.Context(), e.site.ID)
	if err != nil {
		h.writeBadgeError(w, r, err)
		return
	}
	state := StateUnknown
	if ov != nil {
		state = normState(ov.State)
	}
	value, color := strings.ToLower(stateText(state)), badgeColors[state]
	if e.paused {
		value, color = "paused", badgeColors["paused"]
	}
	h.writeBadge(w, r, http.StatusOK, newBadge(badgeLabel(r, "status"), value, color, e.name+": "+value))
}

func (h *Handler) uptimeBadge(w http.ResponseWriter, r *http.Request) {
	window := r.URL.Query().Get("window")
	switch window {
	case "":
		window = "30d"
	case "24h", "7d", "30d", "90d", "365d":
	default:
		api.WriteJSON(w, http.StatusBadRequest, api.FieldError("window", "must be 24h, 7d, 30d, 90d or 365d"))
		return
	}
	e, ok := h.badgeSite(w, r)
	if !ok {
		return
	}
	u, err := h.opts.Monitor.SiteUptime(r.Context(), &UptimeParams{SiteID: e.site.ID, Window: window})
	if err != nil {
		h.writeBadgeError(w, r, err)
		return
	}
	value := "no data"
	if u.Uptime != nil {
		value = strings.ReplaceAll(pctText(*u.Uptime), " ", "")
	}
	h.writeBadge(w, r, http.StatusOK, newBadge(badgeLabel(r, "uptime "+window), value, uptimeColor(u.Uptime),
		e.name+": uptime over "+window+" "+value))
}

func (h *Handler) writeBadge(w http.ResponseWriter, r *http.Request, status int, b badgeView) {
	var buf bytes.Buffer
	if err := h.badge.Execute(&buf, b); err != nil {
		h.log.Error("render badge", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/svg+xml")
	hd.Set("Cache-Control", "max-age=60")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
