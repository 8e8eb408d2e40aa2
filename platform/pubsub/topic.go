package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Message headers set by the package, besides jetstream.MsgIDHeader.
const (
	// headerID carries the original message id of a replayed message,
	// whose Nats-Msg-Id is fresh so that deduplication lets it through.
	headerID = "Upmon-Msg-Id"
	// headerPublishedAt carries the original publish time of a replayed
	// message (RFC 3339).
	headerPublishedAt = "Upmon-Published-At"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

func validName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("pubsub: invalid %s name %q: want 1-64 lowercase letters, digits or '-', not starting with '-'", kind, name)
	}
	return nil
}

// TopicConfig configures a topic. Zero values mean defaults.
type TopicConfig struct {
	// MaxAge is how long messages are kept in the stream, handled or not
	// (default 7 days).
	MaxAge time.Duration
	// DuplicateWindow is how long a message id is remembered for
	// deduplication (default 1 hour); it must not exceed MaxAge.
	DuplicateWindow time.Duration
}

// Topic is a declared topic carrying messages of type T, encoded as JSON.
// It is backed by a JetStream stream.
type Topic[T any] struct {
	t *topic
}

// topic is the untyped part of a Topic.
type topic struct {
	b       *Broker
	name    string
	cfg     TopicConfig
	stream  string
	subject string
	subs    map[string]bool // declared subscription names, guarded by b.mu
	// undeclared is set on the stand-in Replay uses for a topic this
	// process did not declare: its stream is never created from here.
	undeclared bool
	// msgType is the Go type of the messages, for the catalog.
	msgType reflect.Type
}

// NewTopic declares the topic name (lowercase letters, digits and '-', e.g.
// "uptime-transition") on b. Its stream is created by Start. Declaring the
// same name twice on one broker is an error: share the *Topic instead.
func NewTopic[T any](b *Broker, name string, cfg TopicConfig) (*Topic[T], error) {
	if err := validName("topic", name); err != nil {
		return nil, err
	}
	if cfg.MaxAge < 0 || cfg.DuplicateWindow < 0 {
		return nil, errors.New("pubsub: topic durations must not be negative")
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.DuplicateWindow == 0 {
		cfg.DuplicateWindow = min(DefaultDuplicateWindow, cfg.MaxAge)
	}
	if cfg.DuplicateWindow > cfg.MaxAge {
		return nil, fmt.Errorf("pubsub: topic %s: DuplicateWindow %v exceeds MaxAge %v", name, cfg.DuplicateWindow, cfg.MaxAge)
	}
	t := &topic{
		b:       b,
		name:    name,
		cfg:     cfg,
		stream:  b.cfg.Prefix + "_" + name,
		subject: b.cfg.Prefix + "." + name,
		subs:    map[string]bool{},
		msgType: reflect.TypeFor[T](),
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if _, ok := b.topics[name]; ok {
		return nil, fmt.Errorf("pubsub: topic %s already declared", name)
	}
	b.topics[name] = t
	b.metrics.published.WithLabelValues(name)
	return &Topic[T]{t: t}, nil
}

// Name returns the topic name.
func (t *Topic[T]) Name() string { return t.t.name }

// Publish encodes msg as JSON and stores it in the topic under a new UUIDv7
// id, which it returns. It fails while NATS is unreachable; callers that must
// not lose the message publish from a transactional outbox and retry.
func (t *Topic[T]) Publish(ctx context.Context, msg T) (id string, err error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("pubsub: new message id: %w", err)
	}
	id = u.String()
	if err := t.PublishWithID(ctx, id, msg); err != nil {
		return "", err
	}
	return id, nil
}

// PublishWithID is Publish with a caller-chosen id, used as the
// deduplication key: publishing the same id again within the topic's
// DuplicateWindow stores nothing and succeeds. The transactional outbox
// relay uses the outbox row's id.
func (t *Topic[T]) PublishWithID(ctx context.Context, id string, msg T) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("pubsub: encode %s message: %w", t.t.name, err)
	}
	return t.t.publish(ctx, t.t.subject, id, data, nil)
}

