package pubsub_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"upmon/platform/pubsub"
	"upmon/platform/pubsub/pubsubtest"
)

// TestStreamDeletedEventsDelivered deletes a running subscription's stream,
// and with it its consumer, as a NATS that lost its state would; another
// process (a replica starting, its outbox relay publishing at once)
// re-creates the stream and publishes before the subscriber's consume loop
// has re-created its consumer. Every event is delivered, once.
func TestStreamDeletedEventsDelivered(t *testing.T) {
	t.Parallel()
	srv := startNATS(t, -1, t.TempDir())
	cfg := pubsubtest.Config(t)
	cfg.URL, cfg.DataDir = "nats://127.0.0.1:"+strconv.Itoa(srv.Addr().(*net.TCPAddr).Port), ""
	b := pubsubtest.OpenConfig(t, cfg)
	topic := mustTopic(t, b, "lost")
	h, got := recorder(nil)
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)
	mustPublish(t, topic, &event{N: 0})
	next(t, got)

	if err := b.JetStream().DeleteStream(ctx(t), b.Prefix()+"_lost"); err != nil {
		t.Fatal(err)
	}
	pub := pubsubtest.OpenConfig(t, cfg)
	pubTopic := mustTopic(t, pub, "lost")
	pubsubtest.Start(t, pub)
	const n = 20
	for i := 1; i <= n; i++ {
		mustPublish(t, pubTopic, &event{N: i})
	}
	seen := map[int]int{}
	for range n {
		d := next(t, got)
		seen[d.msg.N]++
		if d.meta.Attempt != 1 {
			t.Errorf("N=%d delivered at attempt %d", d.msg.N, d.meta.Attempt)
		}
	}
	for i := 1; i <= n; i++ {
		if seen[i] != 1 {
			t.Errorf("event %d delivered %d times, want 1 (all: %v)", i, seen[i], seen)
		}
	}
	noDelivery(t, got)
}

// TestBrokerRestartedEmptyEventsDelivered restarts the "external" NATS with
// an empty store under a running broker: each event published after it is
// back (once, retried until the publish succeeds, like the outbox relay)
// is delivered, none lost while the consumer was being re-created.
func TestBrokerRestartedEmptyEventsDelivered(t *testing.T) {
	t.Parallel()
	srv := startNATS(t, -1, t.TempDir())
	port := srv.Addr().(*net.TCPAddr).Port
	cfg := pubsubtest.Config(t)
	cfg.URL, cfg.DataDir = "nats://127.0.0.1:"+strconv.Itoa(port), ""
	b := pubsubtest.OpenConfig(t, cfg)
	topic := mustTopic(t, b, "empty")
	h, got := recorder(nil)
	mustSubscribe(t, topic, "sub", pubsub.SubscriptionConfig[*event]{Handler: h})
	pubsubtest.Start(t, b)
	mustPublish(t, topic, &event{N: 0})
	next(t, got)

	srv.Shutdown()
	srv.WaitForShutdown()
	startNATS(t, port, t.TempDir())
	const n = 5
	deadline := time.Now().Add(waitTimeout)
	for i := 1; i <= n; i++ {
		for {
			// Like the relay: a short deadline per attempt (a request
			// sent while the server is still starting gets no answer).
			pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := topic.Publish(pctx, &event{N: i})
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("publish %d after the restart: %v", i, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	seen := map[int]int{}
	for range n {
		d := next(t, got)
		seen[d.msg.N]++
	}
	for i := 1; i <= n; i++ {
		if seen[i] != 1 {
			t.Errorf("event %d delivered %d times, want 1 (all: %v)", i, seen[i], seen)
		}
	}
	noDelivery(t, got)
}

// TestRestartDoesNotReplayHistory restarts the process (a new broker on the
// same store or NATS): the existing subscription resumes where it was, and
// a subscription declared only now starts with new messages, not the
// topic's history.
func TestRestartDoesNotReplayHistory(t *testing.T) {
	t.Parallel()
	cfg := pubsubtest.Config(t)
	b1, err := pubsub.Open(ctx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	topic1 := mustTopic(t, b1, "history")
	h1, got1 := recorder(nil)
	mustSubscribe(t, topic1, "old", pubsub.SubscriptionConfig[*event]{Handler: h1, MaxConcurrency: 1})
	pubsubtest.Start(t, b1)
	for i := 1; i <= 2; i++ {
		mustPublish(t, topic1, &event{N: i})
	}
	for range 2 {
		next(t, got1)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := pubsubtest.OpenConfig(t, cfg)
	topic2 := mustTopic(t, b2, "history")
	hOld, gotOld := recorder(nil)
	hNew, gotNew := recorder(nil)
	mustSubscribe(t, topic2, "old", pubsub.SubscriptionConfig[*event]{Handler: hOld, MaxConcurrency: 1})
	mustSubscribe(t, topic2, "new", pubsub.SubscriptionConfig[*event]{Handler: hNew, MaxConcurrency: 1})
	pubsubtest.Start(t, b2)
	mustPublish(t, topic2, &event{N: 3})
	// Stream order: a replayed old message would come first.
	if d := next(t, gotOld); d.msg.N != 3 {
		t.Errorf("existing subscription after restart got N=%d first, want 3", d.msg.N)
	}
	if d := next(t, gotNew); d.msg.N != 3 {
		t.Errorf("new subscription got N=%d first, want 3 (no history)", d.msg.N)
	}
}
