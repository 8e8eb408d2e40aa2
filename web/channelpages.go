package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"upmon/channels"
	"upmon/platform/api"
)

// registerChannels adds the channels pages: the list with each
// channel's delivery state and a Test button, the add and edit forms
// built from the kinds' settings, and delete after a confirmation. Reads
// need a viewer and changes an editor, like the channels API's routes
// (both are api.Public).
func (h *Handler) registerChannels(srv *api.Server) {
	if h.opts.Channels == nil {
		return
	}
	page := func(method, p string, f http.HandlerFunc) {
		if method == http.MethodPost {
			f = h.form(f)
		}
		srv.Handle(api.Endpoint{Service: ServiceName, Method: method, Path: p}, f)
	}
	page(http.MethodGet, "/frontend/channels", h.channelsPage)
	page(http.MethodGet, "/frontend/channels/new", h.newChannelPage)
	page(http.MethodPost, "/frontend/channels", h.createChannel)
	page(http.MethodGet, "/frontend/channels/{id}", h.channelPage)
	page(http.MethodPost, "/frontend/channels/{id}", h.updateChannel)
	page(http.MethodPost, "/frontend/channels/{id}/test", h.testChannel)
	page(http.MethodGet, "/frontend/channels/{id}/delete", h.confirmDeleteChannel)
	page(http.MethodPost, "/frontend/channels/{id}/delete", h.deleteChannel)
}

// loadKinds builds the form description of every kind once.
func (h *Handler) loadKinds() {
	h.kinds = map[string]*kindSpec{}
	if h.opts.Channels == nil {
		return
	}
	for _, k := range h.opts.Channels.Kinds() {
		ks := specOf(k)
		h.kinds[k.Name] = &ks
		h.kindList = append(h.kindList, &ks)
	}
}

// kindSpec returns the form description of a kind, or an error naming
// the kind field.
func (h *Handler) kindSpec(name string) (*kindSpec, error) {
	ks, ok := h.kinds[name]
	if !ok {
		return nil, api.FieldError("kind", "is not a known kind")
	}
	return ks, nil
}

func (h *Handler) kindTitle(name string) string {
	if ks, ok := h.kinds[name]; ok {
		return ks.Title
	}
	return name
}

type channelsData struct {
	pageBase
	Channels []channelRow
	Kinds    []*kindSpec
	// Tested is the result of the Test button just pressed.
	Tested *testView
}

type channelRow struct {
	ChannelInfo
	KindTitle  string
	EventsText string
	// LastSuccess and LastErrorAt are exact times ("" never); the ISO
	// forms go in datetime attributes.
	LastSuccessISO, LastSuccess string
	LastErrorISO, LastErrorAt   string
}

type testView struct {
	ID         int64
	Name       string
	Sent       bool
	Error      string
	Permanent  bool
	RetryAfter string
	StatusText string
}

func (h *Handler) channelsPage(w http.ResponseWriter, r *http.Request) {
	h.renderChannels(w, r, nil)
}

