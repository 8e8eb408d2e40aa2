package channels

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"upmon/platform/pubsub"
)

// A site's events are routed in the order of their state sequence (seq,
// per family: down/up, degraded/recovered), whichever replica handles
// them. The router keeps the last routed seq per site and family
// (route_seqs). An event whose predecessor is not routed yet (two
// replicas pulled a site's consecutive events at once, the later one
// first) is handed back to the broker for a moment (pubsub.Defer) until
// the predecessor is in, for at most Options.OrderWait: an event that
// never comes (dead-lettered, say) must not hold its successors for ever.
// An event older than one already routed is stale and dropped. The first
// event routed for a site is its seq 1, or any event that waited
// OrderWait.

// orderVerdict is what to do with an event given the site's sequence.
type orderVerdict int

const (
	orderRoute orderVerdict = iota // its turn: route it
	orderWait                      // its predecessor is missing: wait
	orderStale                     // older than one already routed: drop
)

// decideOrder is the rule: known reports whether the site has a routed
// sequence (cur) in the family; waited is how long the event has waited
// since it was published.
func decideOrder(known bool, cur, seq int64, waited, maxWait time.Duration) orderVerdict {
	switch {
	case known && seq <= cur:
		return orderStale
	case known && seq == cur+1, !known && seq <= 1, waited >= maxWait:
		return orderRoute
	}
	// A gap after the last routed event, or the first event the router
	// sees for the site is not the site's first: its predecessors may be
	// in flight (after a broker outage several replicas' outboxes publish
	// at once, a site's up can be handed out before its down), and
	// routing it now would make them stale. It waits for them, at most
	// maxWait (a site's first event after an upgrade from a version
	// without route_seqs waits that long once).
	return orderWait
}

// errEarly is an event routed before its predecessor, or one that lost a
// race for the site's sequence to another replica: it is tried again
// shortly.
type errEarly struct{ site, want, got int64 }

func (e *errEarly) Error() string {
	return fmt.Sprintf("channels: site %d: event %d waits for event %d to be routed first", e.site, e.got, e.want)
}

// takeTurn advances the site's routed sequence to ev.Seq when it is ev's
// turn (compare-and-set: of two replicas routing a site's events at once,
// one moves it and the other tries again), or says why not.
func (s *Service) takeTurn(ctx context.Context, tx *sql.Tx, ev Event, fam string, now time.Time) (orderVerdict, error) {
	var cur int64
	err := tx.QueryRowContext(ctx, `SELECT seq FROM route_seqs WHERE site_id = $1 AND family = $2`, ev.Site.ID, fam).Scan(&cur)
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	v := decideOrder(known, cur, ev.Seq, now.Sub(publishedAt(ctx, ev)), s.opts.OrderWait)
	switch v {
	case orderStale:
		return v, nil
	case orderWait:
		return v, &errEarly{site: ev.Site.ID, want: cur + 1, got: ev.Seq}
	}
	if (known && ev.Seq != cur+1) || (!known && ev.Seq > 1) {
		s.log.Warn("channels: routing a site's event without its predecessor, which did not come in time",
			"site", ev.Site.ID, "seq", ev.Seq, "last_routed", cur, "waited_at_most", s.opts.OrderWait)
		s.m.routed.WithLabelValues("order_gap").Inc()
	}
	var res sql.Result
	if known {
		res, err = tx.ExecContext(ctx, `UPDATE route_seqs SET seq = $1 WHERE site_id = $2 AND family = $3 AND seq = $4`,
			ev.Seq, ev.Site.ID, fam, cur)
	} else {
		res, err = tx.ExecContext(ctx, `INSERT INTO route_seqs (site_id, family, seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			ev.Site.ID, fam, ev.Seq)
	}
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return orderWait, &errEarly{site: ev.Site.ID, want: cur + 1, got: ev.Seq} // another replica moved it meanwhile
	}
	return orderRoute, nil
}

// publishedAt is when the event entered the broker (the time its wait for
// a predecessor is measured from), or its own time outside a handler.
func publishedAt(ctx context.Context, ev Event) time.Time {
	if m, ok := pubsub.MetaFromContext(ctx); ok && !m.PublishedAt.IsZero() {
		return m.PublishedAt
	}
	return ev.At
}
