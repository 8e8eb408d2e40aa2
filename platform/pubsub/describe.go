package pubsub

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"time"
)

// TopicInfo describes a declared topic, for the catalog.
type TopicInfo struct {
	// Name is the topic name.
	Name string
	// MessageType is the Go type of its messages.
	MessageType reflect.Type
	// MaxAge is how long messages are kept.
	MaxAge time.Duration
}

// SubscriptionInfo describes a declared subscription, for the catalog.
type SubscriptionInfo struct {
	// Name is the subscription name.
	Name string
	// Topic is the topic it consumes.
	Topic string
	// Service is the service that declared it (SubscriptionConfig.Service).
	Service string
	// Retry is the effective retry policy.
	Retry RetryPolicy
	// AckDeadline is the handler deadline.
	AckDeadline time.Duration
	// MaxConcurrency is this process's handler concurrency.
	MaxConcurrency int
}

// Topics describes the topics declared on b, sorted by name.
func (b *Broker) Topics() []TopicInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]TopicInfo, 0, len(b.topics))
	for _, t := range b.topics {
		if t.undeclared {
			continue
		}
		out = append(out, TopicInfo{Name: t.name, MessageType: t.msgType, MaxAge: t.cfg.MaxAge})
	}
	slices.SortFunc(out, func(a, c TopicInfo) int { return strings.Compare(a.Name, c.Name) })
	return out
}

// Subscriptions describes the subscriptions declared on b, sorted by topic
// and name.
func (b *Broker) Subscriptions() []SubscriptionInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]SubscriptionInfo, 0, len(b.subscriptions))
	for _, s := range b.subscriptions {
		out = append(out, SubscriptionInfo{
			Name: s.name, Topic: s.t.name, Service: s.service, Retry: s.retry,
			AckDeadline: s.ackDeadline, MaxConcurrency: s.concurrency,
		})
	}
	slices.SortFunc(out, func(a, c SubscriptionInfo) int {
		return strings.Compare(a.Topic+"\x00"+a.Name, c.Topic+"\x00"+c.Name)
	})
	return out
}

// Pending returns how many messages of a subscription's topic wait for it:
// not yet delivered plus delivered and not yet acknowledged (messages
// waiting out a retry backoff count here too).
func (b *Broker) Pending(ctx context.Context, topic, subscription string) (uint64, error) {
	c, err := b.js.Consumer(ctx, b.cfg.Prefix+"_"+topic, subscription)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}
