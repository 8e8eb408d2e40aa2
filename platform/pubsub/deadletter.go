package pubsub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxErrorText caps the error text stored with a dead letter.
const maxErrorText = 4 << 10

// listTimeout bounds one attempt at listing the dead letters.
const listTimeout = 5 * time.Second

// DeadLetter is a message a subscription gave up on.
type DeadLetter struct {
	// ID identifies the entry, for Replay. It is derived from the topic,
	// subscription and message id, so the same message failing twice in
	// one subscription yields one entry.
	ID string `json:"id"`
	// MessageID is the id of the failed message (Meta.ID).
	MessageID string `json:"message_id"`
	// Topic is the topic name.
	Topic string `json:"topic"`
	// Subscription is the subscription that failed to handle the message.
	Subscription string `json:"subscription"`
	// Message is the message as published. A message that was not valid
	// JSON is given here as a JSON string of its bytes.
	Message json.RawMessage `json:"message"`
	// Error is the text of the last handler error.
	Error string `json:"error"`
	// Attempts is how many delivery attempts were made.
	Attempts int `json:"attempts"`
	// FailedAt is when the message was dead-lettered.
	FailedAt time.Time `json:"failed_at"`
	// PublishedAt is when the message was first published.
	PublishedAt time.Time `json:"published_at"`
}

// deadLetterRecord is what the dead-letter bucket stores: the message bytes
// exactly as published, so that Replay republishes them unchanged.
type deadLetterRecord struct {
	ID           string    `json:"id"`
	MessageID    string    `json:"message_id"`
	Topic        string    `json:"topic"`
	Subscription string    `json:"subscription"`
	Data         []byte    `json:"data"`
	Error        string    `json:"error"`
	Attempts     int       `json:"attempts"`
	FailedAt     time.Time `json:"failed_at"`
	PublishedAt  time.Time `json:"published_at"`
}

func (r *deadLetterRecord) deadLetter() DeadLetter {
	msg := json.RawMessage(r.Data)
	if !json.Valid(r.Data) {
		msg, _ = json.Marshal(string(r.Data))
	}
	return DeadLetter{
		ID:           r.ID,
		MessageID:    r.MessageID,
		Topic:        r.Topic,
		Subscription: r.Subscription,
		Message:      msg,
		Error:        r.Error,
		Attempts:     r.Attempts,
		FailedAt:     r.FailedAt,
		PublishedAt:  r.PublishedAt,
	}
}

// deadLetterNS namespaces the name-based UUIDs of dead letters.
var deadLetterNS = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:upmon:pubsub:dead-letter"))

func deadLetterID(topic, sub, msgID string) string {
	return uuid.NewSHA1(deadLetterNS, []byte(topic+"\x00"+sub+"\x00"+msgID)).String()
}

// deadLetter stores a dead letter for the message.
func (s *subscription) deadLetter(meta Meta, data []byte, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	text := cause.Error()
	if len(text) > maxErrorText {
		text = text[:maxErrorText] + "…"
	}
	rec := deadLetterRecord{
		ID:           deadLetterID(s.t.name, s.name, meta.ID),
		MessageID:    meta.ID,
		Topic:        s.t.name,
		Subscription: s.name,
		Data:         data,
		Error:        text,
		Attempts:     meta.Attempt,
		FailedAt:     time.Now().UTC(),
		PublishedAt:  meta.PublishedAt,
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	kv, err := s.b.deadLetters(ctx)
	if err != nil {
		return err
	}
	s.b.countDrop(ctx)
	if _, err := kv.Put(ctx, rec.ID, val); err != nil {
		// The bucket may be gone (NATS lost its state): create it again
		// next time.
		s.b.deadLetterKV.Store(nil)
		return fmt.Errorf("pubsub: store dead letter: %w", err)
	}
	return nil
}

// DeadLetters lists the dead letters of every subscription sharing this
// broker's prefix, oldest first. The result is never nil.
func (b *Broker) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	if b.nc.IsClosed() {
		return nil, ErrClosed
	}
	// A listing waits for the entries the store held when it began; one
	// that expires (DeadLetterMaxAge) meanwhile never arrives: list again
	// then, within ctx. If NATS lost the bucket, create it again, once.
	recreated := false
	for {
		kv, err := b.deadLetters(ctx)
		if err != nil {
			return nil, err
		}
		lctx, cancel := context.WithTimeout(ctx, listTimeout)
		out, err := b.listDeadLetters(lctx, kv)
		cancel()
		switch {
		case err == nil || ctx.Err() != nil:
			return out, err
		case errors.Is(err, context.DeadlineExceeded):
			b.log.Debug("dead-letter listing stalled; listing again")
		case !recreated:
			recreated = true
			b.deadLetterKV.Store(nil)
		default:
			return nil, err
		}
	}
}

// listDeadLetters lists the entries of kv, oldest first.
func (b *Broker) listDeadLetters(ctx context.Context, kv jetstream.KeyValue) ([]DeadLetter, error) {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("pubsub: list dead letters: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := []DeadLetter{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("pubsub: list dead letters: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("pubsub: list dead letters: watcher stopped")
			}
			if e == nil { // all current entries delivered
				slices.SortStableFunc(out, func(a, b DeadLetter) int {
					return cmp.Or(a.FailedAt.Compare(b.FailedAt), cmp.Compare(a.ID, b.ID))
				})
				return out, nil
			}
			var rec deadLetterRecord
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				b.log.Warn("undecodable dead letter skipped", "key", e.Key(), "err", err)
				continue
			}
			out = append(out, rec.deadLetter())
		}
	}
}

// Replay publishes the dead letter id again, to its subscription only (other
// subscriptions of the topic do not see it), and removes the entry. The
// message keeps its id (Meta.ID) and starts again at attempt 1. Replay
// returns ErrNotFound for an unknown id.
func (b *Broker) Replay(ctx context.Context, id string) error {
	if b.nc.IsClosed() {
		return ErrClosed
	}
	if _, err := uuid.Parse(id); err != nil {
		return ErrNotFound
	}
	kv, err := b.deadLetters(ctx)
	if err != nil {
		return err
	}
	e, err := kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("pubsub: replay %s: %w", id, err)
	}
	var rec deadLetterRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return fmt.Errorf("pubsub: replay %s: decode dead letter: %w", id, err)
	}
	b.mu.Lock()
	t := b.topics[rec.Topic]
	b.mu.Unlock()
	if t == nil {
		// Not declared in this process: address the stream by convention.
		t = &topic{b: b, name: rec.Topic, stream: b.cfg.Prefix + "_" + rec.Topic, subject: b.cfg.Prefix + "." + rec.Topic, undeclared: true}
	}
	newID, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("pubsub: replay %s: %w", id, err)
	}
	hdr := nats.Header{}
	hdr.Set(headerID, rec.MessageID)
	if !rec.PublishedAt.IsZero() {
		hdr.Set(headerPublishedAt, rec.PublishedAt.Format(time.RFC3339Nano))
	}
	if err := t.publish(ctx, t.replaySubject(rec.Subscription), newID.String(), rec.Data, hdr); err != nil {
		return fmt.Errorf("pubsub: replay %s: %w", id, err)
	}
	if err := b.removeDeadLetter(ctx, kv, id, e.Revision()); err != nil {
		return fmt.Errorf("pubsub: replay %s: published, but removing the entry failed: %w", id, err)
	}
	b.log.Info("dead letter replayed", "topic", rec.Topic, "subscription", rec.Subscription, "id", rec.MessageID)
	return nil
}
