package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pullWait is how long one pull request waits for messages before the
// consume loop issues the next one.
const pullWait = 5 * time.Second

// SubscriptionConfig configures a subscription. Zero values mean defaults.
type SubscriptionConfig[T any] struct {
	// Handler processes one message. Returning nil acknowledges it; an
	// error retries it with backoff (see Permanent and RetryAfter); a panic
	// counts as an error. It must honour ctx, whose deadline is AckDeadline.
	Handler func(ctx context.Context, msg T) error
	// RetryPolicy overrides the broker's Config.Retry field by field; zero
	// fields take the broker's values.
	RetryPolicy RetryPolicy
	// AckDeadline is the handler's deadline (default Config.AckDeadline).
	AckDeadline time.Duration
	// MaxConcurrency is how many messages this process handles at once for
	// the subscription (default 16). Replicas add up: every process pulls
	// from the same durable consumer. Use 1 where the handler needs
	// messages one at a time; ordering is never guaranteed across retries.
	MaxConcurrency int
	// OrderingKey, if set, serialises messages with equal keys: this
	// process hands them to the handler one at a time, in the order they
	// were delivered, while messages with other keys run concurrently. A
	// retried message goes behind those delivered meanwhile, so handlers
	// that care must drop stale messages themselves (see the event's own
	// sequence numbers). Queued messages are kept alive; one key holds at
	// most MaxConcurrency/2 of them (at least 1), further ones are released
	// for a second, so a busy key does not delay the others.
	OrderingKey func(msg T) string
	// Service names the service that owns the subscription, for the
	// catalog and the architecture picture.
	Service string
}

// Subscription is a declared subscription to a Topic[T]: a durable JetStream
// pull consumer shared by every process that declares it, so each message
// is handled by one of them.
type Subscription[T any] struct {
	s *subscription
}

// Name returns the subscription name.
func (s *Subscription[T]) Name() string { return s.s.name }

// subscription is the untyped part of a Subscription.
type subscription struct {
	b           *Broker
	t           *topic
	name        string
	service     string
	retry       RetryPolicy
	ackDeadline time.Duration
	ackWait     time.Duration
	concurrency int
	// call decodes data and runs the handler; a decoding failure is
	// returned as a permanent error.
	call func(ctx context.Context, data []byte) error
	// key returns the ordering key of an encoded message, or nil.
	key   func(data []byte) string
	lanes lanes
	// busy bounds the handlers running at once for a keyed subscription,
	// whose queued messages hold no handler.
	busy     chan struct{}
	consumer atomic.Pointer[jetstream.Consumer]
	running  bool // guarded by b.mu
}

