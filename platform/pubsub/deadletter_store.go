package pubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// kvOperationHeader marks a key-value delete or purge marker.
const kvOperationHeader = "KV-Operation"

func (b *Broker) bucketName() string { return b.cfg.Prefix + "_deadletters" }

// bucketStream is the name of the stream behind the dead-letter bucket.
func (b *Broker) bucketStream() string { return "KV_" + b.bucketName() }

// bucketSubject is the subject of dead letter key in the bucket's stream.
func (b *Broker) bucketSubject(key string) string { return "$KV." + b.bucketName() + "." + key }

// deadLetters returns the dead-letter bucket, creating it if needed.
//
// The bucket is a key-value bucket whose stream the package configures
// itself: besides one value per key, it keeps at most Config.DeadLetterMax
// entries, dropping the oldest (where a plain bucket would refuse new ones),
// for at most Config.DeadLetterMaxAge.
func (b *Broker) deadLetters(ctx context.Context) (jetstream.KeyValue, error) {
	if kv := b.deadLetterKV.Load(); kv != nil {
		return *kv, nil
	}
	_, err := ensureStreamConfig(ctx, b.js, b.bucketConfig())
	if err != nil {
		return nil, fmt.Errorf("pubsub: create dead-letter bucket %s: %w", b.bucketName(), err)
	}
	kv, err := b.js.KeyValue(ctx, b.bucketName())
	if err != nil {
		return nil, fmt.Errorf("pubsub: open dead-letter bucket %s: %w", b.bucketName(), err)
	}
	b.deadLetterKV.Store(&kv)
	return kv, nil
}

// bucketConfig is the configuration of the dead-letter bucket's stream: a
// key-value bucket's, with discard-old, a message limit and a maximum age.
func (b *Broker) bucketConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              b.bucketStream(),
		Description:       "upmon pubsub dead letters",
		Subjects:          []string{b.bucketSubject(">")},
		MaxMsgsPerSubject: 1,
		MaxMsgs:           int64(b.cfg.DeadLetterMax),
		MaxAge:            b.cfg.DeadLetterMaxAge,
		MaxBytes:          -1,
		MaxMsgSize:        -1,
		MaxConsumers:      -1,
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
		Replicas:          b.cfg.Replicas,
		AllowRollup:       true,
		DenyDelete:        true,
		AllowDirect:       true,
		Duplicates:        min(2*time.Minute, b.cfg.DeadLetterMaxAge),
	}
}

// countDrop counts a dead letter about to be dropped when the store is full
// before a new entry is put. It is approximate: an entry stored again under
// its key (the same message failing again) drops nothing, and replicas
// storing at once may each count the same drop.
func (b *Broker) countDrop(ctx context.Context) {
	st, err := b.js.Stream(ctx, b.bucketStream())
	if err != nil {
		return
	}
	if st.CachedInfo().State.Msgs >= uint64(b.cfg.DeadLetterMax) {
		b.metrics.deadLettersDropped.Inc()
	}
}

// removeDeadLetter deletes the entry id if it is still at revision rev. If
// the replayed message has already failed again, the entry has a newer
// revision and stays. The delete marker is then purged, so that the store
// counts live entries only.
func (b *Broker) removeDeadLetter(ctx context.Context, kv jetstream.KeyValue, id string, rev uint64) error {
	err := kv.Delete(ctx, id, jetstream.LastRevision(rev))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := b.js.Stream(ctx, b.bucketStream())
	if err != nil {
		return nil // the marker stays; the count is one too high
	}
	subj := b.bucketSubject(id)
	m, err := st.GetLastMsgForSubject(ctx, subj)
	if err != nil || m.Header.Get(kvOperationHeader) == "" {
		return nil // gone, or the key was stored again meanwhile
	}
	// Purge below the marker's successor: a value stored after it stays.
	if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(m.Sequence+1)); err != nil {
		b.log.Debug("dead letter marker not purged", "err", err)
	}
	return nil
}

// countDeadLetters returns the number of dead letters in the store, from the
// stream's state: no keys are listed.
func (b *Broker) countDeadLetters(ctx context.Context) (int, error) {
	if b.deadLetterKV.Load() == nil {
		return 0, errors.New("pubsub: dead-letter bucket not ready")
	}
	st, err := b.js.Stream(ctx, b.bucketStream())
	if err != nil {
		return 0, err
	}
	return int(st.CachedInfo().State.Msgs), nil
}
