package pubsub

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Store errors the JetStream server answers when it could not create a
// stream's storage, which a second attempt usually gets past: the server
// creates and removes an account's storage directories as streams come
// and go, and a creation racing with the removal of the last stream of
// the account fails with "could not create storage directory" (seen on a
// shared test server where other processes delete their streams).
const (
	errCodeStreamCreate      = 10049 // JSStreamCreateErrF
	errCodeStreamStoreFailed = 10077 // JSStreamStoreFailedF
)

// transientStoreError reports whether err is one of those answers.
func transientStoreError(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == errCodeStreamCreate || apiErr.ErrorCode == errCodeStreamStoreFailed
}

// setupAttempts bounds the attempts of RetryStoreSetup.
const setupAttempts = 5

// RetryStoreSetup runs fn, which creates or updates a stream or a
// key-value bucket, again after a short pause (100 ms, doubling) while it
// fails with a transient store error of the server, at most 5 times and
// while ctx lasts. Any other error is returned at once.
func RetryStoreSetup[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := fn(ctx)
		if err == nil || attempt == setupAttempts || !transientStoreError(err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(pause):
		}
		pause *= 2
	}
}
