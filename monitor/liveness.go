package monitor

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
)

// Liveness shared by the replicas (docs/locations.md#liveness).
//
// Every replica hears every heartbeat and keeps them in memory (the
// quorum and the assignments read that). Every heartbeat interval, each
// replica's liveness pass writes the heartbeats it heard to the monitor
// database (location_agents, each agent's latest), and decides from the
// database's rows which locations changed: a location whose `available`
// flag (table locations) disagrees with its agents' heartbeats is flipped
// by a compare-and-set UPDATE, and only the replica whose UPDATE changed
// the row writes the location-lost or location-back event, to the outbox
// in the same transaction. So each change is published once whatever the
// number of replicas, and GET /locations, read from those rows, is the
// same on every replica.

// locationRow is one row of the locations table.
type locationRow struct {
	Name          string
	Available     bool
	LastHeartbeat int64 // unix ms
}

// livenessChange is a location whose availability must change.
type livenessChange struct {
	Name      string
	Available bool
}

// decideLiveness returns the locations whose flag disagrees with their
// agents' heartbeats at now, in name order: available but no agent heard
// within LostAfter heartbeats (lost; only when mayLose), or unavailable
// with one heard (back). The own location is never lost.
func decideLiveness(locs []locationRow, agents []heartbeatRow, own string, now time.Time, every time.Duration, mayLose bool) []livenessChange {
	live := map[string]bool{}
	for _, a := range agents {
		if agentLive(time.UnixMilli(a.At), now, every) {
			live[a.Location] = true
		}
	}
	var out []livenessChange
	for _, l := range locs {
		switch {
		case l.Name == own:
		case l.Available && !live[l.Name] && mayLose:
			out = append(out, livenessChange{l.Name, false})
		case !l.Available && live[l.Name]:
			out = append(out, livenessChange{l.Name, true})
		}
	}
	slices.SortFunc(out, func(a, b livenessChange) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readLiveness reads every location and agent row, by name.
func readLiveness(ctx context.Context, q querier) ([]locationRow, []heartbeatRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, available, last_heartbeat FROM locations ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	var locs []locationRow
	for rows.Next() {
		var l locationRow
		if err := rows.Scan(&l.Name, &l.Available, &l.LastHeartbeat); err != nil {
			rows.Close()
			return nil, nil, err
		}
		locs = append(locs, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT location, agent, last_heartbeat FROM location_agents ORDER BY location, agent`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var agents []heartbeatRow
	for rows.Next() {
		var a heartbeatRow
		if err := rows.Scan(&a.Location, &a.Agent, &a.At); err != nil {
			return nil, nil, err
		}
		agents = append(agents, a)
	}
	return locs, agents, rows.Err()
}

// mayLose says whether this replica may decide that a location is lost
// at now: not during its first LostAfter heartbeats (it has not had the
// time to hear every live agent, and the database's heartbeats may be
// from before a restart), nor while its broker connection is down (it
// hears no heartbeat then).
func (s *Service) mayLose(now time.Time) bool {
	if now.Sub(s.createdAt) < time.Duration(LostAfter)*s.locs.every {
		return false
	}
	return s.opts.BrokerUp == nil || s.opts.BrokerUp()
}

// syncLiveness is one liveness pass at now. A pass with nothing to write
// (no new heartbeat, no change, no agent to forget) only reads.
func (s *Service) syncLiveness(ctx context.Context, now time.Time) error {
	beats := s.locs.pending()
	mayLose := s.mayLose(now)
	forget := now.Add(-agentForget).UnixMilli()
	if len(beats) == 0 {
		locs, agents, err := readLiveness(ctx, s.db)
		if err != nil {
			return err
		}
		stale := slices.ContainsFunc(agents, func(a heartbeatRow) bool { return a.At < forget })
		if !stale && len(decideLiveness(locs, agents, s.locs.own, now, s.locs.every, mayLose)) == 0 {
			s.locs.merge(locationNames(locs), agents, now)
			s.metrics.passes.Inc()
			return nil
		}
	}
	var (
		locs    []locationRow
		agents  []heartbeatRow
		changed []livenessChange
	)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		changed = nil
		if locs, agents, err = s.writeHeartbeats(ctx, tx, beats); err != nil {
			return err
		}
		for _, c := range decideLiveness(locs, agents, s.locs.own, now, s.locs.every, mayLose) {
			ok, err := s.flipLocation(ctx, tx, c, now)
			if err != nil {
				return err
			}
			if ok {
				changed = append(changed, c)
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM location_agents WHERE last_heartbeat < $1`, forget)
		return err
	})
	if err != nil {
		return err
	}
	kept := slices.DeleteFunc(agents, func(a heartbeatRow) bool { return a.At < forget })
	s.locs.merge(locationNames(locs), kept, now)
	s.metrics.passes.Inc()
	for _, c := range changed {
		if c.Available {
			s.metrics.locChanges.WithLabelValues("back").Inc()
			s.log.Info("location back: an agent is heard again", "location", c.Name)
		} else {
			s.metrics.locChanges.WithLabelValues("lost").Inc()
			s.log.Warn("location unavailable: its agents missed their heartbeats", "location", c.Name)
		}
	}
	if len(changed) > 0 {
		s.opts.OnEvent()
	}
	return nil
}

// writeHeartbeats locks every location row (in name order: concurrent
// passes of other replicas wait, and never deadlock), writes the
// heartbeats heard here (a location heard for the first time is added,
// available) and reads the rows back.
func (s *Service) writeHeartbeats(ctx context.Context, tx *sql.Tx, beats []heartbeatRow) ([]locationRow, []heartbeatRow, error) {
	lock, err := tx.QueryContext(ctx, `SELECT name FROM locations ORDER BY name`+s.db.Dialect.ForUpdate())
	if err != nil {
		return nil, nil, err
	}
	lock.Close()
	for _, b := range beats {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO locations (name, available, changed_at, last_heartbeat) VALUES ($1, $2, $3, $3)
			 ON CONFLICT (name) DO UPDATE SET last_heartbeat = excluded.last_heartbeat
			 WHERE locations.last_heartbeat < excluded.last_heartbeat`, b.Location, true, b.At); err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO location_agents (location, agent, last_heartbeat) VALUES ($1, $2, $3)
			 ON CONFLICT (location, agent) DO UPDATE SET last_heartbeat = excluded.last_heartbeat
			 WHERE location_agents.last_heartbeat < excluded.last_heartbeat`, b.Location, b.Agent, b.At); err != nil {
			return nil, nil, err
		}
	}
	return readLiveness(ctx, tx)
}

// flipLocation sets a location's flag by compare-and-set and, when this
// transaction is the one that changed it, writes its event to the
// outbox. ok is false when another replica flipped it first.
func (s *Service) flipLocation(ctx context.Context, tx *sql.Tx, c livenessChange, now time.Time) (ok bool, err error) {
	res, err := tx.ExecContext(ctx, `UPDATE locations SET available = $1, changed_at = $2 WHERE name = $3 AND available = $4`,
		c.Available, now.UnixMilli(), c.Name, !c.Available)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	return true, s.insertLocationEvent(ctx, tx, c, now)
}

func locationNames(locs []locationRow) []string {
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i] = l.Name
	}
	return out
}
