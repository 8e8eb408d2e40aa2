package channels

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"upmon/notify"
	"upmon/platform/tracing"
)

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// remindLoop queues reminders every RemindTick.
func (s *Service) remindLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.RemindTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Remind(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("channels: reminders failed", "err", err)
			}
			if err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("channels: pruning failed", "err", err)
			}
		}
	}
}

// RoutedRetention is how long an event id is remembered as routed: longer
// than the broker keeps (and may redeliver) an event.
const RoutedRetention = 8 * 24 * time.Hour

// MaxDeadLetters bounds each channel's dead letters; the oldest go first.
const MaxDeadLetters = 10000

// Prune forgets routed event ids past RoutedRetention and each channel's
// dead letters beyond MaxDeadLetters.
func (s *Service) Prune(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM routed_events WHERE routed_at < $1`,
		s.now().Add(-RoutedRetention).UnixMilli()); err != nil {
		return dbError("prune", err)
	}
	chans, err := s.loadAll(ctx)
	if err != nil {
		return dbError("prune", err)
	}
	for _, c := range chans {
		var edge int64
		err := s.db.QueryRowContext(ctx, `SELECT id FROM deliveries WHERE channel_id = $1 AND status = $2
			ORDER BY id DESC LIMIT 1 OFFSET $3`, c.ID, statusDead, MaxDeadLetters).Scan(&edge)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return dbError("prune", err)
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM deliveries WHERE channel_id = $1 AND status = $2 AND id <= $3`,
			c.ID, statusDead, edge); err != nil {
			return dbError("prune", err)
		}
	}
	return nil
}

