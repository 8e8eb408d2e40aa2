package cron

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"upmon/platform/pubsub"
)

const (
	// natsLockTTL is how long a claim key lives in the bucket (its MaxAge).
	// A claim only has to outlive the moment all replicas try the same tick.
	natsLockTTL = time.Hour
	// natsSetupTimeout bounds the bucket lookup and creation in NewNATSLocker.
	natsSetupTimeout = 10 * time.Second
)

// NATSLocker is a Locker backed by a JetStream key-value bucket: claiming a
// tick creates the key "<job>.<tick in Unix nanoseconds>", which succeeds for
// exactly one caller cluster-wide. Keys expire after an hour.
type NATSLocker struct {
	kv     jetstream.KeyValue
	holder string // see SetHolder
}

// NATSLockerOption configures NewNATSLocker.
type NATSLockerOption func(*jetstream.KeyValueConfig)

// WithReplicas sets the replica count of the bucket (default 1). On a NATS
// cluster use the count of the streams (upmon's --nats-replicas): with one
// replica the claims of every job live on a single node, and while that
// node is down no replica can claim a tick, so no job runs.
func WithReplicas(n int) NATSLockerOption {
	return func(c *jetstream.KeyValueConfig) { c.Replicas = max(n, 1) }
}

// NewNATSLocker returns a NATSLocker on the bucket named bucket, creating
// the bucket (one-hour MaxAge, history 1) if it does not exist, or
// updating it to the configuration opts give (replicas starting together
// converge on it; an existing one-replica bucket is scaled up).
func NewNATSLocker(js jetstream.JetStream, bucket string, opts ...NATSLockerOption) (*NATSLocker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), natsSetupTimeout)
	defer cancel()
	cfg := jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "upmon cron: one key per claimed (job, tick)",
		History:     1,
		TTL:         natsLockTTL,
		Replicas:    1,
	}
	for _, o := range opts {
		o(&cfg)
	}
	kv, err := pubsub.RetryStoreSetup(ctx, func(ctx context.Context) (jetstream.KeyValue, error) { return js.CreateOrUpdateKeyValue(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("cron: opening lock bucket %q: %w", bucket, err)
	}
	return &NATSLocker{kv: kv}, nil
}

// Claim creates the key for (job, tick): true if this call created it, false
// if it already existed.
func (l *NATSLocker) Claim(ctx context.Context, job string, tick time.Time) (bool, error) {
	key := job + "." + strconv.FormatInt(tick.UnixNano(), 10)
	_, err := l.kv.Create(ctx, key, claimValue(tick, l.holder))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	default:
		return false, fmt.Errorf("cron: claiming %s: %w", key, err)
	}
}
