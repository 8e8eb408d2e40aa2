package web

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// AlertSource is the part of the channels service the site page uses to
// show and acknowledge the open incident.
type AlertSource interface {
	// OpenIncident returns the site's open down incident as the channels
	// know it (its id, and when it was acknowledged); ok is false when
	// no channel was told of one.
	OpenIncident(ctx context.Context, siteID int64) (incident string, ackedAt *time.Time, ok bool, err error)
	// AckIncident acknowledges it: reminders stop, PagerDuty is told.
	AckIncident(ctx context.Context, siteID int64, incident string) error
}

// ackState fills the ongoing incident's acknowledgement (a button, or
// when it was acknowledged).
func (h *Handler) ackState(ctx context.Context, siteID int64, incidents []incidentView) {
	if h.opts.Alerts == nil {
		return
	}
	inc, acked, ok, err := h.opts.Alerts.OpenIncident(ctx, siteID)
	if err != nil || !ok {
		return
	}
	for i := range incidents {
		if !incidents[i].Ongoing {
			continue
		}
		incidents[i].AckIncident = inc
		if acked != nil {
			incidents[i].AckedISO, incidents[i].Acked = isoTime(*acked), exactTime(*acked)
		}
		return
	}
}

// ackIncident acknowledges the site's open incident from its page.
func (h *Handler) ackIncident(w http.ResponseWriter, r *http.Request) {
	id, err := siteID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.opts.Alerts == nil {
		http.NotFound(w, r)
		return
	}
	if err := h.opts.Alerts.AckIncident(r.Context(), id, r.PostFormValue("incident")); err != nil {
		h.fail(w, r, err)
		return
	}
	sid := strconv.FormatInt(id, 10)
	http.Redirect(w, r, "/frontend/sites/"+sid+"?msg=acked&site="+sid+"#incidents", http.StatusSeeOther)
}
