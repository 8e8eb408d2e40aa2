package pubsub

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"upmon/platform/tracing"
)

// handle runs the handler on one message and settles it: ack on success,
// nak with backoff on failure, dead letter and ack when attempts are
// exhausted or the failure is permanent.
func (s *subscription) handle(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		s.b.log.Error("pubsub message without metadata; dropping", "topic", s.t.name, "subscription", s.name, "err", err)
		_ = m.Term()
		return
	}
	if subj := m.Subject(); strings.HasPrefix(subj, s.t.subject+".replay.") && subj != s.t.replaySubject(s.name) {
		// A replay addressed to another subscription; only seen on
		// nats-server before 2.10 (see ensureConsumer).
		_ = m.Ack()
		return
	}
	hdr := m.Headers()
	meta := Meta{
		ID:           messageID(hdr),
		Topic:        s.t.name,
		Subscription: s.name,
		Attempt:      max(1, int(md.NumDelivered)-s.lanes.released(md.Sequence.Stream)),
		PublishedAt:  publishedAt(hdr, md.Timestamp),
	}
	log := s.b.log.With("topic", s.t.name, "subscription", s.name, "id", meta.ID, "attempt", meta.Attempt)

	start := time.Now()
	span := s.startDelivery(hdr, meta)
	defer func() { tracing.End(span, err) }()
	err = s.invoke(meta, m, log, span)
	switch {
	case err == nil:
		s.lanes.forget(md.Sequence.Stream)
		s.ack(m, log)
		s.b.metrics.delivered.WithLabelValues(s.t.name, s.name).Inc()
		log.Debug("message handled", "took", time.Since(start))
	case s.b.closing.Load() && !IsPermanent(err):
		// Shutting down: the failure may be ours. Hand the message back
		// for immediate redelivery without judging it.
		_ = m.Nak()
		log.Info("handler interrupted by shutdown; message released", "err", err)
	case deferHint(err) > 0 && !IsPermanent(err):
		s.lanes.release(md.Sequence.Stream, 4*s.capacity())
		_ = m.NakWithDelay(deferHint(err))
		s.b.metrics.deferred.WithLabelValues(s.t.name, s.name).Inc()
		log.Debug("message deferred", "err", err)
	case IsPermanent(err) || meta.Attempt >= s.retry.MaxAttempts:
		if dlErr := s.deadLetter(meta, m.Data(), err); dlErr != nil {
			delay := s.retry.backoff(meta.Attempt)
			log.Error("cannot store dead letter; retrying the message", "err", err, "store_err", dlErr, "delay", delay)
			_ = m.NakWithDelay(delay)
			return
		}
		s.lanes.forget(md.Sequence.Stream)
		s.ack(m, log)
		s.b.metrics.deadLettered.WithLabelValues(s.t.name, s.name).Inc()
		log.Error("message dead-lettered", "err", err, "permanent", IsPermanent(err))
	default:
		delay := max(s.retry.backoff(meta.Attempt), retryAfterHint(err))
		_ = m.NakWithDelay(delay)
		s.b.metrics.retried.WithLabelValues(s.t.name, s.name).Inc()
		log.Warn("handler failed; will retry", "err", err, "delay", delay)
	}
}

// invoke runs the handler with the ack deadline, recovering a panic as an
// error.
func (s *subscription) invoke(meta Meta, m jetstream.Msg, log *slog.Logger, delivery trace.Span) (err error) {
	ctx, cancel := context.WithTimeout(withMeta(s.b.handlerCtx, meta), s.ackDeadline)
	defer cancel()
	if delivery != nil {
		var span trace.Span
		ctx, span = s.b.cfg.Tracer.Start(trace.ContextWithSpan(ctx, delivery), "pubsub.handle "+s.name)
		defer func() { tracing.End(span, err) }()
	}
	defer func() {
		if r := recover(); r != nil {
			log.Error("handler panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return s.call(ctx, m.Data())
}

// startDelivery starts the consumer span of a delivery as a child of the
// publisher's traceparent header; nil when tracing is off.
func (s *subscription) startDelivery(hdr nats.Header, meta Meta) trace.Span {
	tr := s.b.cfg.Tracer
	if tr == nil {
		return nil
	}
	ctx := tracing.WithTraceparent(context.Background(), hdr.Get(tracing.Header))
	_, span := tr.Start(ctx, "pubsub.deliver "+s.t.name+"/"+s.name, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.destination.name", s.t.name),
			attribute.String("messaging.consumer.group.name", s.name),
			attribute.String("messaging.message.id", meta.ID),
			attribute.Int("messaging.delivery.attempt", meta.Attempt)))
	return span
}

// ack acknowledges m and waits for the server to confirm, so that a handled
// message is not redelivered unless the confirmation is lost.
func (s *subscription) ack(m jetstream.Msg, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := m.DoubleAck(ctx); err != nil {
		log.Warn("ack failed; the message may be redelivered", "err", err)
	}
}

// messageID is the message's original id: the replay header when present,
// else Nats-Msg-Id.
func messageID(h nats.Header) string {
	if id := h.Get(headerID); id != "" {
		return id
	}
	return h.Get(jetstream.MsgIDHeader)
}

// publishedAt is the original publish time: the replay header when present,
// else the stream timestamp.
func publishedAt(h nats.Header, stored time.Time) time.Time {
	if v := h.Get(headerPublishedAt); v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return stored.UTC()
}
