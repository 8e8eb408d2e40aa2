package monitor

import (
	"context"
	"time"

	"upmon/platform/api"
)

// The scheduler checks each site at its own interval. Due sites are
// claimed in the database: the claim moves next_check_at one interval on
// (keeping the site's phase) and takes a lease, so that across replicas
// every site is checked once per interval and never twice at once; on
// PostgreSQL the claim skips rows another replica is claiming (FOR UPDATE
// SKIP LOCKED). A check that outlives its lease (a replica died) is
// claimed again by another replica.

// claimed is a site the scheduler took.
type claimed struct {
	id       int64
	interval int64
	due      int64 // the slot the check was due at (unix ms)
	version  int64 // site_version: the site's settings changes so far
	next     int64 // next_check_at the claim set
	lease    int64 // lease_until the claim set
}

// claimAhead is how far ahead of their due time the scheduler claims
// sites: one claim takes every site due in the next claimAhead, and each
// is checked at its own due time from a timer. The scheduler then looks
// again after claimAhead/2, so a steady load costs a few claims a second
// instead of one per wake-up of a few milliseconds (at 333 checks a
// second the claim and its next-due reads were a quarter of upmon's CPU).
// A site claimed ahead by a replica that dies is checked again after its
// lease, as a running check would be.
const claimAhead = 400 * time.Millisecond

// claimLimit is the most sites one claim takes.
const claimLimit = 500

// schedule runs until Stop.
func (s *Service) schedule() {
	defer close(s.schedDone)
	sem := make(chan struct{}, s.opts.SchedulerConcurrency)
	failures := 0
	for s.stopping.Err() == nil {
		now := s.opts.Now()
		free := cap(sem) - len(sem)
		limit := min(free, claimLimit)
		var (
			sites []claimed
			err   error
		)
		if free > 0 {
			err = s.schedDB.Do(s.stopping, func(ctx context.Context) error {
				sites, err = s.claimDue(ctx, now, limit)
				return err
			})
		}
		if err != nil && s.stopping.Err() != nil {
			return // stopping: not a failure
		}
		if err != nil {
			failures++
			if failures == 1 {
				s.log.Warn("scheduler cannot claim due sites; retrying", "err", err)
			}
			s.sleep(min(time.Duration(failures)*time.Second, 10*time.Second))
			continue
		}
		if failures > 0 {
			s.log.Info("scheduler recovered")
			failures = 0
		}
		for _, c := range sites {
			sem <- struct{}{}
			s.inflight.Add(1)
			s.metrics.inflightG.Inc()
			go func() {
				defer s.inflight.Done()
				defer func() { <-sem; s.metrics.inflightG.Dec() }()
				if !s.waitUntil(c.due) {
					s.releaseClaim(c) // stopping before its time
					return
				}
				s.metrics.lag.Observe(max(0, float64(s.opts.Now().UnixMilli()-c.due)/1000))
				s.runScheduled(c)
			}()
		}
		switch {
		case free > 0 && len(sites) == limit:
			continue // more may be due
		case free == 0 || len(sites) > 0:
			// Every slot busy (checks back up: looking for the next due
			// site would only scan the backlog again), or a steady load:
			// claim the next slice a little later.
			s.sleep(claimAhead / 2)
		default:
			s.sleep(s.untilNextDue(now))
		}
	}
}

// waitUntil waits until the time due (unix ms) on the service's clock; it
// reports false if the service stops first.
func (s *Service) waitUntil(due int64) bool {
	d := time.Duration(due-s.opts.Now().UnixMilli()) * time.Millisecond
	if d <= 0 {
		return s.stopping.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopping.Done():
		return false
	}
}

// sleep waits for d, a wake-up, or Stop.
func (s *Service) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.schedWake:
	case <-s.stopping.Done():
	}
}

// wakeScheduler makes the scheduler look for due sites now.
func (s *Service) wakeScheduler() {
	select {
	case s.schedWake <- struct{}{}:
	default:
	}
}

