package pubsub

import "time"

// SetCloseGrace shortens how long Close waits for running handlers.
func SetCloseGrace(b *Broker, d time.Duration) { b.closeGrace = d }

// Backoff exposes RetryPolicy.backoff.
func Backoff(p RetryPolicy, attempt int) time.Duration { return p.backoff(attempt) }

// Jitter exposes jitter.
var Jitter = jitter
