package monitor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"upmon/platform/api"
	"upmon/platform/outbox"
	"upmon/platform/sqldb"
	"upmon/site"
)

// Hooks are fault-injection points for crash tests.
type Hooks struct {
	// AfterCommit, if set, runs after a check's transaction commits and
	// before the relay is woken.
	AfterCommit func(siteID int64)
}

// dbError turns a database failure into an API error: unavailable when
// the database cannot be reached, internal otherwise (logged, not shown).
func dbError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if sqldb.IsUnavailable(err) {
		return &api.Error{Code: api.Unavailable, Message: "the monitor database is unavailable"}
	}
	return fmt.Errorf("monitor: %s: %w", op, err)
}

// record stores a check and, in the same transaction, compare-and-sets the
// site's state and queues a transition event when the state changed.
func (s *Service) record(ctx context.Context, st *site.Site, at time.Time, r Result) error {
	transition := ""
	forUpdate := ""
	if s.db.Dialect == sqldb.Postgres {
		forUpdate = " FOR UPDATE"
	}
	atMS := at.UnixMilli()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		transition = ""
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO checks (site_id, up, checked_at, latency_ms, status_code, error) VALUES ($1, $2, $3, $4, $5, $6)`,
			st.ID, r.Up, atMS, r.Latency.Milliseconds(), r.StatusCode, r.Err); err != nil {
			return err
		}
		// A site never checked counts as up (the tutorial's rule).
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO site_state (site_id, up, checked_at, seq, latency_ms, status_code, error) VALUES ($1, TRUE, 0, 0, 0, 0, '') ON CONFLICT (site_id) DO NOTHING`,
			st.ID); err != nil {
			return err
		}
		var (
			prevUp  bool
			prevAt  int64
			prevSeq int64
		)
		if err := tx.QueryRowContext(ctx,
			`SELECT up, checked_at, seq FROM site_state WHERE site_id = $1`+forUpdate, st.ID).Scan(&prevUp, &prevAt, &prevSeq); err != nil {
			return err
		}
		if atMS < prevAt {
			// A newer check already set the state; this one is history.
			return nil
		}
		seq := prevSeq
		if prevUp != r.Up {
			seq++
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE site_state SET up = $1, checked_at = $2, seq = $3, latency_ms = $4, status_code = $5, error = $6 WHERE site_id = $7`,
			r.Up, atMS, seq, r.Latency.Milliseconds(), r.StatusCode, r.Err, st.ID); err != nil {
			return err
		}
		if seq == prevSeq {
			return nil
		}
		reason := r.Err
		if r.Up && r.StatusCode != 0 {
			reason = fmt.Sprintf("HTTP %d", r.StatusCode)
		}
		id, err := outbox.InsertEvent(ctx, tx, TopicUptimeTransition, at, func(id string) any {
			return &TransitionEvent{ID: id, Site: st, Up: r.Up, Seq: seq, CheckedAt: at, Reason: reason}
		})
		transition = id
		return err
	})
	if err != nil {
		return dbError("record check", err)
	}
	if r.Up {
		s.metrics.checks.WithLabelValues("up").Inc()
	} else {
		s.metrics.checks.WithLabelValues("down").Inc()
	}
	if h := s.hooks.AfterCommit; h != nil {
		h(st.ID)
	}
	if transition != "" {
		state := "down"
		if r.Up {
			state = "up"
		}
		s.metrics.transitions.WithLabelValues(state).Inc()
		s.opts.OnEvent()
	}
	return nil
}

// SiteStatus is one site's latest check in /status.
type SiteStatus struct {
	// Up is the latest check's outcome.
	Up bool `json:"up"`
	// CheckedAt is when it ran.
	CheckedAt time.Time `json:"checked_at"`
}

// states returns the latest state of every checked site.
func (s *Service) states(ctx context.Context) (map[int64]SiteStatus, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site_id, up, checked_at FROM site_state WHERE checked_at > 0`)
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
		if err := rows.Scan(&id, &st.Up, &at); err != nil {
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM site_state WHERE site_id = $1`, siteID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM checks WHERE site_id = $1`, siteID)
		return err
	})
	if err != nil {
		return dbError("forget site", err)
	}
	return nil
}
