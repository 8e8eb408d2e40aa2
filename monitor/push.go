package monitor

import (
	"net/http"

	"upmon/platform/api"
	"upmon/site"
)

// PushResponse is the answer of POST /push/{token}.
type PushResponse struct {
	// OK is true when the push was recorded.
	OK bool `json:"ok"`
	// SiteID is the push monitor's id.
	SiteID int64 `json:"site_id"`
}

// pushHandler serves POST (and GET) /push/{token}: a heartbeat from a
// push monitor's job marks it up and restarts its deadline.
func (s *Service) pushHandler(srv *api.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		st, err := s.sites.GetByPushToken(ctx, r.PathValue("token"))
		if err == nil && st.Kind != site.KindPush {
			err = api.Errorf(api.NotFound, "unknown push token")
		}
		if err == nil && st.Paused {
			err = errPaused
		}
		if err != nil {
			srv.WriteError(w, r, err)
			return
		}
		now := s.opts.Now().UTC()
		// The up result and the restarted deadline are one transaction.
		if err := s.enqueue(&pending{st: st, at: now, res: Result{Up: true, Attempts: 1}, push: true, urgent: true}); err != nil {
			srv.WriteError(w, r, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, &PushResponse{OK: true, SiteID: st.ID})
	})
}