// PublishRaw is PublishWithID for a message already encoded as JSON, such
// as an outbox row's payload. data must be valid JSON for T.
func (t *Topic[T]) PublishRaw(ctx context.Context, id string, data []byte) error {
	if !json.Valid(data) {
		return fmt.Errorf("pubsub: publish %s: message is not valid JSON", t.t.name)
	}
	return t.t.publish(ctx, t.t.subject, id, data, nil)
}

// publish stores data on subject (the topic's, or a replay subject) with the
// given Nats-Msg-Id and extra headers. If the stream is missing (NATS lost
// its state, or Start could not reach it yet) it is created and the publish
// retried once.
func (t *topic) publish(ctx context.Context, subject, id string, data []byte, hdr nats.Header) error {
	if id == "" {
		return fmt.Errorf("pubsub: publish %s: empty message id", t.name)
	}
	if t.b.nc.IsClosed() {
		return ErrClosed
	}
	if !t.b.nc.IsConnected() {
		return fmt.Errorf("pubsub: publish %s: nats %s", t.name, t.b.nc.Status())
	}
	m := nats.NewMsg(subject)
	m.Data = data
	for k, v := range hdr {
		m.Header[k] = v
	}
	m.Header.Set(jetstream.MsgIDHeader, id)
	ack, err := t.b.js.PublishMsg(ctx, m, jetstream.WithExpectStream(t.stream))
	if errors.Is(err, jetstream.ErrNoStreamResponse) && !t.undeclared {
		// NATS lost the stream: re-create it together with this
		// process's consumers of it, before storing anything in it.
		if err = t.b.ensureTopic(ctx, t); err == nil {
			ack, err = t.b.js.PublishMsg(ctx, m, jetstream.WithExpectStream(t.stream))
		}
	}
	if err != nil {
		return fmt.Errorf("pubsub: publish %s: %w", t.name, err)
	}
	if ack.Duplicate {
		t.b.log.Debug("duplicate publish ignored", "topic", t.name, "id", id)
		return nil
	}
	t.b.metrics.published.WithLabelValues(t.name).Inc()
	return nil
}

// ensureStream creates or updates the topic's stream and returns when the
// stream was created. Its subjects are the topic subject, for ordinary
// messages, and one replay subject per subscription, so that Replay reaches
// a single subscription.
func (t *topic) ensureStream(ctx context.Context) (created time.Time, err error) {
	st, err := ensureStreamConfig(ctx, t.b.js, t.streamConfig())
	if err != nil {
		return time.Time{}, fmt.Errorf("pubsub: create stream %s: %w", t.stream, err)
	}
	return st.CachedInfo().Created, nil
}

// streamConfig is the configuration of the topic's stream. Limits it does
// not use are given as the server reports them (-1), so that an unchanged
// stream compares equal and is not updated.
func (t *topic) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              t.stream,
		Description:       "upmon topic " + t.name,
		Subjects:          []string{t.subject, t.subject + ".replay.*"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		Discard:           jetstream.DiscardOld,
		MaxAge:            t.cfg.MaxAge,
		Duplicates:        t.cfg.DuplicateWindow,
		Replicas:          t.b.cfg.Replicas,
		MaxMsgs:           -1,
		MaxBytes:          -1,
		MaxMsgSize:        -1,
		MaxMsgsPerSubject: -1,
		MaxConsumers:      -1,
	}
}

// ensureTopic creates or updates t's stream and the consumers of the
// subscriptions to it declared in this process.
func (b *Broker) ensureTopic(ctx context.Context, t *topic) error {
	b.mu.Lock()
	var subs []*subscription
	for _, s := range b.subscriptions {
		if s.t == t {
			subs = append(subs, s)
		}
	}
	b.mu.Unlock()
	if _, err := t.ensureStream(ctx); err != nil {
		return err
	}
	for _, s := range subs {
		if _, err := s.ensureConsumer(ctx); err != nil {
			return err
		}
	}
	return nil
}

// replaySubject is the subject that reaches only subscription sub.
func (t *topic) replaySubject(sub string) string {
	return t.subject + ".replay." + sub
}
