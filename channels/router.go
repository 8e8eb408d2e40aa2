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
	"upmon/platform/tracing"
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
	// Locations carries location-lost and location-back (optional).
	Locations *pubsub.Topic[*monitor.LocationEvent]
	// Deleted carries site deletions: a deleted site's queued messages,
	// alerts and routing sequences are dropped (optional).
	Deleted *pubsub.Topic[*site.DeletedEvent]
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
	// Seq is the site's state sequence in the event's family (0: none).
	// An event older than one already routed is stale and dropped.
	Seq int64
	// Where names the locations that saw a change ("2 of 3 locations:
	// eu, us"), for sites checked from several.
	Where string
	// Location is the location a location-lost or location-back event is
	// about; such an event has no Site.
	Location string
}

// Subscribe declares the router's subscriptions (channels-transition,
// channels-degraded, channels-cert, channels-location,
// channels-site-deleted). Routing only writes rows; the
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
			return s.Route(ctx, Event{ID: ev.ID, Site: ev.Site, Kind: k, At: ev.CheckedAt, Reason: ev.Reason,
				Maintenance: ev.Maintenance, Seq: ev.Seq, Where: ev.Where})
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
				return s.Route(ctx, Event{ID: ev.ID, Site: ev.Site, Kind: k, At: ev.CheckedAt, Reason: ev.Reason,
					Maintenance: ev.Maintenance, Seq: ev.Seq})
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
	if t.Locations != nil {
		if _, err := pubsub.NewSubscription(t.Locations, "channels-location", pubsub.SubscriptionConfig[*monitor.LocationEvent]{
			Service: ServiceName,
			Handler: func(ctx context.Context, ev *monitor.LocationEvent) error {
				k := notify.EventLocationLost
				if ev.Available {
					k = notify.EventLocationBack
				}
				return s.Route(ctx, Event{ID: ev.ID, Kind: k, At: ev.At, Location: ev.Location})
			},
			OrderingKey: func(ev *monitor.LocationEvent) string { return "location:" + ev.Location },
		}); err != nil {
			return err
		}
	}
	if t.Deleted != nil {
		if _, err := pubsub.NewSubscription(t.Deleted, "channels-site-deleted", pubsub.SubscriptionConfig[*site.DeletedEvent]{
			Service: ServiceName,
			Handler: func(ctx context.Context, ev *site.DeletedEvent) error { return s.forgetSite(ctx, ev.SiteID) },
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
	if ev.Location != "" {
		return s.routeLocation(ctx, ev)
	}
	if ev.Site == nil {
		return pubsub.Permanent(errors.New("channels: event without a site"))
	}
	// A maintenance event is told to no one, but it still takes its place
	// in the site's sequence (the next event must not wait for it).
	var st *site.Site
	var msg notify.Message
	if !ev.Maintenance {
		var err error
		st, err = s.opts.Sites.Get(ctx, &site.GetParams{ID: ev.Site.ID})
		if api.IsCode(err, api.NotFound) {
			s.m.routed.WithLabelValues("site_deleted").Inc()
			return s.forgetSite(ctx, ev.Site.ID)
		}
		if err != nil {
			return err
		}
		msg = s.message(ev, st)
	}
	var targets []int64
	outcome := ""
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		targets, outcome, err = s.routeTx(ctx, tx, ev, st, &msg)
		return err
	})
	var early *errEarly
	if errors.As(err, &early) {
		s.m.routed.WithLabelValues("deferred").Inc()
		return pubsub.Defer(err, s.opts.OrderPoll)
	}
	if err != nil {
		return dbError("route", err)
	}
	s.m.routed.WithLabelValues(outcome).Inc()
	s.wake(targets...)
	return nil
}

