package monitor

import (
	"context"
	"strconv"
)

// StatusParams are the (empty) parameters of Status.
type StatusParams struct{}

// StatusResponse maps site ids (as strings) to their latest check.
type StatusResponse struct {
	// Sites holds every existing site that has been checked; never nil.
	Sites map[string]SiteStatus `json:"sites"`
}

// Status returns the latest check of each existing site, from the state
// table (never a scan of all checks).
func (s *Service) Status(ctx context.Context, _ *StatusParams) (*StatusResponse, error) {
	ids, err := s.sites.IDs(ctx)
	if err != nil {
		return nil, err
	}
	states, err := s.states(ctx)
	if err != nil {
		return nil, err
	}
	out := &StatusResponse{Sites: make(map[string]SiteStatus, len(ids))}
	for _, id := range ids {
		if ss, ok := states[id]; ok {
			out.Sites[strconv.FormatInt(id, 10)] = ss
		}
	}
	return out, nil
}
