package monitor

import (
	"context"
	"database/sql"
	"time"

	"upmon/platform/outbox"
)

// watchLocations runs the liveness pass (liveness.go) every heartbeat
// interval, and at once when a new agent or location is heard. It ends
// when the service stops.
func (s *Service) watchLocations() {
	t := time.NewTicker(s.locs.every)
	defer t.Stop()
	for {
		select {
		case <-s.stopping.Done():
			return
		case <-t.C:
		case <-s.locs.wake:
		}
		s.publishLocationChanges(s.stopping, s.opts.Now())
	}
}

// publishLocationChanges runs one liveness pass at now: it writes the
// heartbeats heard here and publishes, through the outbox, one event per
// location whose liveness changed, once across every replica.
func (s *Service) publishLocationChanges(ctx context.Context, now time.Time) {
	if err := s.syncLiveness(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Warn("cannot record the locations' heartbeats", "err", err)
	}
}

// insertLocationEvent writes a location-lost or location-back event to
// the outbox in tx.
func (s *Service) insertLocationEvent(ctx context.Context, tx *sql.Tx, c livenessChange, now time.Time) error {
	ev := &LocationEvent{Location: c.Name, Available: c.Available, At: now.UTC(), Type: EventLocationLost}
	if c.Available {
		ev.Type = EventLocationBack
	}
	_, err := outbox.InsertEvent(ctx, tx, TopicLocationChange, now.UTC(), func(id string) any {
		ev.ID = id
		return ev
	})
	return err
}