// routeLocation queues a location-lost or location-back event to every
// enabled channel that wants it (a location concerns every site, so
// routing by site does not apply). Its deliveries share one ordering lane
// (site 0) per channel.
func (s *Service) routeLocation(ctx context.Context, ev Event) error {
	msg := notify.Message{Event: ev.Kind, Location: ev.Location, Time: ev.At.UTC()}
	msg.State = "unavailable"
	if ev.Kind == notify.EventLocationBack {
		msg.State = "available"
	}
	var targets []int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		first, err := markRouted(ctx, tx, ev.ID, s.now().UnixMilli())
		if err != nil || !first {
			return err
		}
		chans, err := s.loadRecords(ctx, tx, "")
		if err != nil {
			return err
		}
		for _, c := range chans {
			if c.Enabled && slices.Contains(c.Events, string(ev.Kind)) {
				targets = append(targets, c.ID)
			}
		}
		return s.enqueueAll(ctx, tx, targets, ev.ID, msg)
	})
	if err != nil {
		return dbError("route", err)
	}
	s.m.routed.WithLabelValues("routed").Inc()
	s.wake(targets...)
	return nil
}

// forgetSite drops what the service keeps of a deleted site: its pending
// deliveries (dead letters stay listable), open alerts and routing
// sequences. A delivery in flight at that moment is dropped by its
// worker's own check (dropDeletedSites).
func (s *Service) forgetSite(ctx context.Context, siteID int64) error {
	if siteID <= 0 {
		return nil
	}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE site_id = $1 AND status = $2 AND claimed_until <= $3`,
			siteID, statusPending, s.now().UnixMilli()); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM alerts WHERE site_id = $1`, `DELETE FROM route_seqs WHERE site_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, siteID); err != nil {
				return err
			}
		}
		return nil
	})
	return dbError("forget site", err)
}

func (s *Service) message(ev Event, st *site.Site) notify.Message {
	m := notify.Message{Event: ev.Kind, SiteID: st.ID, SiteName: st.Name, URL: notify.StripCredentials(site.RedactURL(st.URL)),
		Reason: ev.Reason, Time: ev.At.UTC(), CertExpiresAt: ev.CertExpires, Where: ev.Where}
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

// routeTx routes one site event and says how it went: "routed",
// "duplicate" (routed before), "stale" (older than one already routed:
// telling it now would put the site's states out of order),
// "maintenance" (held back), or *errEarly when its predecessor is not
// routed yet.
func (s *Service) routeTx(ctx context.Context, tx *sql.Tx, ev Event, st *site.Site, msg *notify.Message) ([]int64, string, error) {
	now := s.now()
	first, err := markRouted(ctx, tx, ev.ID, now.UnixMilli())
	if err != nil || !first {
		return nil, "duplicate", err
	}
	if fam := family(ev.Kind); fam != "" && ev.Seq > 0 {
		v, err := s.takeTurn(ctx, tx, ev, fam, now)
		if err != nil || v == orderStale {
			return nil, "stale", err
		}
	}
	if ev.Maintenance {
		return nil, "maintenance", nil
	}
	targets, err := s.routeTargets(ctx, tx, ev, st, msg, now.UnixMilli())
	if err != nil {
		return nil, "", err
	}
	return targets, "routed", s.enqueueAll(ctx, tx, targets, ev.ID, *msg)
}

// markRouted records an event id as routed; false when it was before (a
// redelivery).
func markRouted(ctx context.Context, tx *sql.Tx, eventID string, now int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO routed_events (event_id, routed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, eventID, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// routeTargets resolves the channels of a site event and keeps the alert
// bookkeeping: a problem records which channels were told, its end goes
// to those.
func (s *Service) routeTargets(ctx context.Context, tx *sql.Tx, ev Event, st *site.Site, msg *notify.Message, now int64) ([]int64, error) {
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
	return targets, nil
}

// enqueueAll queues m for each channel, with the traceparent of ctx's
// span so the sends join the trace of the check that caused them.
func (s *Service) enqueueAll(ctx context.Context, tx *sql.Tx, ids []int64, eventID string, m notify.Message) error {
	now, tp := s.now().UnixMilli(), tracing.Traceparent(ctx)
	for _, id := range ids {
		if err := enqueue(ctx, tx, id, eventID, m, now, tp); err != nil {
			return err
		}
	}
	return nil
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

// enqueue adds a delivery to a channel's queue (once per event id); tp
// is the traceparent its send continues ("" for none).
func enqueue(ctx context.Context, tx *sql.Tx, channelID int64, eventID string, m notify.Message, now int64, tp string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (channel_id, event_id, site_id, message, status, next_at, created_at, traceparent)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT DO NOTHING`, channelID, eventID, m.SiteID, string(b), statusPending, now, tp)
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