// Remind queues a "still down after …" message for every open,
// unacknowledged down alert whose channel has remind_every and whose last
// message is at least that old. The delivery's event id names the
// reminder's number, so replicas running this at once queue it once.
// It returns how many were queued.
func (s *Service) Remind(ctx context.Context) (int, error) {
	now := s.now()
	type due struct {
		site, channel, opened int64
		every                 time.Duration
		msg                   string
	}
	var list []due
	rows, err := s.db.QueryContext(ctx, `SELECT a.site_id, a.channel_id, a.opened_at, c.remind_every, a.message
		FROM alerts a JOIN channels c ON c.id = a.channel_id
		WHERE a.family = 'down' AND a.acked_at IS NULL AND c.remind_every > 0 AND c.enabled = 1
		AND a.reminded_at + c.remind_every / 1000000 <= $1`, now.UnixMilli())
	if err != nil {
		return 0, dbError("reminders", err)
	}
	for rows.Next() {
		var d due
		var every int64
		if err := rows.Scan(&d.site, &d.channel, &d.opened, &every, &d.msg); err != nil {
			rows.Close()
			return 0, dbError("reminders", err)
		}
		d.every = time.Duration(every)
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, dbError("reminders", err)
	}
	var woken []int64
	for _, d := range list {
		var m notify.Message
		if err := json.Unmarshal([]byte(d.msg), &m); err != nil {
			continue
		}
		down := now.Sub(time.UnixMilli(d.opened))
		n := int64(down / d.every)
		m.Reason = fmt.Sprintf("Still down after %s. %s", notify.FormatDuration(down), m.Reason)
		m.Duration, m.Time = down, now
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			id := fmt.Sprintf("remind-%d-%s-%d", d.site, m.IncidentID, n)
			if err := enqueue(ctx, tx, d.channel, id, m, now.UnixMilli(), ""); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE alerts SET reminded_at = $1 WHERE site_id = $2 AND family = 'down' AND channel_id = $3`,
				now.UnixMilli(), d.site, d.channel)
			return err
		})
		if err != nil {
			return len(woken), dbError("reminders", err)
		}
		woken = append(woken, d.channel)
	}
	s.wake(woken...)
	return len(woken), nil
}

// AckParams name an incident of a site.
type AckParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
	// Incident is the incident's id: its start in Unix milliseconds (as
	// in the messages' incident_id), or "open" for the site's open one.
	Incident string `path:"incident"`
}

// AckResponse says the incident is acknowledged.
type AckResponse struct {
	// AckedAt is when.
	AckedAt time.Time `json:"acked_at"`
}

// Ack acknowledges a site's open down incident: reminders stop, and the
// channels that track incidents (PagerDuty) are sent an acknowledge.
func (s *Service) Ack(ctx context.Context, p *AckParams) (*AckResponse, error) {
	now := s.now()
	var targets []int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT a.channel_id, c.kind, a.message FROM alerts a JOIN channels c ON c.id = a.channel_id
			WHERE a.site_id = $1 AND a.family = 'down' AND a.acked_at IS NULL AND (a.incident = $2 OR $2 = 'open')`, p.SiteID, p.Incident)
		if err != nil {
			return err
		}
		type hit struct {
			id        int64
			kind, msg string
		}
		var hits []hit
		for rows.Next() {
			var h hit
			if err := rows.Scan(&h.id, &h.kind, &h.msg); err != nil {
				rows.Close()
				return err
			}
			hits = append(hits, h)
		}
		rows.Close()
		if len(hits) == 0 {
			return errNoAlert
		}
		for _, h := range hits {
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET acked_at = $1 WHERE site_id = $2 AND family = 'down' AND channel_id = $3`,
				now.UnixMilli(), p.SiteID, h.id); err != nil {
				return err
			}
			if h.kind != "pagerduty" {
				continue
			}
			var m notify.Message
			if err := json.Unmarshal([]byte(h.msg), &m); err != nil {
				return err
			}
			m.Event, m.Time = notify.EventAcknowledged, now
			if err := enqueue(ctx, tx, h.id, fmt.Sprintf("ack-%d-%s", p.SiteID, m.IncidentID), m, now.UnixMilli(), tracing.Traceparent(ctx)); err != nil {
				return err
			}
			targets = append(targets, h.id)
		}
		return nil
	})
	if err == errNoAlert {
		return nil, err
	}
	if err != nil {
		return nil, dbError("ack", err)
	}
	s.wake(targets...)
	return &AckResponse{AckedAt: now}, nil
}

// Alert is a channel told of a site's open problem.
type Alert struct {
	// ChannelID is the channel.
	ChannelID int64 `json:"channel_id"`
	// Family is "down" or "degraded".
	Family string `json:"family"`
	// Incident is the incident id (its start in Unix milliseconds).
	Incident string `json:"incident"`
	// OpenedAt is when the problem began.
	OpenedAt time.Time `json:"opened_at"`
	// AckedAt is when it was acknowledged, or null.
	AckedAt *time.Time `json:"acked_at"`
}

// SiteAlertsParams name a site.
type SiteAlertsParams struct {
	// SiteID is the site id from the path.
	SiteID int64 `path:"siteID"`
}

// SiteAlertsResponse lists a site's open alerts.
type SiteAlertsResponse struct {
	// Alerts; never nil.
	Alerts []Alert `json:"alerts"`
}

// SiteAlerts lists the channels told of a site's open problems, with the
// acknowledgement (for the dashboard's incident view).
func (s *Service) SiteAlerts(ctx context.Context, p *SiteAlertsParams) (*SiteAlertsResponse, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT channel_id, family, incident, opened_at, acked_at FROM alerts
		WHERE site_id = $1 ORDER BY family, channel_id`, p.SiteID)
	if err != nil {
		return nil, dbError("alerts", err)
	}
	defer rows.Close()
	out := &SiteAlertsResponse{Alerts: []Alert{}}
	for rows.Next() {
		var a Alert
		var opened int64
		var acked sql.NullInt64
		if err := rows.Scan(&a.ChannelID, &a.Family, &a.Incident, &opened, &acked); err != nil {
			return nil, dbError("alerts", err)
		}
		a.OpenedAt, a.AckedAt = time.UnixMilli(opened).UTC(), msTime(acked)
		out.Alerts = append(out.Alerts, a)
	}
	return out, dbError("alerts", rows.Err())
}

// OpenIncident returns a site's open down incident as the channels know
// it (for the dashboard): its id and when it was acknowledged; ok is
// false when no channel was told of one.
func (s *Service) OpenIncident(ctx context.Context, siteID int64) (string, *time.Time, bool, error) {
	var inc string
	var acked sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT incident, MAX(acked_at) FROM alerts WHERE site_id = $1 AND family = 'down'
		GROUP BY incident ORDER BY incident DESC LIMIT 1`, siteID).Scan(&inc, &acked)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, dbError("alerts", err)
	}
	return inc, msTime(acked), true, nil
}

// AckIncident acknowledges a site's open incident (for the dashboard).
func (s *Service) AckIncident(ctx context.Context, siteID int64, incident string) error {
	_, err := s.Ack(ctx, &AckParams{SiteID: siteID, Incident: incident})
	return err
}
