package pubsub_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

func TestMaxAttemptsDeadLetters(t *testing.T) {
	t.Parallel()
	b, reg := open(t)
	topic := mustTopic(t, b, "doomed")
	h, got := recorder(func(d delivery) error { return fmt.Errorf("failure %d", d.meta.Attempt) })
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)

	start := time.Now()
	id := mustPublish(t, topic, &event{Site: "s", N: 3})
	for want := 1; want <= 5; want++ {
		if d := next(t, got); d.meta.Attempt != want {
			t.Fatalf("attempt %d, want %d", d.meta.Attempt, want)
		}
	}
	dl := waitDeadLetters(t, b, 1)[0]
	if dl.MessageID != id || dl.Topic != "doomed" || dl.Subscription != "sub" ||
		dl.Error != "failure 5" || dl.Attempts != 5 || dl.ID == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	var msg event
	if err := json.Unmarshal(dl.Message, &msg); err != nil || msg != (event{Site: "s", N: 3}) {
		t.Errorf("dead letter message %s (%v)", dl.Message, err)
	}
	if dl.FailedAt.Before(start) || dl.PublishedAt.IsZero() || dl.PublishedAt.After(dl.FailedAt) {
		t.Errorf("FailedAt %v PublishedAt %v, test started %v", dl.FailedAt, dl.PublishedAt, start)
	}
	labels := map[string]string{"topic": "doomed", "subscription": "sub"}
	waitMetric(t, reg, "upmon_pubsub_deadlettered_total", labels, 1)
	waitMetric(t, reg, "upmon_pubsub_retried_total", labels, 4)
	waitMetric(t, reg, "upmon_pubsub_deadletters", nil, 1)
	// The message is settled: a later message is the next delivery.
	marker := mustPublish(t, topic, &event{})
	if d := next(t, got); d.meta.ID != marker {
		t.Errorf("after dead-lettering got %s attempt %d, want the marker", d.meta.ID, d.meta.Attempt)
	}
}

func TestPermanentDeadLettersAtOnce(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	topic := mustTopic(t, b, "permanent")
	h, got := recorder(func(delivery) error {
		return fmt.Errorf("handler: %w", pubsub.Permanent(errors.New("site unknown")))
	})
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)

	id := mustPublish(t, topic, &event{})
	next(t, got)
	dl := waitDeadLetters(t, b, 1)[0]
	if dl.Attempts != 1 || dl.Error != "handler: site unknown" || dl.MessageID != id {
		t.Errorf("dead letter = %+v", dl)
	}
	noDelivery(t, got)
}

func TestUndecodableMessageDeadLetters(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	topic := mustTopic(t, b, "undecodable")
	h, got := recorder(nil)
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)

	if err := topic.PublishRaw(ctx(t), "raw-1", []byte(`"not an event"`)); err != nil {
		t.Fatal(err)
	}
	dl := waitDeadLetters(t, b, 1)[0]
	if dl.Attempts != 1 || dl.MessageID != "raw-1" || string(dl.Message) != `"not an event"` || dl.Error == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	noDelivery(t, got)
}

func TestReplayReachesOneSubscription(t *testing.T) {
	t.Parallel()
	b, reg := open(t)
	topic := mustTopic(t, b, "replayed")
	var broken atomic.Bool
	broken.Store(true)
	hA, gotA := recorder(func(delivery) error {
		if broken.Load() {
			return pubsub.Permanent(errors.New("webhook misconfigured"))
		}
		return nil
	})
	hB, gotB := recorder(nil)
	mustSubscribe(t, topic, "a", pubsub.SubscriptionConfig[*event]{Handler: hA})
	mustSubscribe(t, topic, "b", pubsub.SubscriptionConfig[*event]{Handler: hB, MaxConcurrency: 1})
	pubsubtest.Start(t, b)

	id := mustPublish(t, topic, &event{N: 1})
	next(t, gotA)
	if d := next(t, gotB); d.meta.ID != id {
		t.Fatalf("b got %s", d.meta.ID)
	}
	dl := waitDeadLetters(t, b, 1)[0]
	if dl.Subscription != "a" {
		t.Fatalf("dead letter for %q", dl.Subscription)
	}

	broken.Store(false)
	if err := b.Replay(ctx(t), dl.ID); err != nil {
		t.Fatal(err)
	}
	d := next(t, gotA)
	if d.meta.ID != id || d.meta.Attempt != 1 || d.msg.N != 1 {
		t.Errorf("replayed delivery: id %s attempt %d msg %+v, want id %s attempt 1", d.meta.ID, d.meta.Attempt, d.msg, id)
	}
	if !d.meta.PublishedAt.Equal(dl.PublishedAt) {
		t.Errorf("replay PublishedAt %v, want original %v", d.meta.PublishedAt, dl.PublishedAt)
	}
	waitDeadLetters(t, b, 0)
	waitMetric(t, reg, "upmon_pubsub_deadletters", nil, 0)

	// b handles in stream order, one at a time: had it received the
	// replay, it would have come before this marker.
	marker := mustPublish(t, topic, &event{N: 2})
	if d := next(t, gotB); d.meta.ID != marker {
		t.Errorf("b got %s (attempt %d), want only the marker", d.meta.ID, d.meta.Attempt)
	}
	if d := next(t, gotA); d.meta.ID != marker {
		t.Errorf("a got %s, want the marker", d.meta.ID)
	}

	if err := b.Replay(ctx(t), dl.ID); !errors.Is(err, pubsub.ErrNotFound) {
		t.Errorf("second Replay = %v, want ErrNotFound", err)
	}
}

func TestReplayUnknownID(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	pubsubtest.Start(t, b)
	for _, id := range []string{uuid.NewString(), "", "not-a-uuid", "a.b.>"} {
		if err := b.Replay(ctx(t), id); !errors.Is(err, pubsub.ErrNotFound) {
			t.Errorf("Replay(%q) = %v, want ErrNotFound", id, err)
		}
	}
	dls, err := b.DeadLetters(ctx(t))
	if err != nil || dls == nil || len(dls) != 0 {
		t.Errorf("DeadLetters = %#v, %v; want empty non-nil", dls, err)
	}
}

func TestDeadLettersOldestFirst(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	topic := mustTopic(t, b, "ordered")
	h, got := recorder(func(delivery) error { return pubsub.Permanent(errors.New("no")) })
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h, MaxConcurrency: 1})
	pubsubtest.Start(t, b)
	var ids []string
	for i := range 3 {
		ids = append(ids, mustPublish(t, topic, &event{N: i}))
		next(t, got)
		waitDeadLetters(t, b, i+1)
	}
	dls := waitDeadLetters(t, b, 3)
	for i, dl := range dls {
		if dl.MessageID != ids[i] {
			t.Errorf("dead letter %d is %s, want %s", i, dl.MessageID, ids[i])
		}
	}
}
