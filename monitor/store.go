package monitor

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"upmon/platform/outbox"
	"upmon/platform/sqldb"
	"upmon/site"
)

// Hooks are fault-injection points for crash tests.
type Hooks struct {
	// AfterCommit, if set, runs after a check's transaction commits and
	// before the relay is woken.
	AfterCommit func(siteID int64)
	// AfterSiteList, if set, runs in a check-all sweep after the site
	// list is read and before the schedule is reconciled with it (a slow
	// sweep, for race tests).
	AfterSiteList func()
	// TLSClientConfig, if set, replaces the TLS configuration of checks
	// (tests trust the certificate authority of their https sites).
	TLSClientConfig *tls.Config
}

// dbError turns a database failure into what the endpoint answers.
func dbError(op string, err error) error { return sqldb.APIError("monitor", op, err) }

// pending is a check result waiting to be written.
type pending struct {
	st        *site.Site
	at        time.Time
	res       Result
	scheduled bool // the scheduler's claimed check: clears the lease
	push      bool // a push: also restarts the push deadline
	// pushWait, when not 0, makes this a push monitor's missed-deadline
	// check: it is recorded only if, inside the transaction, no push
	// arrived within pushWait ms before at (else skipped is set).
	pushWait int64
	skipped  bool
	done     chan error
	state    siteState // the state after it was applied
	events   int       // outbox events written
}

// record writes one check through the batching writer and waits until it
// is committed.
func (s *Service) record(st *site.Site, at time.Time, res Result, scheduled bool) (*pending, error) {
	p := &pending{st: st, at: at.UTC(), res: res, scheduled: scheduled}
	return p, s.enqueue(p)
}

// enqueue writes p through the batching writer and waits until it is
// committed.
func (s *Service) enqueue(p *pending) error {
	p.done = make(chan error, 1)
	st := p.st
	select {
	case s.recq[st.ID%int64(len(s.recq))] <- p:
	case <-s.writerDone:
		return ErrAbandoned
	}
	return <-p.done
}

// writer commits queued checks in batches: one transaction for up to
// maxBatch checks that arrived together, which is what lets one small
// machine store thousands of checks a second on SQLite.
//
// SQLite has one writer at a time, so it gets one writer goroutine; on
// PostgreSQL each batch waits on network round trips, so several writers
// run side by side, each owning the sites whose id falls in its
// partition (one site's checks stay in order, and two batches never lock
// the same rows).
func (s *Service) writer(q chan *pending) {
	defer s.writers.Done()
	const maxBatch = 256
	for {
		var first *pending
		select {
		case first = <-q:
		case <-s.writerStop:
			return
		}
		batch := []*pending{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case p := <-q:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		s.writeBatch(batch)
	}
}

func (s *Service) writeBatch(batch []*pending) {
	err := s.commit(batch)
	if err != nil && len(batch) > 1 && !sqldb.IsUnavailable(err) {
		// One bad row must not fail the others: write them one by one.
		for _, p := range batch {
			s.finish([]*pending{p}, s.commit([]*pending{p}))
		}
		return
	}
	s.finish(batch, err)
}

func (s *Service) finish(batch []*pending, err error) {
	events := 0
	for _, p := range batch {
		if err == nil && !p.skipped {
			if p.res.Up {
				s.metrics.checks.WithLabelValues("up").Inc()
			} else {
				s.metrics.checks.WithLabelValues("down").Inc()
			}
			if h := s.hooks.AfterCommit; h != nil {
				h(p.st.ID)
			}
			events += p.events
		}
	}
	if events > 0 {
		s.opts.OnEvent()
	}
	for _, p := range batch {
		if err == nil && !p.skipped && s.opts.OnRecorded != nil {
			s.opts.OnRecorded(recordedOf(p))
		}
		p.done <- err
	}
}

// commit writes a batch in one transaction.
func (s *Service) commit(batch []*pending) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Lock site rows in id order (stable, so one site's checks keep their
	// order) so that two replicas' batches cannot deadlock.
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].st.ID < batch[j].st.ID })
	windows, err := s.loadMaintenance(ctx)
	if err != nil {
		return dbError("load maintenance", err)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		rollups := rollupBatch{}
		for _, p := range batch {
			p.events = 0
			if err := s.recordOne(ctx, tx, p, windows); err != nil {
				return err
			}
			if p.skipped {
				continue
			}
			rollups.add(p.st.ID, p.at, p.res)
		}
		return rollups.flush(ctx, tx, &s.stmts, s.db.Dialect.ForUpdate())
	})
	if err != nil {
		return dbError("record check", err)
	}
	return nil
}

