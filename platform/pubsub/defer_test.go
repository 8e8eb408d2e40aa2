package pubsub_test

import (
	"errors"
	"testing"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

// TestDeferIsNotAFailure: a handler that cannot handle a message yet
// defers it more often than MaxAttempts allows failures; the message comes
// back each time as attempt 1, is then handled, and counts as deferred,
// not as retried, redelivered or dead-lettered.
func TestDeferIsNotAFailure(t *testing.T) {
	t.Parallel()
	b, reg := open(t)
	topic := mustTopic(t, b, "later")
	const defers = 7 // more than the test policy's 5 attempts
	h, got := recorder(func(d delivery) error {
		if metric(t, reg, "upmon_pubsub_deferred_total", map[string]string{"topic": "later", "subscription": "sub"}) < defers {
			return pubsub.Defer(errors.New("its predecessor is not handled yet"), 0)
		}
		return nil
	})
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)
	id := mustPublish(t, topic, &event{Site: "s"})
	for i := range defers + 1 {
		d := next(t, got)
		if d.meta.ID != id || d.meta.Attempt != 1 {
			t.Fatalf("delivery %d: id %s attempt %d, want %s attempt 1", i, d.meta.ID, d.meta.Attempt, id)
		}
	}
	labels := map[string]string{"topic": "later", "subscription": "sub"}
	waitMetric(t, reg, "upmon_pubsub_delivered_total", labels, 1)
	for name, want := range map[string]float64{"upmon_pubsub_deferred_total": defers, "upmon_pubsub_retried_total": 0,
		"upmon_pubsub_redelivered_total": 0, "upmon_pubsub_deadlettered_total": 0} {
		if got := metric(t, reg, name, labels); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
