package pubsub_test

import (
	"context"
	"testing"
	"time"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

// TestEmbeddedRestartKeepsUnacked restarts the embedded server on the same
// data directory twice: once while a handler is running (the message is
// released and handled after the restart), once after a message was stored
// with no subscriber running.
func TestEmbeddedRestartKeepsUnacked(t *testing.T) {
	t.Parallel()
	if pubsubtest.External() {
		t.Skip("tests the embedded server")
	}
	cfg := pubsubtest.Config(t)

	// First run: the handler is cut short by Close.
	b1, err := pubsub.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pubsub.SetCloseGrace(b1, 50*time.Millisecond)
	topic1 := mustTopic(t, b1, "durable")
	started := make(chan struct{}, 1)
	// A short deadline, hence ack wait: after a server restart a message
	// that was being handled comes back when its ack wait expires.
	const deadline = 100 * time.Millisecond
	mustSubscribe(t, topic1, "sub", pubsub.SubscriptionConfig[*event]{
		AckDeadline: deadline,
		Handler: func(ctx context.Context, _ *event) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		},
	})
	pubsubtest.Start(t, b1)
	id1 := mustPublish(t, topic1, &event{N: 1})
	select {
	case <-started:
	case <-time.After(waitTimeout):
		t.Fatal("handler not started")
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	// Second run: publish with no subscription running.
	b2, err := pubsub.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	topic2 := mustTopic(t, b2, "durable")
	pubsubtest.Start(t, b2)
	id2 := mustPublish(t, topic2, &event{N: 2})
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}

	// Third run: both messages are handled, the interrupted one as a
	// second attempt.
	b3 := pubsubtest.OpenConfig(t, cfg)
	topic3 := mustTopic(t, b3, "durable")
	h, got := recorder(nil)
	mustSubscribe(t, topic3, "sub", pubsub.SubscriptionConfig[*event]{Handler: h, AckDeadline: deadline})
	pubsubtest.Start(t, b3)
	seen := map[string]delivery{}
	for range 2 {
		d := next(t, got)
		seen[d.meta.ID] = d
	}
	if d := seen[id1]; d.msg == nil || d.meta.Attempt != 2 || d.msg.N != 1 {
		t.Errorf("interrupted message after restart: %+v, want attempt 2 of N=1", d)
	}
	if d := seen[id2]; d.msg == nil || d.meta.Attempt != 1 || d.msg.N != 2 {
		t.Errorf("stored message after restart: %+v, want attempt 1 of N=2", d)
	}
}
