package pubsub

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned by Replay for a dead letter id that does not exist
// (never existed, or was already replayed).
var ErrNotFound = errors.New("pubsub: dead letter not found")

// ErrClosed is returned by operations on a Broker that has been closed.
var ErrClosed = errors.New("pubsub: broker closed")

// permanentError marks an error as not worth retrying.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not retryable: a handler that returns it has its
// message dead-lettered at once, whatever attempts remain. Permanent(nil) is
// nil, so a handler may write `return pubsub.Permanent(err)` unconditionally.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfterError carries a hint for the earliest next attempt.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", e.err, e.after)
}
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter asks for the next attempt no sooner than d, for example to honour
// an HTTP 429 Retry-After header. The failed attempt still counts towards
// MaxAttempts, and the actual delay is the larger of d and the subscription's
// backoff. RetryAfter(nil, d) is nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: d}
}

// deferError asks for the message again after a delay without judging
// it a failure.
type deferError struct {
	err   error
	after time.Duration
}

func (e *deferError) Error() string { return fmt.Sprintf("%v (deferred %v)", e.err, e.after) }
func (e *deferError) Unwrap() error { return e.err }

// Defer hands the message back to be delivered again after d, exactly,
// because it cannot be handled yet (it must wait for another message to
// be handled first, say), not because handling failed: the attempt does
// not count towards MaxAttempts in this process, nothing is logged above
// debug level, and upmon_pubsub_deferred_total counts it instead of
// upmon_pubsub_retried_total. The handler decides how long it keeps
// deferring. Defer(nil, d) is nil.
func Defer(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &deferError{err: err, after: max(d, time.Millisecond)}
}

// IsDeferred reports whether err hands its message back with Defer.
func IsDeferred(err error) bool { return deferHint(err) > 0 }

// deferHint returns the delay asked for with Defer, or 0.
func deferHint(err error) time.Duration {
	var d *deferError
	if errors.As(err, &d) {
		return d.after
	}
	return 0
}

// retryAfterHint returns the delay asked for with RetryAfter, or 0.
func retryAfterHint(err error) time.Duration {
	var r *retryAfterError
	if errors.As(err, &r) && r.after > 0 {
		return r.after
	}
	return 0
}

// Meta describes the message a handler is processing.
type Meta struct {
	// ID is the message id: the UUIDv7 returned by Publish, or the id given
	// to PublishWithID. A replayed message keeps its original id.
	ID string
	// Topic is the topic name, e.g. "uptime-transition".
	Topic string
	// Subscription is the subscription name, e.g. "slack-notification".
	Subscription string
	// Attempt is the delivery attempt, starting at 1. A replayed message
	// starts again at 1.
	Attempt int
	// PublishedAt is when the message was first stored in the topic.
	PublishedAt time.Time
}

type metaKey struct{}

// MetaFromContext returns the metadata of the message being handled; ok is
// false outside a handler.
func MetaFromContext(ctx context.Context) (m Meta, ok bool) {
	m, ok = ctx.Value(metaKey{}).(Meta)
	return m, ok
}

func withMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}
