package monitor

import (
	"context"
	"database/sql"
	"time"

	"upmon/platform/outbox"
)

// watchLocations looks every heartbeat interval for locations that went
// unavailable or came back, and publishes a LocationEvent for each
// through the outbox. It ends when the service stops.
func (s *Service) watchLocations() {
	t := time.NewTicker(s.locs.every)
	defer t.Stop()
	for {
		select {
		case <-s.stopping.Done():
			return
		case <-t.C:
			s.publishLocationChanges(s.stopping, s.opts.Now())
		}
	}
}

// publishLocationChanges writes one event per location whose liveness
// changed since the last look.
func (s *Service) publishLocationChanges(ctx context.Context, now time.Time) {
	lost, back := s.locs.changes(now)
	if len(lost)+len(back) == 0 {
		return
	}
	now = now.UTC()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, c := range []struct {
			names     []string
			available bool
		}{{lost, false}, {back, true}} {
			for _, loc := range c.names {
				ev := &LocationEvent{Location: loc, Available: c.available, At: now, Type: EventLocationLost}
				if c.available {
					ev.Type = EventLocationBack
				}
				if _, err := outbox.InsertEvent(ctx, tx, TopicLocationChange, now, func(id string) any {
					ev.ID = id
					return ev
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		s.log.Warn("cannot publish location changes", "lost", lost, "back", back, "err", err)
		return
	}
	for _, loc := range lost {
		s.log.Warn("location unavailable: its agents missed their heartbeats", "location", loc)
	}
	s.opts.OnEvent()
}
