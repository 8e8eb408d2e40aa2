package monitor

import (
	"context"
	"errors"
	"sync"
	"time"

	"upmon/platform/api"
	"upmon/site"
)

// CheckParams identifies the site to check.
type CheckParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
}

// CheckResult is the answer of Check: the recorded check.
type CheckResult struct {
	// SiteID is the checked site.
	SiteID int64 `json:"site_id"`
	// Up is the check's outcome.
	Up bool `json:"up"`
	// StatusCode is the HTTP status, 0 if none.
	StatusCode int `json:"status_code"`
	// LatencyMS is the check's duration in milliseconds.
	LatencyMS int64 `json:"latency_ms"`
	// Error is a short reason when the check failed.
	Error string `json:"error"`
	// CheckedAt is when the check ran.
	CheckedAt time.Time `json:"checked_at"`
}

// CheckAllParams are the (empty) parameters of CheckAll.
type CheckAllParams struct{}

// CheckAllResult summarises a sweep.
type CheckAllResult struct {
	// Checked counts the sites checked and recorded.
	Checked int `json:"checked"`
	// Up counts those that were up.
	Up int `json:"up"`
	// Down counts those that were down.
	Down int `json:"down"`
	// Failed counts sites whose check could not be recorded.
	Failed int `json:"failed"`
}

// ErrAbandoned means a check was cut short because upmon itself is
// stopping; nothing was recorded.
var ErrAbandoned = &api.Error{Code: api.Canceled, Message: "check abandoned: upmon is shutting down"}

// Check checks one site now and records the result.
func (s *Service) Check(ctx context.Context, p *CheckParams) (*CheckResult, error) {
	st, err := s.sites.Get(ctx, &site.GetParams{ID: p.SiteID})
	if err != nil {
		return nil, err
	}
	return s.CheckSite(ctx, st)
}

// CheckSite checks st now and records the result. If ctx ends during the
// check (shutdown), the check is abandoned and nothing is recorded: a site
// is never marked down because upmon stopped.
func (s *Service) CheckSite(ctx context.Context, st *site.Site) (*CheckResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stopping, cancel)()
	now := s.opts.Now().UTC()
	res := s.prober.Probe(ctx, st.URL)
	if ctx.Err() != nil {
		return nil, ErrAbandoned
	}
	s.metrics.duration.Observe(res.Latency.Seconds())
	if err := s.record(ctx, st, now, res); err != nil {
		if ctx.Err() != nil {
			return nil, ErrAbandoned
		}
		return nil, err
	}
	return &CheckResult{
		SiteID:     st.ID,
		Up:         res.Up,
		StatusCode: res.StatusCode,
		LatencyMS:  res.Latency.Milliseconds(),
		Error:      res.Err,
		CheckedAt:  now,
	}, nil
}

// CheckAll checks every site, at most CheckConcurrency at once, and returns
// when all are recorded. One site's failure never skips the others.
func (s *Service) CheckAll(ctx context.Context, _ *CheckAllParams) (*CheckAllResult, error) {
	list, err := s.sites.List(ctx, &site.ListParams{})
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out CheckAllResult
		wg  sync.WaitGroup
		sem = make(chan struct{}, s.opts.CheckConcurrency)
	)
	for _, st := range list.Sites {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ErrAbandoned
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r, err := s.CheckSite(ctx, st)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				out.Failed++
				if !errors.Is(err, ErrAbandoned) {
					s.log.Warn("check failed to record", "site", st.ID, "err", err)
				}
			case r.Up:
				out.Checked++
				out.Up++
			default:
				out.Checked++
				out.Down++
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ErrAbandoned
	}
	return &out, nil
}

// CheckAllJob is CheckAll in the shape of a cron endpoint.
func (s *Service) CheckAllJob(ctx context.Context) error {
	_, err := s.CheckAll(ctx, &CheckAllParams{})
	return err
}
