package pubsub

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// Start creates the streams, consumers and dead-letter bucket for everything
// declared so far and starts consuming. If NATS is unreachable it keeps
// trying in the background and returns nil (Health reports the problem); it
// returns an error when NATS rejects the configuration, e.g. a replica count
// the cluster cannot place. Subscriptions declared after Start begin
// consuming at once.
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if b.started {
		b.mu.Unlock()
		return errors.New("pubsub: broker already started")
	}
	b.started = true
	subs := append([]*subscription(nil), b.subscriptions...)
	b.mu.Unlock()

	var err error
	if b.nc.IsConnected() {
		pctx, cancel := context.WithTimeout(ctx, opTimeout)
		err = b.provision(pctx, subs)
		cancel()
		if err != nil && isConfigError(err) {
			b.mu.Lock()
			b.started = false
			b.mu.Unlock()
			return err
		}
	} else {
		err = errors.New("pubsub: not connected to nats")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if err != nil {
		b.setProvisionErr(err)
		b.log.Warn("nats not ready; provisioning in the background", "err", err)
		b.loops.Go(b.provisionLoop)
	}
	for _, s := range subs {
		b.runLocked(s)
	}
	return nil
}

// runLocked starts the consume loop of s unless it runs already. b.mu must
// be held, and the broker must not be closed.
func (b *Broker) runLocked(s *subscription) {
	if !s.running {
		s.running = true
		b.loops.Go(s.run)
	}
}

// provision creates the dead-letter bucket, every declared stream, and the
// consumers of subs.
func (b *Broker) provision(ctx context.Context, subs []*subscription) error {
	if _, err := b.deadLetters(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	topics := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		topics = append(topics, t)
	}
	b.mu.Unlock()
	for _, t := range topics {
		if _, err := t.ensureStream(ctx); err != nil {
			return err
		}
	}
	for _, s := range subs {
		c, err := s.ensureConsumer(ctx)
		if err != nil {
			return err
		}
		s.consumer.Store(&c)
	}
	b.setProvisionErr(nil)
	return nil
}

// provisionLoop retries provisioning until it succeeds or the broker closes.
// Consume loops create their own streams and consumers; this makes sure the
// streams of publish-only topics and the dead-letter bucket exist too.
func (b *Broker) provisionLoop() {
	for n := 1; ; n++ {
		if !b.pause(b.runCtx, jitter(retryDelay(n))) {
			return
		}
		ctx, cancel := context.WithTimeout(b.runCtx, opTimeout)
		err := b.provision(ctx, nil)
		cancel()
		if err == nil {
			b.log.Info("nats provisioning done")
			return
		}
		b.setProvisionErr(err)
		if isConfigError(err) {
			b.log.Error("nats rejects the configuration; retrying", "err", err)
		} else {
			b.log.Debug("nats provisioning failed; retrying", "err", err)
		}
	}
}

func (b *Broker) setProvisionErr(err error) {
	if err == nil {
		b.provisionErr.Store(nil)
		return
	}
	b.provisionErr.Store(&err)
}

// isConfigError reports whether err is NATS rejecting a request as invalid
// (a 400 answer, or a replica count or stream configuration it cannot
// support), as opposed to NATS being unreachable, busy or failing.
func isConfigError(err error) bool {
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	const (
		streamInvalidConfig        = 10052
		streamReplicasNotSupported = 10074
	)
	return apiErr.Code == 400 ||
		apiErr.ErrorCode == streamInvalidConfig || apiErr.ErrorCode == streamReplicasNotSupported
}
