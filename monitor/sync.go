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

// phaseOf returns a site's phase within its interval: the offset (ms,
// counted from the Unix epoch modulo the interval) at which its checks fall
// due. It is a pure function of the id and the interval, so it is the same
// on every replica and after a restart, and consecutive ids (sites added
// together) land golden-ratio steps apart: a burst of new sites is spread
// evenly over the interval. phaseSQL is the same function in SQL.
func phaseOf(id, intervalMS int64) int64 {
	if intervalMS <= 0 {
		return 0
	}
	return (id % 65536) * 40503 % 65536 * intervalMS / 65536
}

// phaseSQL is phaseOf as an SQL expression over id and interval
// expressions (both engines: integer arithmetic that never overflows for
// intervals under about four years).
func phaseSQL(id, interval string) string {
	return `((` + id + ` % 65536) * 40503 % 65536 * ` + interval + ` / 65536)`
}

// slotAfter returns the site's first due time strictly after t (unix ms):
// t rounded up to the site's phase.
func slotAfter(t, id, intervalMS int64) int64 {
	if intervalMS <= 0 {
		return t
	}
	off := (t - phaseOf(id, intervalMS)) % intervalMS
	if off < 0 {
		off += intervalMS
	}
	return t + intervalMS - off
}

// slotAfterSQL is slotAfter as an SQL expression (t at or after the epoch).
func slotAfterSQL(t, id, interval string) string {
	return `(` + t + ` + ` + interval + ` - ((` + t + ` - ` + phaseSQL(id, interval) + `) % ` + interval + `))`
}

// SyncSite brings a site's schedule row in line with its settings: a new
// row is first due within one interval; a changed interval takes effect
// at once; pausing stops the checks.
func (s *Service) SyncSite(ctx context.Context, st *site.Site) error {
	return s.syncSites(ctx, []*site.Site{st}, nil)
}

// Sync reconciles every site's schedule with the site list and forgets
// sites that no longer exist. The check-all cron job runs it each tick.
//
// It reads the ids of the schedule rows before the site list, and deletes
// only rows in that earlier set whose site is missing from the list: a
// row's site existed when the row was made and ids are never reused, so
// such a site was deleted. A site added (and scheduled) while the sweep
// runs is not in the earlier set and keeps its row and its sequence.
func (s *Service) Sync(ctx context.Context) error {
	var known map[int64]bool
	err := s.syncDB.Do(ctx, func(ctx context.Context) (err error) {
		known, err = s.scheduledIDs(ctx)
		return err
	})
	if err != nil {
		return dbError("sync schedule", err)
	}
	list, err := s.sites.List(ctx, &site.ListParams{})
	if err != nil {
		return err
	}
	if h := s.hooks.AfterSiteList; h != nil {
		h()
	}
	ids := make(map[int64]bool, len(list.Sites))
	for _, st := range list.Sites {
		ids[st.ID] = true
	}
	s.siteCache.keep(ids)
	if f := s.opts.OnSiteCount; f != nil {
		f(len(list.Sites))
	}
	return s.syncSites(ctx, list.Sites, known)
}

// scheduledIDs returns the site ids that have a schedule row now.
func (s *Service) scheduledIDs(ctx context.Context) (map[int64]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT site_id FROM site_state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

type schedRow struct {
	kind            string
	interval, lease int64
	paused          bool
}

// readSchedules reads the schedule settings of sites (one site, a site
// added or changed, reads only its own row: the whole table would make
// adding n sites cost O(n²)). The rows read only skip unchanged sites:
// every write is computed from the row as it is then (schedule.go).
func readSchedules(ctx context.Context, tx *sql.Tx, sites []*site.Site, single bool) (map[int64]schedRow, error) {
	q, args := `SELECT site_id, kind, interval_ms, lease_ms, paused FROM site_state`, []any(nil)
	if single && len(sites) == 1 {
		q, args = q+` WHERE site_id = $1`, []any{sites[0].ID}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[int64]schedRow{}
	for rows.Next() {
		var id int64
		var r schedRow
		if err := rows.Scan(&id, &r.kind, &r.interval, &r.lease, &r.paused); err != nil {
			return nil, err
		}
		have[id] = r
	}
	return have, rows.Err()
}

// syncSites applies sites' settings to their schedule rows; with known
// (a sweep), rows in known whose site is not in sites are deleted.
func (s *Service) syncSites(ctx context.Context, sites []*site.Site, known map[int64]bool) error {
	now := s.opts.Now().UnixMilli()
	changed := false
	bounded, cancel := s.syncDB.Context(ctx)
	defer cancel()
	err := s.db.InTx(bounded, func(tx *sql.Tx) error {
		ctx := bounded
		changed = false
		var attn attentionSet
		have, err := readSchedules(ctx, tx, sites, known == nil)
		if err != nil {
			return err
		}
		seen := make(map[int64]bool, len(sites))
		for _, st := range sites {
			seen[st.ID] = true
			iv, lease := scheduleOf(st)
			push := st.Kind == site.KindPush
			cur, ok := have[st.ID]
			if ok && cur.kind == st.Kind && cur.interval == iv && cur.lease == lease && cur.paused == st.Paused {
				continue
			}
			// A push monitor's deadline counts from its creation (and
			// from an unpause) until its first push.
			var pushFrom int64
			if push {
				pushFrom = now
			}
			var did bool
			if !ok {
				// First due at the site's phase (a push monitor's
				// deadline counts from now).
				next := slotAfter(now, st.ID, iv)
				if push {
					next = now + iv
				}
				if did, err = insertSchedule(ctx, tx, st.ID, st.Kind, iv, lease, st.Paused, next, pushFrom); err != nil {
					return err
				}
				if did {
					attn.created(st.ID)
				}
			}
			if !did {
				if did, err = applySettings(ctx, tx, st.ID, st.Kind, iv, lease, st.Paused, push, now); did {
					attn.touch(st.ID)
				}
			}
			if err != nil {
				return err
			}
			changed = changed || did
		}
		for id := range known {
			if !seen[id] {
				if err := attn.deleteState(ctx, tx, id); err != nil {
					return err
				}
			}
		}
		return attn.apply(ctx, tx, s.stmts.numbered)
	})
	s.syncDB.Observe(ctx, bounded, err)
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
