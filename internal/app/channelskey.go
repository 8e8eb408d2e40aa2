package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"upmon/channels"
	"upmon/platform/pubsub"
)

// channelsKeyName is the key of the generated channels key in its bucket.
const channelsKeyName = "channels-key"

// channelsKey returns the key that encrypts channel settings at rest: the
// ChannelsKey secret when set (replicas must be given the same), else a
// random key generated once and kept in the broker's key-value store
// (the embedded broker's is in the data directory), which every replica
// of the installation reads.
func (m *Main) channelsKey(ctx context.Context) ([]byte, error) {
	if v, ok := m.declared.Secret(m.secrets, channels.ServiceName, channels.KeySecretName); ok && v != "" {
		return channels.ParseKey(v)
	}
	js := m.broker.JetStream()
	kv, err := pubsub.RetryStoreSetup(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: m.broker.Prefix() + "_channels_key", Description: "upmon: the key that encrypts channel settings at rest",
			History: 1, Replicas: max(m.broker.Replicas(), 1),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("channels key bucket: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if _, err := kv.Create(ctx, channelsKeyName, key); errors.Is(err, jetstream.ErrKeyExists) {
		e, err := kv.Get(ctx, channelsKeyName)
		if err != nil {
			return nil, fmt.Errorf("channels key: %w", err)
		}
		key = e.Value()
	} else if err != nil {
		return nil, fmt.Errorf("channels key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("channels key: the stored key has %d bytes, not 32", len(key))
	}
	return key, nil
}