// checkState is the state name stored with a check.
func checkState(r Result) string {
	switch {
	case !r.Up:
		return StateDown
	case r.Slow:
		return StateDegraded
	}
	return StateUp
}

// recordOne stores a check and, in the same transaction, compare-and-sets
// the site's state and queues the events its change causes.
func (s *Service) recordOne(ctx context.Context, tx *sql.Tx, p *pending, windows []maintenanceWindow) error {
	st, r := p.st, p.res
	atMS := p.at.UnixMilli()
	if err := s.pushStep(ctx, tx, p); err != nil || p.skipped {
		return err
	}
	var days any
	if r.TLSDaysLeft != nil {
		days = *r.TLSDaysLeft
	}
	if _, err := s.stmts.exec(ctx, tx,
		`INSERT INTO checks (site_id, up, checked_at, latency_ms, status_code, error, state, dns_ms, connect_ms, tls_ms, first_byte_ms, tls_days_left, attempts)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		st.ID, r.Up, atMS, r.Latency.Milliseconds(), r.StatusCode, r.Err, checkState(r),
		r.DNS.Milliseconds(), r.Connect.Milliseconds(), r.TLS.Milliseconds(), r.FirstByte.Milliseconds(), days, max(r.Attempts, 1)); err != nil {
		return err
	}
	var (
		prev         siteState
		certNotified int
		recent       string
		notifiedUp   bool
	)
	// Read the state row, creating it first if the site has none yet
	// (almost every check finds it, so the insert is not tried each time).
	for attempt := 0; ; attempt++ {
		row, err := s.stmts.queryRow(ctx, tx,
			`SELECT up, degraded, last_up, checked_at, seq, dseq, fail_streak, ok_streak, slow_streak, fast_streak, cert_notified, recent, notified_up
			 FROM site_state WHERE site_id = $1`+s.db.Dialect.ForUpdate(), st.ID)
		if err != nil {
			return err
		}
		err = row.Scan(&prev.Up, &prev.Degraded, &prev.LastUp, &prev.CheckedAt, &prev.Seq, &prev.DSeq,
			&prev.FailStreak, &prev.OKStreak, &prev.SlowStreak, &prev.FastStreak, &certNotified, &recent, &notifiedUp)
		if errors.Is(err, sql.ErrNoRows) && attempt == 0 {
			if err := s.ensureState(ctx, tx, st, p.at); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if atMS < prev.CheckedAt {
		// A newer check already set the state; this one is history.
		p.state = prev
		return nil
	}
	next := prev
	ch := next.apply(r, atMS, st.FailureThreshold, st.SuccessThreshold)
	p.state = next
	inMaint := inMaintenance(windows, st, p.at)
	ref := st.Ref()
	// Notifiers hear about a state when it differs from the last one they
	// were told, outside maintenance windows: a change inside a window is
	// held back, and notified at the first check after it if it still
	// holds; a change undone within the window is never notified.
	notify := !inMaint && next.Up != notifiedUp
	if notify {
		notifiedUp = next.Up
		if !ch.upChanged {
			next.Seq++ // a held-back change released: a new event
			p.state = next
		}
	}

	newCert := certNotified
	var certEvent *CertExpiringEvent
	if r.TLSDaysLeft != nil {
		d := *r.TLSDaysLeft
		switch {
		case d > 14:
			newCert = 0 // renewed: arm both warnings again
		case d <= 3 && (certNotified == 0 || certNotified > 3):
			newCert = 3
		case d <= 14 && certNotified == 0:
			newCert = 14
		}
		if newCert != certNotified && newCert != 0 {
			certEvent = &CertExpiringEvent{Site: ref, DaysLeft: d, Threshold: newCert, ExpiresAt: r.TLSExpires.UTC(), CheckedAt: p.at}
		}
	}
	schedClause := ""
	if p.scheduled {
		schedClause = leaseClearClause
	}
	if _, err := s.stmts.exec(ctx, tx,
		`UPDATE site_state SET up = $1, degraded = $2, last_up = $3, checked_at = $4, seq = $5, dseq = $6,
		 fail_streak = $7, ok_streak = $8, slow_streak = $9, fast_streak = $10, cert_notified = $11, recent = $12,
		 state = $13, latency_ms = $14, status_code = $15, error = $16, notified_up = $17`+schedClause+` WHERE site_id = $18`,
		next.Up, next.Degraded, next.LastUp, next.CheckedAt, next.Seq, next.DSeq,
		next.FailStreak, next.OKStreak, next.SlowStreak, next.FastStreak, newCert, appendRecent(recent, p.at, r),
		next.State(), r.Latency.Milliseconds(), r.StatusCode, r.Err, notifiedUp, st.ID); err != nil {
		return err
	}
	if ch.upChanged || notify {
		reason := reasonLine(r, next, next.Up)
		if !ch.upChanged {
			reason = "still " + map[bool]string{true: "up", false: "down"}[next.Up] + " after a maintenance window: " + reason
		}
		if _, err := outbox.InsertEvent(ctx, tx, TopicUptimeTransition, p.at, func(id string) any {
			return &TransitionEvent{ID: id, Site: ref, Up: next.Up, Seq: next.Seq, CheckedAt: p.at, Reason: reason, Maintenance: !notify}
		}); err != nil {
			return err
		}
		p.events++
	}
	if ch.upChanged {
		if err := s.trackIncident(ctx, tx, st.ID, atMS, next.Up, reasonLine(r, next, next.Up)); err != nil {
			return err
		}
		state := StateDown
		if next.Up {
			state = StateUp
		}
		s.metrics.transitions.WithLabelValues(state).Inc()
	}
	if ch.degradedChanged {
		reason := fmt.Sprintf("%s after %s", r.Err, plural(next.SlowStreak, "slow check"))
		if !next.Degraded {
			reason = fmt.Sprintf("answered within %s after %s", st.MaxLatency, plural(next.FastStreak, "check"))
		}
		if _, err := outbox.InsertEvent(ctx, tx, TopicDegraded, p.at, func(id string) any {
			return &DegradedEvent{ID: id, Site: ref, Degraded: next.Degraded, Seq: next.DSeq, CheckedAt: p.at, Reason: reason, Maintenance: inMaint}
		}); err != nil {
			return err
		}
		p.events++
		state := "recovered"
		if next.Degraded {
			state = StateDegraded
		}
		s.metrics.transitions.WithLabelValues(state).Inc()
	}
	if certEvent != nil {
		if _, err := outbox.InsertEvent(ctx, tx, TopicCertExpiring, p.at, func(id string) any {
			certEvent.ID = id
			return certEvent
		}); err != nil {
			return err
		}
		p.events++
	}
	return nil
}

// trackIncident opens an incident when a site goes down and closes it
// when it comes back.
func (s *Service) trackIncident(ctx context.Context, tx *sql.Tx, siteID, atMS int64, up bool, reason string) error {
	if !up {
		_, err := tx.ExecContext(ctx, `INSERT INTO incidents (site_id, started_at, reason) VALUES ($1, $2, $3)`, siteID, atMS, reason)
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET ended_at = $1, end_reason = $2 WHERE site_id = $3 AND ended_at IS NULL`, atMS, reason, siteID)
	return err
}

