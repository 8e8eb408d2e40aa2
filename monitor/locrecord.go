package monitor

import (
	"context"
	"database/sql"
	"time"

	"upmon/site"
)

// multiLocation says whether p's site is decided by quorum: it is checked
// from a set other than the serve process's own location alone, or the
// check came from another location. A site on the default set is
// recorded exactly as before locations existed.
func (s *Service) multiLocation(p *pending) bool {
	own := s.locs.own
	return s.locOf(p) != own || len(p.st.Locations) != 1 || p.st.Locations[0] != own
}

// locOf is the location p's check ran from: its agent's, or this
// process's own.
func (s *Service) locOf(p *pending) string {
	if p.location == "" {
		return s.locs.own
	}
	return p.location
}

// recordLocation is recordOne's step for a site checked from several
// locations: it folds the check into its location's own state (the
// site's thresholds applied there first), then decides the site's state
// by quorum over its live locations into next. stale is true when the
// location already holds a newer check (an agent's delayed result): the
// check is history and changes no state. The caller holds the site's
// site_state row lock, which serialises a site's location rows too.
func (s *Service) recordLocation(ctx context.Context, tx *sql.Tx, p *pending, next *siteState) (ch change, v *quorumVerdict, stale bool, err error) {
	st, r, loc := p.st, p.res, s.locOf(p)
	atMS := p.at.UnixMilli()
	states, err := s.loadLocationStates(ctx, tx, st.ID)
	if err != nil {
		return ch, nil, false, err
	}
	cur, ok := states[loc]
	if !ok {
		cur = siteState{Up: true}
		if _, err := s.stmts.exec(ctx, tx,
			`INSERT INTO location_state (site_id, location) VALUES ($1, $2) ON CONFLICT (site_id, location) DO NOTHING`, st.ID, loc); err != nil {
			return ch, nil, false, err
		}
	}
	if atMS < cur.CheckedAt {
		return ch, nil, true, nil
	}
	cur.apply(r, atMS, st.FailureThreshold, st.SuccessThreshold)
	states[loc] = cur
	if _, err := s.stmts.exec(ctx, tx,
		`UPDATE location_state SET up = $1, degraded = $2, last_up = $3, checked_at = $4, seq = $5, dseq = $6,
		 fail_streak = $7, ok_streak = $8, slow_streak = $9, fast_streak = $10, state = $11, latency_ms = $12,
		 status_code = $13, error = $14 WHERE site_id = $15 AND location = $16`,
		cur.Up, cur.Degraded, cur.LastUp, cur.CheckedAt, cur.Seq, cur.DSeq, cur.FailStreak, cur.OKStreak,
		cur.SlowStreak, cur.FastStreak, cur.State(), r.Latency.Milliseconds(), r.StatusCode, r.Err, st.ID, loc); err != nil {
		return ch, nil, false, err
	}
	now := s.opts.Now()
	views := make([]locationView, len(st.Locations))
	for i, name := range st.Locations {
		ls, ok := states[name]
		if !ok {
			ls = siteState{Up: true}
		}
		views[i] = locationView{Name: name, Live: s.locs.live(name, now), State: ls}
	}
	verdict := decideQuorum(views, st.Quorum)
	// The site's row keeps the latest check and, for the reason line, the
	// streaks of the location that reported it.
	next.LastUp = r.Up
	next.CheckedAt = max(next.CheckedAt, atMS)
	next.FailStreak, next.OKStreak, next.SlowStreak, next.FastStreak = cur.FailStreak, cur.OKStreak, cur.SlowStreak, cur.FastStreak
	if !verdict.Decided {
		return ch, nil, false, nil
	}
	if verdict.Up != next.Up {
		next.Up = verdict.Up
		next.Seq++
		ch.upChanged = true
		if !next.Up {
			next.Degraded = false
		}
	}
	if next.Up && verdict.Degraded != next.Degraded {
		next.Degraded = verdict.Degraded
		next.DSeq++
		ch.degradedChanged = true
	}
	return ch, &verdict, false, nil
}

// loadLocationStates reads a site's location rows.
func (s *Service) loadLocationStates(ctx context.Context, tx *sql.Tx, siteID int64) (map[string]siteState, error) {
	rows, err := s.stmts.query(ctx, tx,
		`SELECT location, up, degraded, last_up, checked_at, seq, dseq, fail_streak, ok_streak, slow_streak, fast_streak
		 FROM location_state WHERE site_id = $1`, siteID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]siteState{}
	for rows.Next() {
		var (
			loc string
			ls  siteState
		)
		if err := rows.Scan(&loc, &ls.Up, &ls.Degraded, &ls.LastUp, &ls.CheckedAt, &ls.Seq, &ls.DSeq,
			&ls.FailStreak, &ls.OKStreak, &ls.SlowStreak, &ls.FastStreak); err != nil {
			return nil, err
		}
		out[loc] = ls
	}
	return out, rows.Err()
}

// RecordFrom records a check of st that ran from location loc at at (an
// agent's result; at is the agent's check time), through the same
// transaction as the process's own checks.
func (s *Service) RecordFrom(st *site.Site, loc string, at time.Time, res Result) error {
	p := &pending{st: st, at: at.UTC(), res: res, location: loc}
	return s.enqueue(p)
}

// Heartbeat records that agent, running at loc, was alive at at.
func (s *Service) Heartbeat(loc, agent string, at time.Time) { s.locs.heartbeat(loc, agent, at) }

// LocationKnown says whether a site may name loc: this process's own
// location or one an agent announced (the site service's check).
func (s *Service) LocationKnown(loc string) bool { return s.locs.known(loc) }
