package monitor

import (
	"context"
	"strconv"
	"time"

	"upmon/site"
)

// StatusParams page through the sites' status like GET /site does:
// without limit and after, Status answers every site (the tutorial's
// form, O(number of sites)).
type StatusParams struct {
	// Limit is the page size (1 to site.MaxPageSize).
	Limit int `query:"limit"`
	// After is the Next of the previous page.
	After string `query:"after"`
}

// StatusResponse maps site ids (as strings) to their latest check.
type StatusResponse struct {
	// Sites holds every existing site (of the page) that has been
	// checked; never nil.
	Sites map[string]SiteStatus `json:"sites"`
	// Next is the cursor of the next page (pass it as after); absent on
	// the last page and in the unpaginated answer.
	Next string `json:"next,omitempty"`
}

// Status returns the latest check of each existing site, from the state
// table (never a scan of all checks); a page reads only its sites.
func (s *Service) Status(ctx context.Context, p *StatusParams) (*StatusResponse, error) {
	lp := &site.ListParams{}
	if p != nil {
		lp.Limit, lp.After = p.Limit, p.After
	}
	if _, _, paged, err := lp.Page(); err != nil {
		return nil, err
	} else if paged {
		return s.statusPage(ctx, lp)
	}
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

// statusPage answers one page: the page's sites from the site service,
// their states by one range read of the state table.
func (s *Service) statusPage(ctx context.Context, lp *site.ListParams) (*StatusResponse, error) {
	list, err := s.sites.List(ctx, lp)
	if err != nil {
		return nil, err
	}
	out := &StatusResponse{Sites: make(map[string]SiteStatus, len(list.Sites)), Next: list.Next}
	if len(list.Sites) == 0 {
		return out, nil
	}
	exists := make(map[int64]bool, len(list.Sites))
	for _, st := range list.Sites {
		exists[st.ID] = true
	}
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, last_up, checked_at, state FROM site_state
		WHERE site_id >= $1 AND site_id <= $2 AND checked_at > 0`, list.Sites[0].ID, list.Sites[len(list.Sites)-1].ID)
	if err != nil {
		return nil, dbError("status", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			st SiteStatus
			at int64
		)
		if err := rows.Scan(&id, &st.Up, &at, &st.State); err != nil {
			return nil, dbError("status", err)
		}
		if exists[id] {
			st.CheckedAt = time.UnixMilli(at).UTC()
			out.Sites[strconv.FormatInt(id, 10)] = st
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("status", err)
	}
	return out, nil
}
