package cron

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	kv jetstream.KeyValue
}

// NewNATSLocker returns a NATSLocker on the bucket named bucket, creating the
// bucket (one-hour MaxAge, history 1) if it does not exist.
func NewNATSLocker(js jetstream.JetStream, bucket string) (*NATSLocker, error) {
	ctx, cancel := context.WithTimeout(context.Background(), natsSetupTimeout)
	defer cancel()
	kv, err := js.KeyValue(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      bucket,
			Description: "upmon cron: one key per claimed (job, tick)",
			History:     1,
			TTL:         natsLockTTL,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			// Another replica created it meanwhile (possibly with another
			// configuration): use it as it is.
			kv, err = js.KeyValue(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cron: opening lock bucket %q: %w", bucket, err)
	}
	return &NATSLocker{kv: kv}, nil
}

// Claim creates the key for (job, tick): true if this call created it, false
// if it already existed.
func (l *NATSLocker) Claim(ctx context.Context, job string, tick time.Time) (bool, error) {
	key := job + "." + strconv.FormatInt(tick.UnixNano(), 10)
	_, err := l.kv.Create(ctx, key, []byte(tick.UTC().Format(time.RFC3339Nano)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	default:
		return false, fmt.Errorf("cron: claiming %s: %w", key, err)
	}
}