// untilNextDue is how long the scheduler may sleep: until claimAhead
// before the earliest due site, at most PollInterval (other replicas
// change the schedule too).
// A site whose check is still running (leased) is not due before its lease
// ends, so a hanging check does not make the scheduler spin.
func (s *Service) untilNextDue(now time.Time) time.Duration {
	s.nextDueReads.Add(1)
	ms := now.UnixMilli()
	// Two index range reads, not a scan: the next site to fall due, and,
	// among sites already due but leased (a check slower than its
	// interval), the earliest lease to run out.
	var next, lease *int64
	err := s.schedDB.Do(s.stopping, func(ctx context.Context) error {
		err := s.db.QueryRowContext(ctx,
			`SELECT MIN(next_check_at) FROM site_state WHERE next_check_at > $1`, ms).Scan(&next)
		if err != nil {
			return err
		}
		return s.db.QueryRowContext(ctx,
			`SELECT MIN(lease_until) FROM site_state WHERE next_check_at <= $1 AND lease_until > $1`, ms).Scan(&lease)
	})
	if err != nil {
		return s.opts.PollInterval
	}
	if next != nil {
		*next -= claimAhead.Milliseconds() // claimed ahead of its time
	}
	wake := int64(-1)
	for _, v := range []*int64{next, lease} {
		if v != nil && (wake < 0 || *v < wake) {
			wake = *v
		}
	}
	if wake < 0 {
		return s.opts.PollInterval
	}
	d := time.Duration(wake-ms) * time.Millisecond
	return min(max(d, 5*time.Millisecond), s.opts.PollInterval)
}

// claimDue claims up to limit sites due by now + claimAhead.
func (s *Service) claimDue(ctx context.Context, now time.Time, limit int) ([]claimed, error) {
	return claimDueIn(ctx, s.db, s.db.Dialect.SkipLocked(), now, claimAhead, limit)
}

// claimDueIn runs the claim (claimSQL) of the sites due by now + ahead on
// db, a database or a transaction.
func claimDueIn(ctx context.Context, db execer, skipLocked string, now time.Time, ahead time.Duration, limit int) ([]claimed, error) {
	rows, err := db.QueryContext(ctx, claimSQL(skipLocked), now.UnixMilli(), limit, now.Add(ahead).UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.interval, &c.next, &c.version, &c.lease); err != nil {
			return nil, err
		}
		c.due = c.next - c.interval
		out = append(out, c)
	}
	return out, rows.Err()
}

// releaseClaim gives back a site claimed ahead that this process will not
// check because it is stopping: due again at the slot it was claimed for,
// so a restarted process or another replica checks it then instead of
// after its lease (a SIGKILL leaves that to the lease). A row changed since
// the claim (its lease or next slot no longer the claim's) is left alone.
func (s *Service) releaseClaim(c claimed) {
	ctx, cancel := s.schedDB.Context(context.WithoutCancel(s.stopping))
	defer cancel()
	_, err := s.db.ExecContext(ctx, `UPDATE site_state SET lease_until = 0, next_check_at = $1
		WHERE site_id = $2 AND next_check_at = $3 AND lease_until = $4`, c.due, c.id, c.next, c.lease)
	if err != nil {
		s.log.Warn("stopping: cannot give back a claimed site; it waits for its lease", "site", c.id, "err", err)
	}
}

// runScheduled checks one claimed site.
func (s *Service) runScheduled(c claimed) {
	ctx := s.stopping
	st, err := s.scheduledSite(ctx, c)
	if api.IsCode(err, api.NotFound) {
		_ = s.Forget(ctx, c.id) // deleted while we were not listening
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("scheduled check: cannot read the site", "site", c.id, "err", err)
		}
		return
	}
	if st.Paused {
		_ = s.SyncSite(ctx, st)
		return
	}
	if _, err := s.checkSite(ctx, st, true); err != nil && ctx.Err() == nil {
		s.log.Warn("scheduled check failed to record", "site", c.id, "err", err)
	}
}
