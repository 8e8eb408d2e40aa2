package monitor

import (
	"context"
	"errors"

	"upmon/platform/api"
	"upmon/platform/pubsub"
	"upmon/site"
)

// Subscribe declares the monitor's subscriptions: check-site checks a new
// site at once, and forget-site drops a deleted site's state and history.
func (s *Service) Subscribe(_ context.Context, added *pubsub.Topic[*site.AddedEvent], deleted *pubsub.Topic[*site.DeletedEvent]) error {
	if _, err := pubsub.NewSubscription(added, "check-site", pubsub.SubscriptionConfig[*site.AddedEvent]{
		Handler: s.onSiteAdded,
	}); err != nil {
		return err
	}
	_, err := pubsub.NewSubscription(deleted, "forget-site", pubsub.SubscriptionConfig[*site.DeletedEvent]{
		Handler: func(ctx context.Context, ev *site.DeletedEvent) error {
			return s.Forget(ctx, ev.SiteID)
		},
	})
	return err
}

// onSiteAdded checks a newly added site. A site deleted since is skipped;
// a check abandoned because upmon is stopping is retried after restart.
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
	_, err = s.CheckSite(ctx, st)
	return err
}