// SiteStatus is one site's latest check in /status.
type SiteStatus struct {
	// Up is the latest check's outcome.
	Up bool `json:"up"`
	// CheckedAt is when it ran.
	CheckedAt time.Time `json:"checked_at"`
	// State is the reported state, with thresholds applied: up, down or
	// degraded.
	State string `json:"state"`
}

// states returns the latest state of every checked site.
func (s *Service) states(ctx context.Context) (map[int64]SiteStatus, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, last_up, checked_at, state FROM site_state WHERE checked_at > 0`)
	if err != nil {
		return nil, dbError("status", err)
	}
	defer rows.Close()
	out := map[int64]SiteStatus{}
	for rows.Next() {
		var (
			id int64
			st SiteStatus
			at int64
		)
		if err := rows.Scan(&id, &st.Up, &at, &st.State); err != nil {
			return nil, dbError("status", err)
		}
		st.CheckedAt = time.UnixMilli(at).UTC()
		out[id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("status", err)
	}
	return out, nil
}

// Forget deletes a site's state and history (after the site is deleted).
func (s *Service) Forget(ctx context.Context, siteID int64) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM site_state WHERE site_id = $1`,
			`DELETE FROM checks WHERE site_id = $1`,
			`DELETE FROM rollups WHERE site_id = $1`,
			`DELETE FROM incidents WHERE site_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, siteID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return dbError("forget site", err)
	}
	return nil
}
