package monitor

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"upmon/site"
)

// The schedule columns of site_state (next_check_at, lease_until,
// last_push_at) have one owner: the statements in this file. Each is a
// single UPDATE that computes the new values from the row as it is when
// the statement runs, never from a value read earlier, so a settings
// change, a push and a claim that race on one row are serialised by the
// row lock and none overwrites another (on PostgreSQL a waiting UPDATE is
// re-evaluated on the row the other transaction committed).

// execer is a database handle or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// insertSchedule creates a site's row, first due at next; a row that
// exists already is left alone.
func insertSchedule(ctx context.Context, db execer, id int64, kind string, intervalMS, leaseMS int64, paused bool, next, pushFrom int64) (bool, error) {
	res, err := db.ExecContext(ctx,
		`INSERT INTO site_state (site_id, up, checked_at, seq, latency_ms, status_code, error, kind, interval_ms, lease_ms, paused, next_check_at, last_push_at)
		 VALUES ($1, TRUE, 0, 0, 0, 0, '', $2, $3, $4, $5, $6, $7) ON CONFLICT (site_id) DO NOTHING`,
		id, kind, intervalMS, leaseMS, paused, next, pushFrom)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// applySettings sets a site's schedule settings and moves its next check
// accordingly, compare-and-set against the claim: a new interval takes
// effect at once, at the site's phase for the new interval (within one
// new interval from now), so sites changed together stay spread; an
// unpause makes the site due now (and restarts a push monitor's
// deadline); while a check holds the lease, the slot the claim already
// moved on is kept, or brought closer by a shorter interval counted from
// the claimed slot, so the running check's slot is never handed out
// twice. A push monitor's deadline is not phase-aligned. It reports
// whether the row changed.
func applySettings(ctx context.Context, db execer, id int64, kind string, intervalMS, leaseMS int64, paused, push bool, now int64) (bool, error) {
	claimedSlot := `next_check_at - interval_ms`
	res, err := db.ExecContext(ctx, `UPDATE site_state SET
		next_check_at = CASE
			WHEN CAST($4 AS BOOLEAN) THEN next_check_at
			WHEN paused THEN CAST($5 AS BIGINT)
			WHEN interval_ms = $2 THEN next_check_at
			WHEN lease_until > $5 AND CAST($7 AS BOOLEAN) THEN
				CASE WHEN `+claimedSlot+` + $2 < next_check_at THEN `+claimedSlot+` + $2 ELSE next_check_at END
			WHEN lease_until > $5 THEN
				CASE WHEN `+slotAfterSQL(claimedSlot, "site_id", "CAST($2 AS BIGINT)")+` < next_check_at
				     THEN `+slotAfterSQL(claimedSlot, "site_id", "CAST($2 AS BIGINT)")+` ELSE next_check_at END
			WHEN next_check_at <= $5 THEN CAST($5 AS BIGINT)
			WHEN CAST($7 AS BOOLEAN) THEN CASE WHEN next_check_at > $5 + $2 THEN $5 + $2 ELSE next_check_at END
			ELSE `+slotAfterSQL("CAST($5 AS BIGINT)", "site_id", "CAST($2 AS BIGINT)")+` END,
		last_push_at = CASE WHEN CAST($7 AS BOOLEAN) AND paused AND NOT CAST($4 AS BOOLEAN) THEN CAST($5 AS BIGINT) ELSE last_push_at END,
		kind = $1, interval_ms = $2, lease_ms = $3, paused = $4
		WHERE site_id = $6 AND (kind <> $1 OR interval_ms <> $2 OR lease_ms <> $3 OR paused <> $4)`,
		kind, intervalMS, leaseMS, paused, now, id, push)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// claimSQL claims up to $2 sites due by $3 (a horizon at or after the
// time of the claim, $1): it takes a lease and moves next_check_at to the
// site's next slot at its phase after its start, the later of $1 and its
// due time (a site far behind skips the slots it missed; a site due off
// its phase, after an unpause, returns to it). The lease counts from that
// start, since a site claimed ahead is checked at its due time. A push
// monitor's deadline moves one interval on instead. Only a row whose lease
// has run out at $1 is claimed.
func claimSQL(skipLocked string) string {
	start := `(CASE WHEN next_check_at > $1 THEN next_check_at ELSE CAST($1 AS BIGINT) END)`
	return `UPDATE site_state SET lease_until = ` + start + ` + lease_ms,
		next_check_at = CASE WHEN kind = '` + site.KindPush + `' THEN
		                       CASE WHEN next_check_at + interval_ms > $1 THEN next_check_at + interval_ms
		                            ELSE $1 + interval_ms - (($1 - next_check_at) % interval_ms) END
		                     ELSE ` + slotAfterSQL(start, "site_id", "interval_ms") + ` END
		WHERE site_id IN (SELECT site_id FROM site_state
		                  WHERE next_check_at <= $3 AND lease_until <= $1 AND paused = FALSE AND interval_ms > 0
		                  ORDER BY next_check_at LIMIT $2` + skipLocked + `)
		RETURNING site_id, interval_ms, next_check_at, site_version, lease_until`
}

// releasePushClaim gives back the claim of a push monitor whose deadline
// has not passed and makes it due at the deadline, or at the deadline of
// a push that arrived since (interval_ms of a push monitor is its
// interval plus grace).
func releasePushClaim(ctx context.Context, db execer, id, deadline int64) error {
	_, err := db.ExecContext(ctx, `UPDATE site_state SET lease_until = 0,
		next_check_at = CASE WHEN last_push_at + interval_ms > $1 THEN last_push_at + interval_ms ELSE CAST($1 AS BIGINT) END
		WHERE site_id = $2`, deadline, id)
	return err
}

// restartPushDeadline records a push at at: the push monitor's deadline
// counts from it (a push older than the last one changes nothing).
func restartPushDeadline(ctx context.Context, tx *sql.Tx, id, at int64) error {
	_, err := tx.ExecContext(ctx,
		`UPDATE site_state SET last_push_at = $1, next_check_at = $1 + interval_ms WHERE site_id = $2 AND last_push_at < $1`, at, id)
	return err
}

// pushOverdue reports, under the row lock, whether a push monitor's last
// push (or its creation, before the first push) is at least wait ms
// before at.
func pushOverdue(ctx context.Context, tx *sql.Tx, id, at, wait int64, forUpdate string) (bool, error) {
	var last, created int64
	err := tx.QueryRowContext(ctx, `SELECT last_push_at, next_check_at - interval_ms FROM site_state WHERE site_id = $1`+forUpdate, id).Scan(&last, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if last == 0 {
		last = created
	}
	return at-last >= wait, nil
}

// clearLease gives a scheduled check's lease back.
func clearLease(ctx context.Context, tx *sql.Tx, id int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE site_state SET lease_until = 0 WHERE site_id = $1`, id)
	return err
}

// pushStep runs the push part of recording p: a push restarts the
// deadline in the check's transaction (a deadline check never sees its
// up without its new deadline); a missed-deadline check is skipped when,
// under the row lock, a push turns out to have arrived since the deadline
// was evaluated.
func (s *Service) pushStep(ctx context.Context, tx *sql.Tx, p *pending) error {
	p.skipped = false
	atMS := p.at.UnixMilli()
	if p.pushWait > 0 {
		overdue, err := pushOverdue(ctx, tx, p.st.ID, atMS, p.pushWait, s.db.Dialect.ForUpdate())
		if err != nil {
			return err
		}
		if !overdue {
			p.skipped = true
			if p.scheduled {
				return clearLease(ctx, tx, p.st.ID)
			}
			return nil
		}
	}
	if p.push {
		return restartPushDeadline(ctx, tx, p.st.ID, atMS)
	}
	return nil
}

// ensureState creates the site's state row if missing: a site never
// checked counts as up (the tutorial's rule); its next check is the
// site's first slot after at, at its phase (a push monitor's
// deadline counts from at).
func (s *Service) ensureState(ctx context.Context, tx *sql.Tx, st *site.Site, at time.Time) (bool, error) {
	iv, lease := scheduleOf(st)
	var pushFrom int64
	next := slotAfter(at.UnixMilli(), st.ID, iv)
	if st.Kind == site.KindPush {
		pushFrom = at.UnixMilli()
		next = pushFrom + iv
	}
	return insertSchedule(ctx, tx, st.ID, st.Kind, iv, lease, st.Paused, next, pushFrom)
}

// leaseOf is how long a scheduled check of st may take before another
// replica may assume it died and check again: the longest the check can
// run (every attempt timing out, with the delays between retries) plus a
// margin for reading the site, committing the result and clock skew
// between replicas. The margin is one timeout, at least 1 s and at most
// 5 s: a fixed 5 s made a replica killed mid-check leave its sites
// unchecked for 5 s past the timeout, far longer than a short interval.
// A claim also moves next_check_at one interval on, so a live replica's
// slow commit that outlasts the lease is checked again no sooner than
// its next slot, and a dead replica's sites wait max(interval, lease).
func leaseOf(st *site.Site) time.Duration {
	t := st.Timeout.D()
	retryDelay := min(time.Second, max(t/4, 100*time.Millisecond))
	margin := min(max(t, time.Second), 5*time.Second)
	return time.Duration(st.Retries+1)*t + time.Duration(st.Retries)*retryDelay + margin
}

// releaseLease gives back a scheduled claim that this process does not
// check itself (its agents do).
func (s *Service) releaseLease(ctx context.Context, siteID int64) error {
	return s.schedDB.Do(ctx, func(ctx context.Context) error {
		_, err := s.db.ExecContext(ctx, `UPDATE site_state SET lease_until = 0 WHERE site_id = $1`, siteID)
		return err
	})
}
