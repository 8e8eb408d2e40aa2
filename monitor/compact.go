package monitor

import (
	"context"
	"database/sql"
	"time"

	"upmon/platform/sqldb"
)

// Compaction moves history out of the tables the write path fills (one
// checks row per check, one rollups row per bucket) into compact ones
// (check_blocks, rollup_packs), once it is old enough that no more
// writes are expected: checks and minute rollups of hours that ended an
// hour ago, hour rollups of days that ended three days ago, day rollups
// of 32-day spans that ended three days ago. The write path is not
// changed by it and costs what it did.
//
// Readers read both tables and add them up (a bucket may have a packed
// part and a row written later, by an agent's delayed result), in one
// snapshot (readSnapshot), so an answer never sees a row both moved and
// not moved. Moving is exact: every field of every check and bucket is
// kept. The dashboard's 24-hour uptime reads rollups rows of the last two
// days only, which compaction never moves.
//
// A compaction transaction covers a few sites and first locks their
// site_state rows, as the batching writer does before it writes a
// site's rollups (rollup.go): no writer merges into a rollups row while
// it is being moved, and two compactions (replicas, overlapping cron
// runs) never merge into the same block at once. On SQLite, where a
// transaction holds the only write lock, each is short (compactLimit
// rows of each kind) and followed by a pause as long as it took, so the
// batching writer's transactions go on in between.

// compactSites is how many sites one compaction transaction covers, and
// compactLimit the most rows of each kind it moves (more are moved by the
// next transaction over the same sites): an hour of checks of 64 sites at
// a 60 s interval is 3,840 rows.
const (
	compactSites = 64
	compactLimit = 4096
)

// horizons are the times before which compaction moves rows: raw checks
// with checked_at < raw, rollups of a resolution with bucket <
// rollup[res]. Each is the start of a block or pack.
type horizons struct {
	raw    int64
	rollup map[string]int64
}

// horizonsAt returns the horizons at now: checks and minute buckets of
// hours ended at least an hour ago (the writer's batch and agents'
// delayed results are seconds late), hour buckets of days ended three
// days ago and day buckets of 32-day spans ended three days ago (the
// overview's 24-hour uptime reads the last two days of hour and day
// rows: uptime24h).
func horizonsAt(now time.Time) horizons {
	ms := now.UnixMilli()
	hour := blockHour(ms) - hourMS
	day := ms - floorMod(ms, 24*hourMS) - 3*24*hourMS
	return horizons{raw: hour, rollup: map[string]int64{
		resMinute: hour,
		resHour:   day,
		resDay:    packStart(resDay, day),
	}}
}

// Compact moves the history older than the horizons into blocks and
// packs. Prune runs it after deleting what is past the retention.
func (s *Service) Compact(ctx context.Context) error {
	h := horizonsAt(s.opts.Now())
	ids, err := s.stateIDs(ctx)
	if err != nil {
		return dbError("compact history", err)
	}
	for lo := 0; lo < len(ids); lo += compactSites {
		chunk := ids[lo:min(lo+compactSites, len(ids))]
		for more := true; more; {
			start := time.Now()
			err := s.db.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				more, err = s.compactSites(ctx, tx, chunk, h)
				return err
			})
			if err != nil {
				return dbError("compact history", err)
			}
			if err := s.yieldWriter(ctx, time.Since(start)); err != nil {
				return err
			}
		}
	}
	return nil
}

// yieldWriter waits as long as the last compaction transaction took, on
// SQLite, so the batching writer gets at least half of the write lock's
// time while a compaction runs.
func (s *Service) yieldWriter(ctx context.Context, took time.Duration) error {
	if s.db.Dialect != sqldb.SQLite {
		return nil
	}
	t := time.NewTimer(took)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stateIDs returns the id of every site with a state row, in order.
func (s *Service) stateIDs(ctx context.Context) ([]int64, error) {
	return scanIDs(s.db.QueryContext(ctx, `SELECT site_id FROM site_state ORDER BY site_id`))
}

// compactSites moves up to compactLimit rows of each kind of the sites
// ids (sorted) within tx; more is true when a kind had that many (the
// caller runs it again).
func (s *Service) compactSites(ctx context.Context, tx *sql.Tx, ids []int64, h horizons) (more bool, err error) {
	q := s.newSQL().sql(`SELECT site_id FROM site_state WHERE site_id IN (`).list(ids).sql(`) ORDER BY site_id` + s.db.Dialect.ForUpdate())
	locked, err := scanIDs(tx.QueryContext(ctx, q.String(), q.args...))
	if err != nil || len(locked) == 0 {
		return false, err
	}
	n, err := s.compactChecks(ctx, tx, locked, h.raw)
	if err != nil {
		return false, err
	}
	more = n == compactLimit
	for _, r := range resolutions {
		n, err := s.compactRollups(ctx, tx, locked, r.res, h.rollup[r.res])
		if err != nil {
			return false, err
		}
		more = more || n == compactLimit
	}
	return more, nil
}

func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