func (h *Handler) renderChannels(w http.ResponseWriter, r *http.Request, tested *testView) {
	list, err := h.opts.Channels.ListChannels(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := channelsData{pageBase: h.base("Channels", "channels"), Kinds: h.kindList, Tested: tested}
	for _, c := range list {
		row := channelRow{ChannelInfo: c, KindTitle: h.kindTitle(c.Kind), EventsText: eventsText(c.Events)}
		if t := c.Status.LastSuccessAt; t != nil {
			row.LastSuccessISO, row.LastSuccess = isoTime(*t), exactTime(*t)
		}
		if t := c.Status.LastErrorAt; t != nil {
			row.LastErrorISO, row.LastErrorAt = isoTime(*t), exactTime(*t)
		}
		d.Channels = append(d.Channels, row)
	}
	if tested == nil {
		d.Flash = flashes[r.URL.Query().Get("msg")]
	}
	h.render(w, r, http.StatusOK, "channels", &d)
}

// eventsText names a channel's events shortly: "all", "all but
// degraded", or the list.
func eventsText(evs []string) string {
	var missing []string
	for _, e := range eventChoices(evs) {
		if !e.Checked {
			missing = append(missing, e.Name)
		}
	}
	switch {
	case len(missing) == 0:
		return "all"
	case len(missing) <= 2 && len(evs) > len(missing):
		return "all but " + strings.Join(missing, ", ")
	}
	return strings.Join(evs, ", ")
}

type channelFormData struct {
	pageBase
	Form channelForm
}

func (h *Handler) renderChannelForm(w http.ResponseWriter, r *http.Request, status int, f channelForm) {
	title := "New " + f.KindTitle + " channel"
	if f.ID != 0 {
		title = "Channel " + f.Name
	}
	h.render(w, r, status, "channel", &channelFormData{pageBase: h.base(title, "channels"), Form: f})
}

func (h *Handler) newChannelPage(w http.ResponseWriter, r *http.Request) {
	ks, err := h.kindSpec(r.URL.Query().Get("kind"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderChannelForm(w, r, http.StatusOK, newChannelForm(ks))
}

// channelOf reads the {id} path parameter and loads that channel with
// its kind.
func (h *Handler) channelOf(r *http.Request) (*ChannelInfo, *kindSpec, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, nil, err
	}
	c, err := h.opts.Channels.GetChannel(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	ks, err := h.kindSpec(c.Kind)
	return c, ks, err
}

func (h *Handler) channelPage(w http.ResponseWriter, r *http.Request) {
	c, ks, err := h.channelOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderChannelForm(w, r, http.StatusOK, formFromChannel(ks, c))
}

func (h *Handler) createChannel(w http.ResponseWriter, r *http.Request) {
	ks, err := h.kindSpec(r.PostFormValue("kind"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, f := parseChannelForm(r, ks, nil)
	if f.errorCount() > 0 {
		f.Error = "Some fields are not valid."
		h.renderChannelForm(w, r, http.StatusBadRequest, f)
		return
	}
	c, err := h.opts.Channels.CreateChannel(r.Context(), &p)
	if err != nil {
		h.refusedChannelForm(w, r, f, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/frontend/channels?msg=channel-added#channel-%d", c.ID), http.StatusSeeOther)
}

func (h *Handler) updateChannel(w http.ResponseWriter, r *http.Request) {
	was, ks, err := h.channelOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, f := parseChannelForm(r, ks, was)
	if f.errorCount() > 0 {
		f.Error = "Some fields are not valid."
		h.renderChannelForm(w, r, http.StatusBadRequest, f)
		return
	}
	if _, err := h.opts.Channels.UpdateChannel(r.Context(), &channels.UpdateParams{ID: was.ID, Fields: p}); err != nil {
		h.refusedChannelForm(w, r, f, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/frontend/channels?msg=channel-saved#channel-%d", was.ID), http.StatusSeeOther)
}

// refusedChannelForm shows a form the service refused again with the
// error next to its field, or fails the page for other errors.
func (h *Handler) refusedChannelForm(w http.ResponseWriter, r *http.Request, f channelForm, err error) {
	status, ok := f.showError(err)
	if !ok {
		h.fail(w, r, err)
		return
	}
	h.renderChannelForm(w, r, status, f)
}

// testChannel sends a test message through a channel and shows the
// list with the result at the top.
func (h *Handler) testChannel(w http.ResponseWriter, r *http.Request) {
	c, _, err := h.channelOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.opts.Channels.TestChannel(r.Context(), c.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t := &testView{ID: c.ID, Name: c.Name, Sent: res.Status == "sent", Error: res.Error, Permanent: res.Permanent, StatusText: res.Status}
	if res.RetryAfter > 0 {
		t.RetryAfter = strconv.FormatFloat(res.RetryAfter, 'f', -1, 64) + " s"
	}
	h.renderChannels(w, r, t)
}

type channelConfirmData struct {
	pageBase
	Channel *ChannelInfo
}

func (h *Handler) confirmDeleteChannel(w http.ResponseWriter, r *http.Request) {
	c, _, err := h.channelOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "channelconfirm", &channelConfirmData{pageBase: h.base("Delete "+c.Name+"?", "channels"), Channel: c})
}

func (h *Handler) deleteChannel(w http.ResponseWriter, r *http.Request) {
	c, _, err := h.channelOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c.ManagedBy != "" {
		h.fail(w, r, api.Errorf(api.FailedPrecondition, "this channel is managed by the %s secret and cannot be deleted", c.ManagedBy))
		return
	}
	if err := h.opts.Channels.DeleteChannel(r.Context(), c.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/frontend/channels?msg=channel-deleted", http.StatusSeeOther)
}
