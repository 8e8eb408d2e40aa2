package channels

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"upmon/monitor"
	"upmon/notify"
	"upmon/platform/api"
	"upmon/platform/pubsub"
	"upmon/site"
)

// Topics are the monitor's topics the router subscribes to.
type Topics struct {
	// Transitions carries down and up.
	Transitions *pubsub.Topic[*monitor.TransitionEvent]
	// Degraded carries degraded and recovered (optional).
	Degraded *pubsub.Topic[*monitor.DegradedEvent]
	// Certs carries certificate warnings (optional).
	Certs *pubsub.Topic[*monitor.CertExpiringEvent]
}

// Event is a monitor event reduced to what routing needs.
type Event struct {
	// ID is the event's unique id (routing happens once per id).
	ID string
	// Site is the site it is about.
	Site *site.Ref
	// Kind is what happened.
	Kind notify.Event
	// At is when.
	At time.Time
	// Reason says why.
	Reason string
	// Maintenance events are not routed.
	Maintenance bool
	// CertExpires is the certificate's expiry (cert-expiring).
	CertExpires time.Time
}

// Subscribe declares the router's subscriptions (channels-transition,
// channels-degraded, channels-cert). Routing only writes rows; the
// sending is each channel's own queue, so a slow channel never holds up
// the router or another channel.
func (s *Service) Subscribe(t Topics) error {
	key := func(r *site.Ref) string {
		if r == nil {
			return ""
		}
		return strconv.FormatInt(r.ID, 10)
	}
	if _, err := pubsub.NewSubscription(t.Transitions, "channels-transition", pubsub.SubscriptionConfig[*monitor.TransitionEvent]{
		Service: ServiceName,
		Handler: func(ctx context.Context, ev *monitor.TransitionEvent) error {
			k := notify.EventDown
			if ev.Up {
				k = notify.EventUp
			}
			return s.Route(ctx, Event{ID: ev.ID, Site: ev.Site, Kind: k, At: ev.CheckedAt, Reason: ev.Reason, Maintenance: ev.Maintenance})
		},
		OrderingKey: func(ev *monitor.TransitionEvent) string { return key(ev.Site) },
	}); err != nil {
		return err
	}
	if t.Degraded != nil {
		if _, err := pubsub.NewSubscription(t.Degraded, "channels-degraded", pubsub.SubscriptionConfig[*monitor.DegradedEvent]{
			Service: ServiceName,
			Handler: func(ctx context.Context, ev *monitor.DegradedEvent) error {
				k := notify.EventRecovered
				if ev.Degraded {
					k = notify.EventDegraded
				}
				return s.Route(ctx, Event{ID: ev.ID, Site: ev.Site, Kind: k, At: ev.CheckedAt, Reason: ev.Reason, Maintenance: ev.Maintenance})
			},
			OrderingKey: func(ev *monitor.DegradedEvent) string { return key(ev.Site) },
		}); err != nil {
			return err
		}
	}
	if t.Certs != nil {
		if _, err := pubsub.NewSubscription(t.Certs, "channels-cert", pubsub.SubscriptionConfig[*monitor.CertExpiringEvent]{
			Service: ServiceName,
			Handler: func(ctx context.Context, ev *monitor.CertExpiringEvent) error {
				return s.Route(ctx, Event{ID: ev.ID, Site: ev.Site, Kind: notify.EventCertExpiring, At: ev.CheckedAt,
					Reason: fmt.Sprintf("%d days left", ev.DaysLeft), CertExpires: ev.ExpiresAt})
			},
			OrderingKey: func(ev *monitor.CertExpiringEvent) string { return key(ev.Site) },
		}); err != nil {
			return err
		}
	}
	return nil
}

// family groups a problem with its end: down/up, degraded/recovered.
func family(e notify.Event) string {
	switch e {
	case notify.EventDown, notify.EventUp:
		return "down"
	case notify.EventDegraded, notify.EventRecovered:
		return "degraded"
	}
	return ""
}

// Route resolves an event's channels and queues one delivery per channel,
// in one transaction that also records the event as routed (a redelivered
// event is routed once) and, for a problem, which channels were told, so
// its end goes to the same ones whatever the routing says by then.
func (s *Service) Route(ctx context.Context, ev Event) error {
	if ev.Site == nil {
		return pubsub.Permanent(errors.New("channels: event without a site"))
	}
	if ev.Maintenance {
		s.m.routed.WithLabelValues("maintenance").Inc()
		return nil
	}
	st, err := s.opts.Sites.Get(ctx, &site.GetParams{ID: ev.Site.ID})
	if api.IsCode(err, api.NotFound) {
		s.m.routed.WithLabelValues("site_deleted").Inc()
		return nil
	}
	if err != nil {
		return err
	}
	msg := s.message(ev, st)
	var targets []int64
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		targets, err = s.routeTx(ctx, tx, ev, st, &msg)
		return err
	})
	if err != nil {
		return dbError("route", err)
	}
	s.m.routed.WithLabelValues("routed").Inc()
	s.wake(targets...)
	return nil
}

func (s *Service) message(ev Event, st *site.Site) notify.Message {
	m := notify.Message{Event: ev.Kind, SiteID: st.ID, SiteName: st.Name, URL: notify.StripCredentials(site.RedactURL(st.URL)),
		Reason: ev.Reason, Time: ev.At.UTC(), CertExpiresAt: ev.CertExpires}
	switch ev.Kind {
	case notify.EventDown:
		m.State = "down"
	case notify.EventDegraded:
		m.State = "degraded"
	default:
		m.State = "up"
	}
	if family(ev.Kind) != "" && ev.Kind.Problem() {
		m.IncidentID = strconv.FormatInt(ev.At.UnixMilli(), 10)
	}
	m.IncidentLink = s.incidentLink(st.ID)
	return m
}