// NewSubscription declares the subscription name (lowercase letters, digits
// and '-', e.g. "slack-notification") to t. Its durable consumer is created
// by Broker.Start with deliver-new policy: it receives messages published
// from then on, not the topic's history (unless the stream itself is newer
// than the broker: see the package documentation). Declared after Start,
// it begins consuming at once.
func NewSubscription[T any](t *Topic[T], name string, cfg SubscriptionConfig[T]) (*Subscription[T], error) {
	b := t.t.b
	if err := validName("subscription", name); err != nil {
		return nil, err
	}
	if cfg.Handler == nil {
		return nil, fmt.Errorf("pubsub: subscription %s: nil handler", name)
	}
	retry := cfg.RetryPolicy.withDefaults(b.cfg.Retry)
	if err := retry.validate(); err != nil {
		return nil, fmt.Errorf("pubsub: subscription %s: %w", name, err)
	}
	if cfg.AckDeadline < 0 || cfg.MaxConcurrency < 0 {
		return nil, fmt.Errorf("pubsub: subscription %s: AckDeadline and MaxConcurrency must not be negative", name)
	}
	if cfg.AckDeadline == 0 {
		cfg.AckDeadline = b.cfg.AckDeadline
	}
	if cfg.MaxConcurrency == 0 {
		cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	handler := cfg.Handler
	s := &subscription{
		b:           b,
		t:           t.t,
		name:        name,
		service:     cfg.Service,
		retry:       retry,
		ackDeadline: cfg.AckDeadline,
		// The server redelivers a message nobody acknowledged within
		// ackWait; it sits a little above the handler deadline (and
		// keepAlive covers overruns) so that only a crashed process
		// causes a redelivery.
		ackWait:     cfg.AckDeadline + max(cfg.AckDeadline/5, time.Second),
		concurrency: cfg.MaxConcurrency,
		call: func(ctx context.Context, data []byte) error {
			var msg T
			if err := json.Unmarshal(data, &msg); err != nil {
				return Permanent(fmt.Errorf("decode message: %w", err))
			}
			return handler(ctx, msg)
		},
	}
	if ok := cfg.OrderingKey; ok != nil {
		s.busy = make(chan struct{}, s.concurrency)
		s.key = func(data []byte) string {
			var msg T
			if json.Unmarshal(data, &msg) != nil {
				return ""
			}
			return ok(msg)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if t.t.subs[name] {
		return nil, fmt.Errorf("pubsub: subscription %s to %s already declared", name, t.t.name)
	}
	t.t.subs[name] = true
	b.subscriptions = append(b.subscriptions, s)
	b.metrics.initSubscription(t.t.name, name)
	if b.started {
		b.runLocked(s)
	}
	return &Subscription[T]{s: s}, nil
}

// run is the consume loop: it pulls as many messages as it may hold (see
// capacity), hands each to dispatch, and re-creates the consumer
// (and stream) whenever pulling fails, so it survives NATS restarts and
// deleted consumers. It returns when the broker closes.
func (s *subscription) run() {
	ctx := s.b.runCtx
	slots := make(chan struct{}, s.capacity())
	var cons jetstream.Consumer
	if c := s.consumer.Load(); c != nil {
		cons = *c
	}
	failures := 0
	fail := func(what string, err error) bool {
		failures++
		if failures == 1 {
			s.b.log.Warn("pubsub consumer failing; retrying", "topic", s.t.name, "subscription", s.name, "op", what, "err", err)
		} else {
			s.b.log.Debug("pubsub consumer still failing", "topic", s.t.name, "subscription", s.name, "op", what, "err", err)
		}
		cons = nil
		return s.b.pause(ctx, jitter(retryDelay(failures)))
	}
	for ctx.Err() == nil {
		if !s.b.nc.IsConnected() {
			// Requests would fail at once; wait for the reconnect.
			if !s.b.pause(ctx, time.Second) {
				return
			}
			continue
		}
		if cons == nil {
			cctx, cancel := context.WithTimeout(ctx, opTimeout)
			c, err := s.ensureConsumer(cctx)
			cancel()
			if err != nil {
				if ctx.Err() != nil || !fail("create consumer", err) {
					return
				}
				continue
			}
			cons = c
		}
		n := acquire(ctx, slots)
		if n == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(ctx, pullWait)
		batch, err := cons.Fetch(n, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			release(slots, n)
			if ctx.Err() != nil || !fail("fetch", err) {
				return
			}
			continue
		}
		got := 0
		for m := range batch.Messages() {
			got++
			s.dispatch(m, slots)
		}
		cancel()
		release(slots, n-got)
		switch err := batch.Error(); {
		case err == nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
			errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrNoMessages):
			if failures > 0 && (got > 0 || err == nil) {
				s.b.log.Info("pubsub consumer recovered", "topic", s.t.name, "subscription", s.name)
				failures = 0
			}
		default:
			if ctx.Err() != nil || !fail("fetch", err) {
				return
			}
		}
	}
}

// acquire takes one slot, waiting for it, then any other free slots, and
// returns how many it took; 0 means ctx ended.
func acquire(ctx context.Context, slots chan struct{}) int {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < cap(slots) {
		select {
		case slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func release(slots chan struct{}, n int) {
	for range n {
		<-slots
	}
}

// jitter spreads d by ±20% so replicas do not retry in lockstep.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}
