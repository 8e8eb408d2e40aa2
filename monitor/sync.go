package monitor

import (
	"context"
	"database/sql"
	"time"

	"upmon/site"
)

// scheduleOf returns the schedule columns of a site: its interval (a push
// monitor's deadline is interval plus grace), lease and pause.
func scheduleOf(st *site.Site) (intervalMS, leaseMS int64) {
	iv := st.Interval.D()
	if st.Kind == site.KindPush {
		iv += st.Grace.D()
	}
	return iv.Milliseconds(), leaseOf(st).Milliseconds()
}

// spread returns the offset within interval at which a site is first
// scheduled: ids spread evenly (golden-ratio steps), so many sites added
// at once never all fall due at the same moment.
func spread(id, intervalMS int64) int64 {
	if intervalMS <= 0 {
		return 0
	}
	const phi = 0.6180339887498949
	f := float64(id) * phi
	f -= float64(int64(f))
	return int64(f * float64(intervalMS))
}

// SyncSite brings a site's schedule row in line with its settings: a new
// row is first due within one interval; a changed interval takes effect
// at once; pausing stops the checks.
func (s *Service) SyncSite(ctx context.Context, st *site.Site) error {
	return s.syncSites(ctx, []*site.Site{st}, false)
}

// Sync reconciles every site's schedule with the site list and forgets
// sites that no longer exist. The check-all cron job runs it each tick.
func (s *Service) Sync(ctx context.Context) error {
	list, err := s.sites.List(ctx, &site.ListParams{})
	if err != nil {
		return err
	}
	return s.syncSites(ctx, list.Sites, true)
}

type schedRow struct {
	kind            string
	interval, lease int64
	paused          bool
	next            int64
}

func (s *Service) syncSites(ctx context.Context, sites []*site.Site, all bool) error {
	now := s.opts.Now().UnixMilli()
	changed := false
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		changed = false
		// One site (a site added or changed) reads only its own row: the
		// whole table would make adding n sites cost O(n²).
		q, args := `SELECT site_id, kind, interval_ms, lease_ms, paused, next_check_at FROM site_state`, []any(nil)
		if !all && len(sites) == 1 {
			q, args = q+` WHERE site_id = $1`, []any{sites[0].ID}
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		have := map[int64]schedRow{}
		for rows.Next() {
			var id int64
			var r schedRow
			if err := rows.Scan(&id, &r.kind, &r.interval, &r.lease, &r.paused, &r.next); err != nil {
				rows.Close()
				return err
			}
			have[id] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		seen := make(map[int64]bool, len(sites))
		for _, st := range sites {
			seen[st.ID] = true
			iv, lease := scheduleOf(st)
			cur, ok := have[st.ID]
			// A push monitor's deadline counts from its creation (and
			// from an unpause) until its first push.
			var pushFrom int64
			if st.Kind == site.KindPush {
				pushFrom = now
			}
			if !ok {
				_, err := tx.ExecContext(ctx,
					`INSERT INTO site_state (site_id, up, checked_at, seq, latency_ms, status_code, error, kind, interval_ms, lease_ms, paused, next_check_at, last_push_at)
					 VALUES ($1, TRUE, 0, 0, 0, 0, '', $2, $3, $4, $5, $6, $7) ON CONFLICT (site_id) DO NOTHING`,
					st.ID, st.Kind, iv, lease, st.Paused, now+spread(st.ID, iv), pushFrom)
				if err != nil {
					return err
				}
				changed = true
				continue
			}
			if cur.kind == st.Kind && cur.interval == iv && cur.lease == lease && cur.paused == st.Paused {
				continue
			}
			next := cur.next
			if iv != cur.interval || (cur.paused && !st.Paused) {
				// A new interval or an unpause takes effect now.
				next = min(max(cur.next, now), now+iv)
				if cur.paused && !st.Paused {
					next = now
				}
			}
			if _, err := tx.ExecContext(ctx,
				`UPDATE site_state SET kind = $1, interval_ms = $2, lease_ms = $3, paused = $4, next_check_at = $5 WHERE site_id = $6`,
				st.Kind, iv, lease, st.Paused, next, st.ID); err != nil {
				return err
			}
			if pushFrom != 0 && cur.paused && !st.Paused {
				if _, err := tx.ExecContext(ctx, `UPDATE site_state SET last_push_at = $1 WHERE site_id = $2`, pushFrom, st.ID); err != nil {
					return err
				}
			}
			changed = true
		}
		if all {
			for id := range have {
				if !seen[id] {
					if _, err := tx.ExecContext(ctx, `DELETE FROM site_state WHERE site_id = $1`, id); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return dbError("sync schedule", err)
	}
	if changed {
		s.wakeScheduler()
	}
	return nil
}

// SyncJob is Sync in the shape of a cron endpoint.
func (s *Service) SyncJob(ctx context.Context) error {
	start := time.Now()
	err := s.Sync(ctx)
	s.log.Debug("schedule synced", "took", time.Since(start), "err", err)
	return err
}
