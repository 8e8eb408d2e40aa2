package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

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
	// State is the site's reported state after the check.
	State string `json:"state"`
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
	// Paused counts paused sites, which are not checked.
	Paused int `json:"paused"`
}

// ErrAbandoned means a check was cut short because upmon itself is
// stopping; nothing was recorded.
var ErrAbandoned = &api.Error{Code: api.Canceled, Message: "check abandoned: upmon is shutting down"}

// errPaused refuses to check a paused site.
var errPaused = api.Errorf(api.FailedPrecondition, "the site is paused; unpause it to check it")

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
	// Someone waits for this one check: its batch does not wait for more.
	return s.checkSite(context.WithValue(ctx, urgentKey{}, true), st, false)
}

// urgentKey marks the context of a check whose caller waits for it alone
// (an API or dashboard "check now"): the batching writer commits its batch
// without waiting for more checks (pending.urgent).
type urgentKey struct{}

func (s *Service) checkSite(ctx context.Context, st *site.Site, scheduled bool) (*CheckResult, error) {
	if st.Paused {
		return nil, errPaused
	}
	ctx, span := s.startCheckSpan(ctx, st, scheduled)
	if span == nil { // tracing off: no clock read, no allocation
		r, _, err := s.runCheck(ctx, st, scheduled, nil)
		return r, err
	}
	start := time.Now()
	r, res, err := s.runCheck(ctx, st, scheduled, span)
	state := ""
	if r != nil {
		state = r.State
	}
	endCheckSpan(span, start, res, state, err)
	return r, err
}

// runCheck probes st (or evaluates its push deadline) and records the
// result; span, if not nil, is the check's span, carried to its writes.
func (s *Service) runCheck(ctx context.Context, st *site.Site, scheduled bool, span trace.Span) (*CheckResult, Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stopping, cancel)()
	now := s.opts.Now().UTC()
	var (
		res      Result
		pushWait int64
	)
	if st.Kind == site.KindPush {
		var (
			r        Result
			deadline int64
			skip     bool
		)
		err := s.schedDB.Do(ctx, func(ctx context.Context) (err error) {
			r, deadline, skip, err = s.evalPush(ctx, st, now)
			return err
		})
		if err != nil {
			return nil, res, err
		}
		if skip {
			if scheduled && deadline > 0 {
				// Not due yet: release the claim and look again at the
				// deadline itself.
				if err := s.schedDB.Do(ctx, func(ctx context.Context) error {
					return releasePushClaim(ctx, s.db, st.ID, deadline)
				}); err != nil {
					return nil, res, dbError("push deadline", err)
				}
				s.wakeScheduler()
			}
			last, err := s.lastResult(ctx, st)
			return last, res, err
		}
		res = r
		// Record the miss only if no push commits before the record's
		// transaction does (it checks again under the row lock).
		pushWait = (st.Interval.D() + st.Grace.D()).Milliseconds()
	} else {
		if scheduled && !s.assignRemote(st, now) {
			// Only agents check this site: nothing to probe or record
			// here, and the scheduler wants no result (reading it was a
			// query per check). The claim's lease is given back only if
			// it could outlast the next slot: a write per check
			// otherwise (docs/performance.md, "Locations").
			if leaseOf(st) > st.Interval.D()/2 {
				if err := s.releaseLease(ctx, st.ID); err != nil {
					return nil, res, dbError("release lease", err)
				}
			}
			return nil, res, nil
		}
		res = s.prober.Check(ctx, SpecOf(st))
	}
	if ctx.Err() != nil {
		return nil, res, ErrAbandoned
	}
	s.metrics.duration.Observe(res.Latency.Seconds())
	urgent, _ := ctx.Value(urgentKey{}).(bool)
	p := &pending{st: st, at: now, res: res, scheduled: scheduled, urgent: urgent, pushWait: pushWait, span: span}
	if err := s.enqueue(p); err != nil {
		return nil, res, err
	}
	if p.skipped {
		s.wakeScheduler()
		last, err := s.lastResult(ctx, st)
		return last, res, err
	}
	return &CheckResult{
		SiteID:     st.ID,
		Up:         res.Up,
		State:      p.state.State(),
		StatusCode: res.StatusCode,
		LatencyMS:  res.Latency.Milliseconds(),
		Error:      res.Err,
		CheckedAt:  now,
	}, res, nil
}

// CheckAll checks every site that is not paused, at most CheckConcurrency
// at once, and returns when all are recorded. One site's failure never
// skips the others.
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
		if st.Paused {
			out.Paused++
			continue
		}
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
			r, err := s.checkSite(ctx, st, false)
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

// lastResult answers a check that recorded nothing new (a push monitor
// whose deadline has not passed) with the site's current state.
func (s *Service) lastResult(ctx context.Context, st *site.Site) (*CheckResult, error) {
	var (
		r  CheckResult
		at int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT last_up, state, status_code, latency_ms, error, checked_at FROM site_state WHERE site_id = $1`, st.ID).
		Scan(&r.Up, &r.State, &r.StatusCode, &r.LatencyMS, &r.Error, &at)
	if err != nil {
		return nil, dbError("last result", err)
	}
	r.SiteID = st.ID
	r.CheckedAt = time.UnixMilli(at).UTC()
	return &r, nil
}

// evalPush decides a push monitor's check: down when no push arrived
// within its interval plus grace (counted from its creation or unpause
// until the first push); nothing to record otherwise, and then deadline
// is when it falls due (unix ms; 0 if unknown).
func (s *Service) evalPush(ctx context.Context, st *site.Site, now time.Time) (res Result, deadline int64, skip bool, err error) {
	var last, created int64
	err = s.db.QueryRowContext(ctx, `SELECT last_push_at, next_check_at - interval_ms FROM site_state WHERE site_id = $1`, st.ID).Scan(&last, &created)
	if err != nil {
		// No state yet: the monitor was just created and its first
		// deadline has not passed.
		return Result{}, 0, true, nil
	}
	wait := st.Interval.D() + st.Grace.D()
	ref := last
	if ref == 0 {
		ref = created // a row from before last_push_at was set on creation
	}
	if now.UnixMilli()-ref < wait.Milliseconds() {
		return Result{}, ref + wait.Milliseconds(), true, nil
	}
	return Result{Err: fmt.Sprintf("no push within %s + %s grace", st.Interval, st.Grace), Attempts: 1}, 0, false, nil
}
