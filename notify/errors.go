package notify

import (
	"errors"
	"time"
)

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// retryableError carries the delay a service asked for.
type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the service refused the message (bad
// credentials, unknown destination, invalid payload) and a retry would be
// refused too. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Retryable marks err as retryable after at least retryAfter (zero: the
// caller's own backoff). Retryable(nil, d) is nil.
func Retryable(err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err, after: max(retryAfter, 0)}
}

// IsPermanent reports whether err, or an error it wraps, was marked
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfter returns the delay a retryable error asks for, and whether it
// asks for one.
func RetryAfter(err error) (time.Duration, bool) {
	var r *retryableError
	if errors.As(err, &r) && r.after > 0 {
		return r.after, true
	}
	return 0, false
}
