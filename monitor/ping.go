package monitor

import (
	"net/http"
	"strings"

	"upmon/platform/api"
)

// PingResponse is the answer of /ping.
type PingResponse struct {
	// Up is true when the URL answered with a 2xx or 3xx status.
	Up bool `json:"up"`
}

// PingTarget extracts the URL to ping from a /ping/{url...} request: the
// rest of the (decoded) path plus the query string, which belongs to the
// target URL. A scheme whose "//" was collapsed by a client ("https:/x")
// is restored.
func PingTarget(path, rawQuery string) string {
	t := strings.TrimPrefix(path, "/ping/")
	if rawQuery != "" {
		t += "?" + rawQuery
	}
	lower := strings.ToLower(t)
	for _, scheme := range []string{"http:", "https:"} {
		if !strings.HasPrefix(lower, scheme) {
			continue
		}
		if rest := t[len(scheme):]; !strings.HasPrefix(rest, "//") {
			t = t[:len(scheme)] + "//" + strings.TrimLeft(rest, "/")
		}
		break
	}
	return t
}

// pingHandler serves GET and POST /ping/{url...}: any URL it cannot check
// is simply down.
func (s *Service) pingHandler(srv *api.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
			srv.WriteError(w, r, api.ErrNotFoundEndpoint)
			return
		}
		target := PingTarget(r.URL.Path, r.URL.RawQuery)
		res := s.prober.Probe(r.Context(), target)
		if r.Context().Err() != nil {
			srv.WriteError(w, r, r.Context().Err())
			return
		}
		api.WriteJSON(w, http.StatusOK, &PingResponse{Up: res.Up})
	})
}
