package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	b, reg := open(t)
	topic := mustTopic(t, b, "uptime-transition")
	h, got := recorder(nil)
	mustSubscribe(t, topic, "slack-notification", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)

	before := time.Now()
	id := mustPublish(t, topic, &event{Site: "https://example.com", Up: false, N: 1})
	d := next(t, got)
	if *d.msg != (event{Site: "https://example.com", Up: false, N: 1}) {
		t.Errorf("message = %+v", d.msg)
	}
	want := pubsub.Meta{ID: id, Topic: "uptime-transition", Subscription: "slack-notification", Attempt: 1}
	if d.meta.ID != want.ID || d.meta.Topic != want.Topic || d.meta.Subscription != want.Subscription || d.meta.Attempt != want.Attempt {
		t.Errorf("meta = %+v, want %+v", d.meta, want)
	}
	if d.meta.PublishedAt.Before(before.Add(-time.Minute)) || d.meta.PublishedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("PublishedAt = %v, want about %v", d.meta.PublishedAt, before)
	}
	if topic.Name() != "uptime-transition" || !strings.HasPrefix(b.Prefix(), "t") {
		t.Errorf("Name = %q, Prefix = %q", topic.Name(), b.Prefix())
	}
	if err := b.Health(ctx(t)); err != nil {
		t.Errorf("Health = %v", err)
	}

	labels := map[string]string{"topic": "uptime-transition", "subscription": "slack-notification"}
	waitMetric(t, reg, "upmon_pubsub_delivered_total", labels, 1)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"upmon_pubsub_published_total", map[string]string{"topic": "uptime-transition"}, 1},
		{"upmon_pubsub_delivered_total", labels, 1},
		{"upmon_pubsub_retried_total", labels, 0},
		{"upmon_pubsub_deadlettered_total", labels, 0},
		{"upmon_pubsub_deadletters", nil, 0},
	} {
		if got := metric(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTwoSubscriptionsEachGetEveryMessage(t *testing.T) {
	t.Parallel()
	b, _ := open(t)
	topic := mustTopic(t, b, "site-added")
	h1, got1 := recorder(nil)
	h2, got2 := recorder(nil)
	mustSubscribe(t, topic, "monitor", pubsub.SubscriptionConfig[*event]{Handler: h1})
	mustSubscribe(t, topic, "audit", pubsub.SubscriptionConfig[*event]{Handler: h2})
	pubsubtest.Start(t, b)

	ids := map[string]bool{}
	for i := range 3 {
		ids[mustPublish(t, topic, &event{N: i})] = true
	}
	for _, ch := range []chan delivery{got1, got2} {
		seen := map[string]bool{}
		for range 3 {
			seen[next(t, ch).meta.ID] = true
		}
		if fmt.Sprint(seen) != fmt.Sprint(ids) {
			t.Errorf("delivered %v, want %v", seen, ids)
		}
	}
}

func TestReplicasShareDurableConsumer(t *testing.T) {
	t.Parallel()
	if !pubsubtest.External() {
		t.Skip("needs " + pubsubtest.EnvURL)
	}
	cfg := pubsubtest.Config(t)
	var (
		mu    sync.Mutex
		count = map[string]int{}
		done  = make(chan struct{}, 100)
	)
	var (
		topics  [2]*pubsub.Topic[*event]
		brokers [2]*pubsub.Broker
	)
	for i := range 2 {
		b := pubsubtest.OpenConfig(t, cfg)
		brokers[i] = b
		topics[i] = mustTopic(t, b, "work")
		mustSubscribe(t, topics[i], "worker", pubsub.SubscriptionConfig[*event]{
			Handler: func(ctx context.Context, _ *event) error {
				m, _ := pubsub.MetaFromContext(ctx)
				mu.Lock()
				count[m.ID]++
				mu.Unlock()
				done <- struct{}{}
				return nil
			},
		})
		pubsubtest.Start(t, b)
	}
	const n = 40
	for i := range n {
		mustPublish(t, topics[i%2], &event{N: i})
	}
	for range n {
		select {
		case <-done:
		case <-time.After(waitTimeout):
			t.Fatal("timed out")
		}
	}
	// Structurally one consumer, and it delivered each message once.
	js := brokers[0].JetStream()
	stream := cfg.Prefix + "_work"
	info, err := js.Stream(ctx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	if c := info.CachedInfo().State.Consumers; c != 1 {
		t.Errorf("stream has %d consumers, want 1", c)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		ci, err := js.Consumer(ctx(t), stream, "worker")
		if err != nil {
			t.Fatal(err)
		}
		inf := ci.CachedInfo()
		if inf.NumAckPending == 0 && inf.NumPending == 0 {
			if inf.Delivered.Consumer != n {
				t.Errorf("consumer made %d deliveries, want %d", inf.Delivered.Consumer, n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer not settled: %+v", inf)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(count) != n {
		t.Errorf("handled %d distinct messages, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("message %s handled %d times", id, c)
		}
	}
}

func TestPublishWithIDDeduplicates(t *testing.T) {
	t.Parallel()
	b, reg := open(t)
	topic := mustTopic(t, b, "dedup")
	h, got := recorder(nil)
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h, MaxConcurrency: 1})
	pubsubtest.Start(t, b)

	for range 2 {
		if err := topic.PublishWithID(ctx(t), "outbox-1", &event{N: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := topic.PublishRaw(ctx(t), "outbox-1", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := topic.PublishRaw(ctx(t), "outbox-2", []byte(`{"n":2}`)); err != nil {
		t.Fatal(err)
	}
	// One consumer, one at a time: deliveries follow stream order, so a
	// stored duplicate would arrive before outbox-2.
	if d := next(t, got); d.meta.ID != "outbox-1" || d.msg.N != 1 {
		t.Errorf("first delivery %s %+v, want outbox-1", d.meta.ID, d.msg)
	}
	if d := next(t, got); d.meta.ID != "outbox-2" || d.msg.N != 2 {
		t.Errorf("second delivery %s %+v, want outbox-2", d.meta.ID, d.msg)
	}
	if got := metric(t, reg, "upmon_pubsub_published_total", map[string]string{"topic": "dedup"}); got != 2 {
		t.Errorf("published_total = %v, want 2", got)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	b, reg := open(t)
	topic := mustTopic(t, b, "retry")
	h, got := recorder(func(d delivery) error {
		if d.meta.Attempt <= 3 {
			return fmt.Errorf("failure %d", d.meta.Attempt)
		}
		return nil
	})
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)

	id := mustPublish(t, topic, &event{N: 7})
	for want := 1; want <= 4; want++ {
		d := next(t, got)
		if d.meta.Attempt != want || d.meta.ID != id || d.msg.N != 7 {
			t.Fatalf("delivery %d: attempt %d id %s msg %+v", want, d.meta.Attempt, d.meta.ID, d.msg)
		}
	}
	labels := map[string]string{"topic": "retry", "subscription": "sub"}
	waitMetric(t, reg, "upmon_pubsub_delivered_total", labels, 1)
	waitMetric(t, reg, "upmon_pubsub_retried_total", labels, 3)
	// Publish a marker and see it through: had the acked message come
	// back, it would have come first.
	marker := mustPublish(t, topic, &event{N: 8})
	if d := next(t, got); d.meta.ID != marker {
		t.Errorf("after success got %s attempt %d, want the marker", d.meta.ID, d.meta.Attempt)
	}
}

func TestPanicIsRetried(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	topic := mustTopic(t, b, "panic")
	h, got := recorder(func(d delivery) error {
		if d.meta.Attempt == 1 {
			panic("boom")
		}
		return nil
	})
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)
	mustPublish(t, topic, &event{})
	if d := next(t, got); d.meta.Attempt != 1 {
		t.Errorf("attempt %d, want 1", d.meta.Attempt)
	}
	if d := next(t, got); d.meta.Attempt != 2 {
		t.Errorf("attempt %d, want 2", d.meta.Attempt)
	}
}

func TestRetryAfterHint(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	topic := mustTopic(t, b, "rate-limited")
	const hint = 400 * time.Millisecond
	h, got := recorder(func(d delivery) error {
		if d.meta.Attempt == 1 {
			return pubsub.RetryAfter(errors.New("429 too many requests"), hint)
		}
		return nil
	})
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)
	mustPublish(t, topic, &event{})
	first, second := next(t, got), next(t, got)
	if gap := second.at.Sub(first.at); gap < hint {
		t.Errorf("second attempt %v after the first, want at least %v", gap, hint)
	}
	if second.meta.Attempt != 2 {
		t.Errorf("attempt %d, want 2", second.meta.Attempt)
	}
}

func TestSubscriptionDeclaredAfterStart(t *testing.T) {
	t.Parallel()
	b := pubsubtest.Open(t)
	topic := mustTopic(t, b, "late")
	pubsubtest.Start(t, b)
	h, got := recorder(nil)
	mustSubscribe(t, topic, "late-sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	// The consumer is created asynchronously; publish until it sees one.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for {
		mustPublish(t, topic, &event{})
		select {
		case <-got:
			return
		case <-tick.C:
		case <-deadline:
			t.Fatal("late subscription never received a message")
		}
	}
}

func TestHealthAfterClose(t *testing.T) {
	t.Parallel()
	b, err := pubsub.Open(context.Background(), pubsubtest.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	pubsubtest.Start(t, b)
	if err := b.Health(ctx(t)); err != nil {
		t.Fatalf("Health = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := b.Health(ctx(t)); !errors.Is(err, pubsub.ErrClosed) {
		t.Errorf("Health after Close = %v, want ErrClosed", err)
	}
	if err := b.Start(ctx(t)); err == nil {
		t.Error("Start after Close succeeded")
	}
}
