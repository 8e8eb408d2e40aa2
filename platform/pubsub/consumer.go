package pubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// consumerConfig is the durable consumer of the subscription, with
// deliver-new policy. It filters on the topic subject and its own replay
// subject only.
func (s *subscription) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        s.name,
		Description:    "upmon subscription " + s.name + " to " + s.t.name,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        s.ackWait,
		MaxDeliver:     -1, // the package dead-letters after MaxAttempts itself
		FilterSubjects: []string{s.t.subject, s.t.replaySubject(s.name)},
	}
}

// deliverPolicy is the deliver policy of a consumer created now on a stream
// created at streamCreated. A stream created after the broker opened was
// (re)created while this process runs: NATS lost its state, and everything
// in the stream was published since, so the consumer starts at its
// beginning and loses nothing published before it existed. On an older
// stream the consumer is a new subscription and starts with the messages
// published from now on, not the topic's history.
func (b *Broker) deliverPolicy(streamCreated time.Time) jetstream.DeliverPolicy {
	if streamCreated.After(b.openedAt) {
		return jetstream.DeliverAllPolicy
	}
	return jetstream.DeliverNewPolicy
}

// ensureConsumer creates or updates the stream and the durable consumer.
// An existing consumer keeps its deliver policy (the server cannot change
// it) and its position; a missing one is created with deliverPolicy.
func (s *subscription) ensureConsumer(ctx context.Context) (jetstream.Consumer, error) {
	created, err := s.t.ensureStream(ctx)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		cfg := s.consumerConfig()
		old, err := s.b.js.Consumer(ctx, s.t.stream, s.name)
		switch {
		case err == nil:
			oc := old.CachedInfo().Config
			cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = oc.DeliverPolicy, oc.OptStartSeq, oc.OptStartTime
		case errors.Is(err, jetstream.ErrConsumerNotFound):
			cfg.DeliverPolicy = s.b.deliverPolicy(created)
		default:
			return nil, fmt.Errorf("pubsub: consumer %s on %s: %w", s.name, s.t.stream, err)
		}
		c, err := s.createOrUpdate(ctx, cfg)
		// Another replica may have created the consumer in between, with
		// another policy: read it again and update it.
		if err == nil || try == 1 {
			return c, err
		}
	}
}

// createOrUpdate applies cfg, without multiple filter subjects on
// nats-server before 2.10.
func (s *subscription) createOrUpdate(ctx context.Context, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := s.b.js.CreateOrUpdateConsumer(ctx, s.t.stream, cfg)
	if errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
		// nats-server before 2.10 has no FilterSubjects. The consumer then
		// sees every replay subject of the topic, and handle skips those
		// addressed to other subscriptions.
		s.b.log.Debug("nats-server lacks multiple filter subjects; filtering replays client-side",
			"topic", s.t.name, "subscription", s.name)
		cfg.FilterSubjects = nil
		c, err = s.b.js.CreateOrUpdateConsumer(ctx, s.t.stream, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("pubsub: create consumer %s on %s: %w", s.name, s.t.stream, err)
	}
	return c, nil
}
