package monitor

import (
	"context"
	"errors"

	"upmon/platform/api"
	"upmon/platform/pubsub"
	"upmon/site"
)

// Topics are the site service's topics the monitor subscribes to.
type Topics struct {
	// Added carries site-added.
	Added *pubsub.Topic[*site.AddedEvent]
	// Updated carries site-updated.
	Updated *pubsub.Topic[*site.UpdatedEvent]
	// Deleted carries site-deleted.
	Deleted *pubsub.Topic[*site.DeletedEvent]
}

// Subscribe declares the monitor's subscriptions: check-site schedules and
// checks a new site at once, sync-site applies changed settings, and
// forget-site drops a deleted site's state and history.
func (s *Service) Subscribe(t Topics) error {
	if _, err := pubsub.NewSubscription(t.Added, "check-site", pubsub.SubscriptionConfig[*site.AddedEvent]{
		Service: ServiceName,
		Handler: s.onSiteAdded,
		// A bulk import adds thousands at once; each handler mostly waits
		// on the target and on the batching writer.
		MaxConcurrency: 128,
	}); err != nil {
		return err
	}
	if _, err := pubsub.NewSubscription(t.Updated, "sync-site", pubsub.SubscriptionConfig[*site.UpdatedEvent]{
		Service: ServiceName,
		Handler: func(ctx context.Context, ev *site.UpdatedEvent) error {
			st, err := s.sites.Get(ctx, &site.GetParams{ID: ev.SiteID})
			if api.IsCode(err, api.NotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			return s.SyncSite(ctx, st)
		},
	}); err != nil {
		return err
	}
	_, err := pubsub.NewSubscription(t.Deleted, "forget-site", pubsub.SubscriptionConfig[*site.DeletedEvent]{
		Service: ServiceName,
		Handler: func(ctx context.Context, ev *site.DeletedEvent) error {
			return s.Forget(ctx, ev.SiteID)
		},
	})
	return err
}

// onSiteAdded schedules a new site and checks it at once (a paused site is
// never checked; a push monitor waits for its first push). A site deleted
// since is skipped; a check abandoned because upmon is stopping is retried
// after restart.
func (s *Service) onSiteAdded(ctx context.Context, ev *site.AddedEvent) error {
	if ev == nil || ev.Site == nil {
		return pubsub.Permanent(errors.New("site-added event without a site"))
	}
	st, err := s.sites.Get(ctx, &site.GetParams{ID: ev.Site.ID})
	if api.IsCode(err, api.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Paused || st.Kind == site.KindPush {
		return s.SyncSite(ctx, st)
	}
	// Check first: the check creates the schedule row with the next
	// check one interval after it.
	if _, err := s.checkSite(ctx, st, false); err != nil {
		return err
	}
	return s.SyncSite(ctx, st)
}
