package monitor

import (
	"context"
	"time"
)

// Prune deletes raw checks older than RawRetention, and rollups no
// window reads any more (resolutionFor): minute rows after two days (a
// window of up to a day, with a step of up to a day, starts at most two
// days back), hour rows after 180 days (windows of up to 90 days, likewise)
// or RollupRetention if shorter, day rows and closed incidents after
// RollupRetention; compacted history (blocks, packs) the same. Then it
// compacts the history that is old enough (Compact). The prune cron job
// runs it.
func (s *Service) Prune(ctx context.Context) error {
	if err := s.prune(ctx, s.opts.Now()); err != nil {
		return err
	}
	return s.Compact(ctx)
}

// prune deletes what is past its retention at now, rows and compacted
// history alike.
func (s *Service) prune(ctx context.Context, now time.Time) error {
	raw := now.Add(-s.opts.RawRetention).UnixMilli()
	cutoffs := map[string]int64{
		resMinute: now.Add(-2*24*time.Hour - time.Minute).UnixMilli(),
		resHour:   now.Add(-min(s.opts.RollupRetention, 180*24*time.Hour+time.Hour)).UnixMilli(),
		resDay:    now.Add(-s.opts.RollupRetention).UnixMilli(),
	}
	steps := []struct {
		q   string
		arg int64
	}{
		{`DELETE FROM checks WHERE checked_at < $1`, raw},
		{`DELETE FROM rollups WHERE res = 'm' AND bucket < $1`, cutoffs[resMinute]},
		{`DELETE FROM rollups WHERE res = 'h' AND bucket < $1`, cutoffs[resHour]},
		{`DELETE FROM rollups WHERE res = 'd' AND bucket < $1`, cutoffs[resDay]},
		{`DELETE FROM incidents WHERE ended_at IS NOT NULL AND ended_at < $1`, cutoffs[resDay]},
	}
	for _, st := range steps {
		if _, err := s.db.ExecContext(ctx, st.q, st.arg); err != nil {
			return dbError("prune", err)
		}
	}
	if err := s.pruneBlocks(ctx, raw); err != nil {
		return dbError("prune", err)
	}
	for _, r := range resolutions {
		if err := s.prunePacks(ctx, r.res, cutoffs[r.res]); err != nil {
			return dbError("prune", err)
		}
	}
	return nil
}

// PruneJob is Prune in the shape of a cron endpoint.
func (s *Service) PruneJob(ctx context.Context) error {
	start := time.Now()
	err := s.Prune(ctx)
	s.log.Debug("pruned history", "took", time.Since(start), "err", err)
	return err
}
