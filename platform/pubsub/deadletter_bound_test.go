package pubsub_test

import (
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

// openDeadLetterBound opens a broker whose dead-letter store keeps max
// entries for maxAge, with a topic whose subscription fails every message
// permanently while fail is set.
func openDeadLetterBound(t *testing.T, max int, maxAge time.Duration, fail *atomic.Bool) (*pubsub.Broker, *prometheus.Registry, *pubsub.Topic[*event]) {
	t.Helper()
	cfg := pubsubtest.Config(t)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	cfg.DeadLetterMax = max
	cfg.DeadLetterMaxAge = maxAge
	b := pubsubtest.OpenConfig(t, cfg)
	topic := mustTopic(t, b, "bounded")
	fail.Store(true)
	h, _ := recorder(func(delivery) error {
		if fail.Load() {
			return pubsub.Permanent(errors.New("no"))
		}
		return nil
	})
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h, MaxConcurrency: 1})
	pubsubtest.Start(t, b)
	return b, reg, topic
}

// TestDeadLettersBoundedByCount dead-letters more messages than the store
// keeps: the oldest are dropped and counted, the gauge shows what is kept,
// and a replayed entry leaves nothing behind that counts.
func TestDeadLettersBoundedByCount(t *testing.T) {
	t.Parallel()
	const max, n = 3, 7
	var fail atomic.Bool
	b, reg, topic := openDeadLetterBound(t, max, 0, &fail)
	for i := range n {
		mustPublish(t, topic, &event{N: i})
		// One at a time, so that "oldest" is well defined.
		waitMetric(t, reg, "upmon_pubsub_deadlettered_total", map[string]string{"subscription": "sub"}, float64(i+1))
	}
	dls := waitDeadLetters(t, b, max)
	var kept []int
	for _, dl := range dls {
		var ev event
		if err := json.Unmarshal(dl.Message, &ev); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, ev.N)
	}
	if want := []int{4, 5, 6}; !slices.Equal(kept, want) {
		t.Errorf("kept dead letters %v, want the newest %v", kept, want)
	}
	waitMetric(t, reg, "upmon_pubsub_deadletters", nil, max)
	waitMetric(t, reg, "upmon_pubsub_deadletters_dropped_total", nil, n-max)

	// A replayed entry that is handled leaves nothing behind that counts.
	fail.Store(false)
	if err := b.Replay(ctx(t), dls[0].ID); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, reg, "upmon_pubsub_delivered_total", map[string]string{"subscription": "sub"}, 1)
	waitDeadLetters(t, b, max-1)
	waitMetric(t, reg, "upmon_pubsub_deadletters", nil, max-1)
}

// TestDeadLettersBoundedByAge keeps dead letters for a short time: they
// expire from the store and the gauge.
func TestDeadLettersBoundedByAge(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	b, reg, topic := openDeadLetterBound(t, 0, time.Second, &fail)
	mustPublish(t, topic, &event{N: 1})
	waitMetric(t, reg, "upmon_pubsub_deadlettered_total", map[string]string{"subscription": "sub"}, 1)
	waitDeadLetters(t, b, 0)
	waitMetric(t, reg, "upmon_pubsub_deadletters", nil, 0)
}
