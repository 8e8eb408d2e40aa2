package monitor

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"go.opentelemetry.io/otel/trace"

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
	urgent    bool // its caller waits for it alone: the batch does not wait for more
	// pushWait, when not 0, makes this a push monitor's missed-deadline
	// check: it is recorded only if, inside the transaction, no push
	// arrived within pushWait ms before at (else skipped is set).
	pushWait int64
	skipped  bool
	location string // the location the check ran from; "" is this process's own
	done     chan error
	state    siteState  // the state after it was applied
	events   int        // outbox events written
	span     trace.Span // the check's span, or nil
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
		s.writeBatch(s.collect(q, first, maxBatch))
	}
}

// collect returns a batch of first and the checks that arrive within
// BatchDelay after it, at most max. A batch holding an urgent check (an
// API caller or a push waits for it) takes only what is already queued.
func (s *Service) collect(q chan *pending, first *pending, max int) []*pending {
	batch := []*pending{first}
	urgent := first.urgent
	var wait <-chan time.Time
	if d := s.opts.BatchDelay; d > 0 && !urgent {
		t := time.NewTimer(d)
		defer t.Stop()
		wait = t.C
	}
	for len(batch) < max {
		if wait == nil || urgent {
			select {
			case p := <-q:
				batch = append(batch, p)
				continue
			default:
				return batch
			}
		}
		select {
		case p := <-q:
			batch = append(batch, p)
			urgent = urgent || p.urgent
		case <-wait:
			return batch
		case <-s.writerStop:
			return batch
		}
	}
	return batch
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
	// The transaction's span joins the first check's trace.
	ctx = spanContext(ctx, batch[0].span)
	windows, err := s.loadMaintenance(ctx)
	if err != nil {
		return dbError("load maintenance", err)
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.writeChecks(ctx, tx, batch, windows)
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

// writeChecks writes a batch (sorted by site id) within tx: it locks
// the batch's state rows (creating the missing ones), applies every check
// to its site's state in order, and writes the checks, the states and the
// rollups with multi-row statements.
func (s *Service) writeChecks(ctx context.Context, tx *sql.Tx, batch []*pending, windows []maintenanceWindow) error {
	ids := make([]int64, 0, len(batch))
	for _, p := range batch {
		p.events = 0
		if len(ids) == 0 || ids[len(ids)-1] != p.st.ID {
			ids = append(ids, p.st.ID)
		}
	}
	states, err := s.lockStates(ctx, tx, ids)
	if err != nil {
		return err
	}
	var (
		missing []int64
		attn    attentionSet
	)
	for _, p := range batch {
		if states[p.st.ID] == nil && (len(missing) == 0 || missing[len(missing)-1] != p.st.ID) {
			// A site never checked: its state row is created with the
			// time of its first check.
			made, err := s.ensureState(ctx, tx, p.st, p.at)
			if err != nil {
				return err
			}
			if made {
				attn.created(p.st.ID)
			}
			missing = append(missing, p.st.ID)
		}
	}
	if len(missing) > 0 {
		more, err := s.lockStates(ctx, tx, missing)
		if err != nil {
			return err
		}
		for id, r := range more {
			states[id] = r
		}
	}
	rollups := rollupBatch{}
	checks := make([]checkRow, 0, len(batch))
	for _, p := range batch {
		if err := s.pushStep(ctx, tx, p); err != nil {
			return err
		}
		if p.skipped {
			continue
		}
		row := states[p.st.ID]
		if row == nil {
			return sql.ErrNoRows
		}
		checks = append(checks, checkRowOf(p, s.locOf(p)))
		if err := s.applyOne(spanContext(ctx, p.span), tx, p, row, windows); err != nil {
			return err
		}
		rollups.add(p.st.ID, p.at, p.res)
	}
	if err := insertChecks(ctx, tx, &s.stmts, checks); err != nil {
		return err
	}
	if err := updateStates(ctx, tx, &s.stmts, ids, states); err != nil {
		return err
	}
	if err := rollups.flush(ctx, tx, &s.stmts); err != nil {
		return err
	}
	for _, id := range ids {
		if r := states[id]; r != nil && r.dirty && r.st.State() != r.was {
			attn.touch(id)
		}
	}
	return attn.apply(ctx, tx, s.stmts.numbered)
}

// applyOne compare-and-sets the site's state (row, locked) with one check
// and, in the same transaction, queues the events its change causes.
func (s *Service) applyOne(ctx context.Context, tx *sql.Tx, p *pending, row *lockedState, windows []maintenanceWindow) error {
	st, r := p.st, p.res
	atMS := p.at.UnixMilli()
	prev, certNotified, notifiedUp := row.st, row.certNotified, row.notifiedUp
	next := prev
	var (
		ch      change
		verdict *quorumVerdict // set when decided by quorum over locations
	)
	if s.multiLocation(p) {
		var (
			stale bool
			err   error
		)
		if ch, verdict, stale, err = s.recordLocation(ctx, tx, p, &next); err != nil || stale {
			p.state = prev
			return err
		}
	} else {
		if atMS < prev.CheckedAt {
			// A newer check already set the state; this one is history.
			p.state = prev
			return nil
		}
		ch = next.apply(r, atMS, st.FailureThreshold, st.SuccessThreshold)
	}
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
	row.st, row.certNotified, row.notifiedUp = next, newCert, notifiedUp
	row.recent = appendRecent(row.recent, p.at, r)
	row.latencyMS, row.statusCode, row.errText = r.Latency.Milliseconds(), r.StatusCode, r.Err
	row.dirty = true
	row.clearLease = row.clearLease || p.scheduled
	if ch.upChanged || notify {
		reason := reasonLine(r, next, next.Up)
		if !ch.upChanged {
			reason = "still " + map[bool]string{true: "up", false: "down"}[next.Up] + " after a maintenance window: " + reason
		}
		ev := &TransitionEvent{Site: ref, Up: next.Up, Seq: next.Seq, CheckedAt: p.at, Reason: reason, Maintenance: !notify}
		verdict.describe(ev)
		if _, err := outbox.InsertEvent(ctx, tx, TopicUptimeTransition, p.at, func(id string) any {
			ev.ID = id
			return ev
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
		var attn attentionSet
		if err := attn.deleteState(ctx, tx, siteID); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM checks WHERE site_id = $1`,
			`DELETE FROM rollups WHERE site_id = $1`,
			`DELETE FROM check_blocks WHERE site_id = $1`,
			`DELETE FROM rollup_packs WHERE site_id = $1`,
			`DELETE FROM incidents WHERE site_id = $1`,
			`DELETE FROM location_state WHERE site_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, siteID); err != nil {
				return err
			}
		}
		// Last: the count's shard row stays locked until commit.
		return attn.apply(ctx, tx, s.stmts.numbered)
	})
	if err != nil {
		return dbError("forget site", err)
	}
	return nil
}