func (s *Service) incidentLink(siteID int64) string {
	if s.opts.PublicURL == "" {
		return ""
	}
	return fmt.Sprintf("%s/frontend/sites/%d", s.opts.PublicURL, siteID)
}

func (s *Service) routeTx(ctx context.Context, tx *sql.Tx, ev Event, st *site.Site, msg *notify.Message) ([]int64, error) {
	now := s.now().UnixMilli()
	res, err := tx.ExecContext(ctx, `INSERT INTO routed_events (event_id, routed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, ev.ID, now)
	if err != nil {
		return nil, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil // routed before
	}
	chans, err := s.loadRecords(ctx, tx, "")
	if err != nil {
		return nil, err
	}
	fam := family(ev.Kind)
	var targets []int64
	switch {
	case fam != "" && ev.Kind.Problem():
		targets = resolve(chans, st, ev.Kind)
		if err := openAlerts(ctx, tx, st.ID, fam, targets, *msg, now); err != nil {
			return nil, err
		}
	case fam != "":
		alerted, opened, err := closeAlerts(ctx, tx, st.ID, fam)
		if err != nil {
			return nil, err
		}
		if opened != nil {
			msg.IncidentID = opened.incident
			msg.Duration = ev.At.Sub(opened.at)
			targets = endTargets(chans, alerted, ev.Kind)
		} else {
			targets = resolve(chans, st, ev.Kind)
		}
	default:
		targets = resolve(chans, st, ev.Kind)
	}
	for _, id := range targets {
		if err := enqueue(ctx, tx, id, ev.ID, *msg, now); err != nil {
			return nil, err
		}
	}
	return targets, nil
}

// resolve picks the channels of a site for an event: those it names,
// plus those whose tags it has; when none (or only deleted channels are
// named), the default channels. Only enabled channels that want the
// event count.
func resolve(chans []*record, st *site.Site, e notify.Event) []int64 {
	var named, defaults []int64
	names := false // the site names a channel that exists
	for _, c := range chans {
		if slices.Contains(st.Channels, c.ID) {
			names = true
		}
		if !c.Enabled || !slices.Contains(c.Events, string(e)) {
			continue
		}
		tagged := false
		for _, t := range c.Tags {
			if slices.Contains(st.Tags, t) {
				tagged = true
			}
		}
		switch {
		case slices.Contains(st.Channels, c.ID) || tagged:
			named = append(named, c.ID)
		case c.Default:
			defaults = append(defaults, c.ID)
		}
	}
	if len(named) > 0 || names {
		return named
	}
	return defaults
}

// endTargets are the channels told of the problem that still exist and
// want its end (even if disabled or re-routed since: an end is never
// dropped for an alert that went out).
func endTargets(chans []*record, alerted []int64, e notify.Event) []int64 {
	var out []int64
	for _, c := range chans {
		if slices.Contains(alerted, c.ID) && slices.Contains(c.Events, string(e)) {
			out = append(out, c.ID)
		}
	}
	return out
}

type opening struct {
	incident string
	at       time.Time
}

func openAlerts(ctx context.Context, tx *sql.Tx, siteID int64, fam string, ids []int64, m notify.Message, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE site_id = $1 AND family = $2`, siteID, fam); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (site_id, family, channel_id, incident, opened_at, reminded_at, message)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, siteID, fam, id, m.IncidentID, m.Time.UnixMilli(), now, string(b)); err != nil {
			return err
		}
	}
	return nil
}

func closeAlerts(ctx context.Context, tx *sql.Tx, siteID int64, fam string) ([]int64, *opening, error) {
	rows, err := tx.QueryContext(ctx, `SELECT channel_id, incident, opened_at FROM alerts WHERE site_id = $1 AND family = $2`, siteID, fam)
	if err != nil {
		return nil, nil, err
	}
	var ids []int64
	var op *opening
	for rows.Next() {
		var id, at int64
		var inc string
		if err := rows.Scan(&id, &inc, &at); err != nil {
			rows.Close()
			return nil, nil, err
		}
		ids = append(ids, id)
		op = &opening{incident: inc, at: time.UnixMilli(at).UTC()}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM alerts WHERE site_id = $1 AND family = $2`, siteID, fam)
	return ids, op, err
}

// enqueue adds a delivery to a channel's queue (once per event id).
func enqueue(ctx context.Context, tx *sql.Tx, channelID int64, eventID string, m notify.Message, now int64) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (channel_id, event_id, site_id, message, status, next_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING`, channelID, eventID, m.SiteID, string(b), statusPending, now)
	return err
}

// NamesChannels reports whether a site is routed to channels of its own
// (it names channels, or a channel's tags match its tags), so the
// implicit default Slack channel (SlackWebhookURL) does not serve it.
func (s *Service) NamesChannels(ctx context.Context, siteID int64) bool {
	st, err := s.opts.Sites.Get(ctx, &site.GetParams{ID: siteID})
	if err != nil {
		return false
	}
	if len(st.Channels) == 0 && len(st.Tags) == 0 {
		return false
	}
	chans, err := s.loadAll(ctx)
	if err != nil {
		return false
	}
	for _, c := range chans {
		if slices.Contains(st.Channels, c.ID) {
			return true
		}
		for _, t := range c.Tags {
			if c.Enabled && slices.Contains(st.Tags, t) {
				return true
			}
		}
	}
	return false
}
